// The kubernetes driver against a FAKE Kubernetes API server (test/support/fakeKubernetes.ts;
// Kubernetes cannot run here) whose fake kubelet runs each pod on the real Docker engine with the
// real workspace image: the driver contract, then what only Kubernetes shows — the objects'
// isolation profile, the watch cache (410 Gone, a silent watch, no API call per inspect), pods
// that can never start, reconcile's orphans, and that the driver reads no process.env.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1NetworkPolicy, V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { FakeKubelet } from '../../../test/support/fakeKubelet.js';
import { FakeKubernetes } from '../../../test/support/fakeKubernetes.js';
import { ensureWorkspaceImage } from '../../../test/support/workspaceImage.js';
import { runDriverContract } from '../driverContract.js';
import { DriverError, type RuntimeRef, type WorkspaceSpec } from '../runtimeDriver.js';
import { KubernetesDriver, type KubernetesDriverConfig } from './kubernetesDriver.js';
import { LABEL, objectName } from './podSpec.js';

const MiB = 2 ** 20;
const NS = 'rc-test';
const prefix = `fk${randomBytes(3).toString('hex')}`;
const api = new FakeKubernetes();
const kubelet = new FakeKubelet({ api, prefix, podPidsLimit: 256 });
const dir = mkdtempSync(join(tmpdir(), 'rc-k8s-'));
let kubeconfig = '';
let image = '';

const driverFor = (installation: string, extra: Partial<KubernetesDriverConfig> = {}) =>
  new KubernetesDriver({
    kubeconfig,
    namespace: NS,
    installation,
    image,
    podStartTimeoutMs: 60_000,
    ...extra,
  });

beforeAll(async () => {
  image = await ensureWorkspaceImage();
  await api.listen();
  kubeconfig = api.writeKubeconfig(dir);
}, 20 * 60_000);
afterAll(async () => {
  await api.close();
  await kubelet.removeAll();
  rmSync(dir, { recursive: true, force: true });
});

const contractInstallation = `c${randomBytes(3).toString('hex')}`;
runDriverContract('kubernetes (fake API, fake kubelet on Docker)', () => driverFor(contractInstallation), {
  runsCommands: true,
  resources: { cpu: 1, memoryBytes: 256 * MiB, pids: 128 },
  waitMs: 30_000,
});

describe('kubernetes driver specifics (fake API)', () => {
  const installation = `s${randomBytes(3).toString('hex')}`;
  let driver: KubernetesDriver;
  let count = 0;
  const made: RuntimeRef[] = [];
  const spec = (command?: string[], env: Record<string, string> = {}): WorkspaceSpec => ({
    workspaceId: `w${++count}-${randomBytes(2).toString('hex')}`,
    resources: { cpu: 0.5, memoryBytes: 128 * MiB, pids: 64 },
    env: {
      RC_AGENT_URL: 'ws://10.213.80.1:8080/api/v1/agent',
      RC_AGENT_TOKEN: 'tok-secret-value-0123456789',
      RC_WORKSPACE_ID: 'w',
      ...env,
    },
    ...(command ? { command } : {}),
  });
  const create = async (s: WorkspaceSpec, d = driver) => {
    const ref = await d.create(s);
    made.push(ref);
    return ref;
  };
  const obj = <T>(kind: 'pods' | 'secrets' | 'networkpolicies' | 'persistentvolumeclaims', id: string) =>
    api.get(kind, NS, objectName(installation, id)) as T | undefined;

  beforeAll(() => {
    driver = driverFor(installation, {
      runtimeClassName: undefined,
      storageClass: 'fast-ssd',
      volumeSize: '3Gi',
    });
  });
  afterAll(async () => {
    for (const ref of made) await driver.remove(ref).catch(() => {});
    await driver.close();
  });

  it('gives the pod the isolation profile, the token only through the Secret, and labels', async () => {
    const s = spec();
    const ref = await driver.start(await create(s));
    const pod = obj<V1Pod>('pods', s.workspaceId) as V1Pod;
    const c = pod.spec?.containers[0];
    expect(pod.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c?.resources).toEqual({
      requests: { cpu: '500m', memory: String(128 * MiB) },
      limits: { cpu: '500m', memory: String(128 * MiB) },
    });
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.metadata?.labels).toMatchObject({
      [LABEL.installation]: installation,
      [LABEL.workspace]: s.workspaceId,
    });
    expect(pod.metadata?.annotations?.['remote-claude.io/pids']).toBe('64');
    // The token is nowhere in the pod; the container gets it from the Secret by key.
    expect(JSON.stringify(pod)).not.toContain('tok-secret-value-0123456789');
    expect(c?.env?.find((e) => e.name === 'RC_AGENT_TOKEN')).toEqual({
      name: 'RC_AGENT_TOKEN',
      valueFrom: { secretKeyRef: { name: objectName(installation, s.workspaceId), key: 'RC_AGENT_TOKEN' } },
    });
    const secret = obj<V1Secret>('secrets', s.workspaceId);
    expect(Buffer.from(secret?.data?.RC_AGENT_TOKEN ?? '', 'base64').toString()).toBe(
      'tok-secret-value-0123456789',
    );
    const pvc = obj<{ spec: Record<string, unknown> }>('persistentvolumeclaims', s.workspaceId);
    expect(pvc?.spec).toMatchObject({
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '3Gi' } },
    });
    expect(c?.volumeMounts?.map((m) => [m.mountPath, m.subPath ?? null])).toEqual([
      ['/workspace', 'workspace'],
      ['/home/user', 'home'],
      ['/tmp', null],
    ]);
    // And the kubelet ran it that way: a read-only root, uid 1000, no capabilities.
    const probe = spec([
      '/bin/sh',
      '-c',
      'touch /x 2>/dev/null && exit 9; test "$(id -u)" = 1000 || exit 8; grep -q "CapEff:\\s*0000000000000000" /proc/self/status || exit 7; touch /workspace/ok /tmp/ok || exit 6',
    ]);
    const pref = await driver.start(await create(probe));
    await expect.poll(async () => (await driver.inspect(pref)).exitCode, { timeout: 30_000 }).toBe(0);
    await driver.stop(ref, { graceSeconds: 1 });
  });

  it('allows egress only to the control plane in the NetworkPolicy, DNS added for a host name', async () => {
    const s = spec();
    await create(s);
    const np = obj<V1NetworkPolicy>('networkpolicies', s.workspaceId);
    expect(np?.spec).toEqual({
      podSelector: { matchLabels: { [LABEL.installation]: installation, [LABEL.workspace]: s.workspaceId } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [{ to: [{ ipBlock: { cidr: '10.213.80.1/32' } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    });
    const named = spec(undefined, { RC_AGENT_URL: 'wss://rc.example.test/api/v1/agent' });
    await expect(driver.create(named)).rejects.toMatchObject({
      reason: 'invalid_spec',
      userMessage: expect.stringContaining('runtime.kubernetes.controlPlane'),
    });
    const withPeers = driverFor(installation, {
      controlPlane: [{ podSelector: { matchLabels: { app: 'remote-claude' } } }],
    });
    await create(named, withPeers);
    const np2 = obj<V1NetworkPolicy>('networkpolicies', named.workspaceId);
    expect(np2?.spec?.egress?.[0]).toEqual({
      to: [{ podSelector: { matchLabels: { app: 'remote-claude' } } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    expect(np2?.spec?.egress?.[1]?.ports?.map((p) => p.port)).toEqual([53, 53]);
    await withPeers.close();
  });

  it('answers inspect from the watch cache: 1,000 calls, no API call', async () => {
    const s = spec();
    const ref = await driver.start(await create(s));
    const before = api.apiCalls().length;
    for (let i = 0; i < 1000; i++) expect((await driver.inspect(ref)).status).toBe('running');
    await driver.list();
    expect(api.apiCalls().length).toBe(before);
    await driver.stop(ref, { graceSeconds: 1 });
  });

  it('relists after 410 Gone and sees what changed meanwhile', async () => {
    const s = spec();
    const ref = await create(s);
    const gone = driver.cacheStats().pods.gone;
    api.expireResourceVersions();
    await expect.poll(() => driver.cacheStats().pods.gone, { timeout: 10_000 }).toBeGreaterThan(gone);
    await driver.start(ref);
    expect((await driver.inspect(ref)).status).toBe('running');
    await driver.stop(ref, { graceSeconds: 1 });
  });

  it('resumes a watch the server ends from its resourceVersion, without listing again', async () => {
    const ref = await create(spec());
    const { lists, watches } = { ...driver.cacheStats().pods };
    api.endWatches();
    await driver.start(ref);
    expect((await driver.inspect(ref)).status).toBe('running');
    expect(driver.cacheStats().pods.watches).toBeGreaterThan(watches);
    expect(driver.cacheStats().pods.lists).toBe(lists);
    await driver.stop(ref, { graceSeconds: 1 });
  });

  it('retries watches that fail, lists again, and catches up', async () => {
    const s = spec();
    const ref = await create(s);
    const lists = driver.cacheStats().pods.lists;
    api.failWatches = 4;
    api.endWatches();
    // Changed while the watches fail: another driver of the installation starts the pod.
    const other = driverFor(installation);
    await other.start(ref);
    await expect.poll(() => api.failWatches, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => driver.cacheStats().pods.lists, { timeout: 20_000 }).toBeGreaterThan(lists);
    await expect.poll(async () => (await driver.inspect(ref)).status, { timeout: 10_000 }).toBe('running');
    await other.stop(ref, { graceSeconds: 1 });
    await other.close();
  });

  it('restarts a watch that went silent, and catches up', async () => {
    const quick = driverFor(installation, { watchTimeoutSeconds: 1, watchGraceMs: 500 });
    const s = spec();
    const ref = await create(s, quick);
    api.silentWatches = true;
    // The current watches end at their timeout; their successors are silent from the start.
    await expect.poll(() => api.openWatches(), { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1200));
    const restarts = quick.cacheStats().pods.silentRestarts;
    api.silentWatches = false;
    // Changed behind the silent watch: the other driver starts the pod.
    await driver.start(ref);
    await expect
      .poll(() => quick.cacheStats().pods.silentRestarts, { timeout: 10_000 })
      .toBeGreaterThan(restarts);
    await expect.poll(async () => (await quick.inspect(ref)).status, { timeout: 10_000 }).toBe('running');
    await driver.stop(ref, { graceSeconds: 1 });
    await quick.close();
  });

  it('fails a pod whose image cannot be pulled at once, with Kubernetes’ reason', async () => {
    const bad = driverFor(installation, { image: 'registry.invalid/nope:1' });
    const s = spec();
    const ref = await create(s, bad);
    const t0 = Date.now();
    const err = await bad.start(ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({
      reason: 'start_failed',
      userMessage: expect.stringMatching(
        /^Kubernetes cannot start the workspace pod: ErrImagePull \(.*registry\.invalid\/nope:1.*\)\.$/,
      ),
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await bad.inspect(ref)).reason).toMatch(/ErrImagePull|ImagePullBackOff/);
    await bad.close();
  });

  it('fails a pod that cannot be scheduled at once, with the scheduler’s message', async () => {
    api.unschedulable = (pod) =>
      pod.metadata?.labels?.[LABEL.installation] === installation
        ? '0/1 nodes are available: 1 Insufficient cpu.'
        : undefined;
    try {
      const s = spec();
      const ref = await create(s);
      await expect(driver.start(ref)).rejects.toMatchObject({
        reason: 'start_failed',
        userMessage:
          'Kubernetes cannot place the workspace pod: Unschedulable (0/1 nodes are available: 1 Insufficient cpu.).',
      });
      expect((await driver.inspect(ref)).status).toBe('stopped');
    } finally {
      api.unschedulable = () => undefined;
    }
  });

  it('fails a start whose agent dies at once with its last log lines, and reports CrashLoopBackOff after', async () => {
    // The agent refuses a token this short and exits; the kubelet restarts it, then backs off.
    const watching = driverFor(installation, { startWatchMs: 15_000 });
    const s = spec(undefined, { RC_AGENT_TOKEN: 'short' });
    const ref = await create(s, watching);
    await expect(watching.start(ref)).rejects.toMatchObject({
      reason: 'start_failed',
      userMessage: expect.stringMatching(
        /^The workspace pod stopped right after it started \(CrashLoopBackOff \(back-off .*\)\): .*RC_AGENT_TOKEN/,
      ),
    });
    await expect
      .poll(async () => (await driver.inspect(ref)).reason, { timeout: 20_000 })
      .toMatch(/^Kubernetes cannot start the workspace pod: CrashLoopBackOff/);
    expect((await driver.inspect(ref)).status).toBe('stopped');
    await watching.remove(ref);
    await watching.close();
  });

  it('lists every workspace of its installation only, for reconcile to adopt or remove', async () => {
    const other = driverFor(`o${randomBytes(3).toString('hex')}`);
    const mine = await create(spec());
    const theirs = await create(spec(), other);
    const ids = (await driver.list()).map((r) => r.workspaceId);
    expect(ids).toContain(mine.workspaceId);
    expect(ids).not.toContain(theirs.workspaceId);
    // An orphan removed by the reconciler: everything but nothing of the other installation.
    await driver.remove(mine);
    expect(obj('secrets', mine.workspaceId)).toBeUndefined();
    expect(obj('persistentvolumeclaims', mine.workspaceId)).toBeUndefined();
    expect(obj('networkpolicies', mine.workspaceId)).toBeUndefined();
    expect((await other.list()).map((r) => r.workspaceId)).toContain(theirs.workspaceId);
    await other.remove(theirs);
    await other.close();
  });

  it('stops at preflight with a sentence when the API does not answer or refuses the credentials, and tries again', async () => {
    const write = (server: string, token: string) => {
      const path = join(dir, `kc-${randomBytes(3).toString('hex')}.yaml`);
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user: { token } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        }),
      );
      return path;
    };
    const dead = driverFor(installation, { kubeconfig: write('http://127.0.0.1:9', 'fake-token') });
    for (let i = 0; i < 2; i++) {
      await expect(dead.preflight()).rejects.toMatchObject({
        reason: 'unavailable',
        userMessage: expect.stringMatching(
          /^The Kubernetes API does not let the control plane watch namespace rc-test: The Kubernetes API did not handle/,
        ),
      });
    }
    await dead.close();
    const refused = driverFor(installation, { kubeconfig: write(api.url, 'wrong-token') });
    await expect(refused.preflight()).rejects.toMatchObject({
      reason: 'unavailable',
      userMessage: expect.stringContaining('apply deploy/kubernetes/rbac.yaml to its service account'),
    });
    await refused.close();
    const named = driverFor(installation, { agentUrl: 'wss://rc.example.test/api/v1/agent' });
    await expect(named.preflight()).rejects.toMatchObject({
      reason: 'invalid_spec',
      userMessage: expect.stringContaining('set runtime.kubernetes.controlPlane'),
    });
    await named.close();
    expect(() => driverFor(installation, { kubeconfig: join(dir, 'missing.yaml') })).toThrow(
      /runtime\.kubernetes\.kubeconfig .*missing\.yaml cannot be read/,
    );
  });

  it('reports the cluster’s nodes', async () => {
    const nodes = await driver.nodes();
    expect(nodes).toEqual([
      expect.objectContaining({
        name: 'fake-node-1',
        driver: 'kubernetes',
        healthy: true,
        capacity: expect.objectContaining({ maxWorkspaces: 110 }),
      }),
    ]);
  });

  it('reads no process.env: neither in its source nor while it works', async () => {
    const here = import.meta.dirname;
    for (const f of readdirSync(here).filter((n) => n.endsWith('.ts') && !n.includes('.test.'))) {
      expect(readFileSync(join(here, f), 'utf8'), f).not.toMatch(/process\.env/);
    }
    const real = process.env;
    const read: string[] = [];
    process.env = new Proxy(real, {
      get(t, k) {
        // Node's own readline (which the client's watch splits lines with) asks for TERM to
        // know the terminal type; that is Node, not configuration, so only reads by code are kept.
        const caller = new Error().stack?.split('\n')[2] ?? '';
        if (typeof k === 'string' && !caller.includes('(node:')) read.push(`${k} ${caller.trim()}`);
        return Reflect.get(t, k);
      },
    });
    try {
      const d = driverFor(installation);
      const ref = await d.start(await create(spec(['/bin/sh', '-c', 'sleep 60'])));
      await d.inspect(ref);
      await d.list();
      await d.stop(ref, { graceSeconds: 0 });
      await d.close();
    } finally {
      process.env = real;
    }
    expect(read).toEqual([]);
  });

  it('needs no permission beyond deploy/kubernetes/rbac.yaml for anything it did in this file', () => {
    const docs = parseAllDocuments(
      readFileSync(new URL('../../../deploy/kubernetes/rbac.yaml', import.meta.url), 'utf8'),
    ).map(
      (d) =>
        d.toJS() as { kind: string; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] },
    );
    const granted = new Set(
      docs
        .filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole')
        .flatMap((d) => d.rules ?? [])
        .flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${res}`))),
    );
    const used = new Set(
      api.calls.map((c) => {
        if (c.path.endsWith('/log')) return 'get pods/log';
        const m = /\/(pods|secrets|persistentvolumeclaims|networkpolicies|nodes)(\/[^/]+)?$/.exec(c.path);
        const verb = c.watch
          ? 'watch'
          : (
              {
                GET: m?.[2] ? 'get' : 'list',
                POST: 'create',
                PUT: 'update',
                PATCH: 'patch',
                DELETE: 'delete',
              } as Record<string, string>
            )[c.method];
        return `${verb} ${m?.[1]}`;
      }),
    );
    expect(used.size).toBeGreaterThan(8);
    for (const u of used) expect(granted, u).toContain(u);
  });
});
