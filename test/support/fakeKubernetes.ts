// A fake Kubernetes API server over HTTP, for the kubernetes driver's tests (Kubernetes cannot run
// on this machine). The real @kubernetes/client-node talks to it through a kubeconfig. It keeps
// the kinds the driver uses (pods, secrets, persistentvolumeclaims, networkpolicies, nodes) with
// resourceVersions, answers list, watch (newline-delimited JSON events from a resourceVersion,
// with timeoutSeconds and bookmarks), get, create, replace, merge-patch and delete, and has
// switches for what real clusters do to clients: expired resourceVersions (410 Gone), a watch that
// goes silent, image pulls that fail and pods that cannot be scheduled. Pods are "scheduled" onto
// one fake node and handed to a kubelet (fakeKubelet.ts), which runs them on the real Docker engine.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';

type Obj = KubernetesObject & Record<string, unknown>;
type Kind = 'pods' | 'secrets' | 'persistentvolumeclaims' | 'networkpolicies' | 'nodes';

interface WatchEvent {
  rv: number;
  kind: Kind;
  namespace: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  kind: Kind;
  namespace: string;
  selector: Record<string, string>;
  res: ServerResponse;
  /** Silent watches stay open and get nothing: a dead connection the client cannot tell from a quiet one. */
  silent: boolean;
  timer?: NodeJS.Timeout;
}

/** What the fake kubelet is told. */
export interface PodRunner {
  /** A pod was bound to the node: run it, reporting status through `api.setPodStatus`. */
  run(pod: V1Pod): void;
  /** The pod was deleted with `graceSeconds`: stop it, then call `api.finalizePod`. */
  stop(pod: V1Pod, graceSeconds: number): void;
  /** The last `tail` lines its container wrote (the pods/log subresource). */
  logs(pod: V1Pod, tail: number): Promise<string>;
}

export interface FakeKubernetesCall {
  method: string;
  path: string;
  watch: boolean;
}

const KINDS: Record<string, Kind> = {
  pods: 'pods',
  secrets: 'secrets',
  persistentvolumeclaims: 'persistentvolumeclaims',
  networkpolicies: 'networkpolicies',
  nodes: 'nodes',
};
const KIND_NAMES: Record<Kind, [kind: string, apiVersion: string]> = {
  pods: ['Pod', 'v1'],
  secrets: ['Secret', 'v1'],
  persistentvolumeclaims: ['PersistentVolumeClaim', 'v1'],
  networkpolicies: ['NetworkPolicy', 'networking.k8s.io/v1'],
  nodes: ['Node', 'v1'],
};
/** Events kept for watches that resume; older resourceVersions are "compacted" (410). */
const HISTORY = 5000;
export const FAKE_NODE = 'fake-node-1';

export class FakeKubernetes {
  /** Every request, in order; tests count them ("inspect made no API call"). */
  readonly calls: FakeKubernetesCall[] = [];
  /** When set, new watches go silent: open, and never sent anything nor ended. */
  silentWatches = false;
  /** The next this many watch requests fail with 500, as an API server restarting does. */
  failWatches = 0;
  /** When it returns a message, the scheduler leaves the pod Pending and Unschedulable with it. */
  unschedulable: (pod: V1Pod) => string | undefined = () => undefined;
  runner: PodRunner | undefined;
  private readonly objects = new Map<string, Obj>();
  private history: WatchEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  private oldestRv = 1;
  private rv = 1;
  private readonly watchers = new Set<Watcher>();
  private server: Server | undefined;
  url = '';

  constructor() {
    this.put('nodes', '', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: FAKE_NODE, labels: { 'kubernetes.io/hostname': FAKE_NODE } },
      status: {
        capacity: { cpu: String(cpus().length), memory: String(totalmem()), pods: '110' },
        allocatable: { cpu: String(cpus().length), memory: String(totalmem()), pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
      },
    });
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.status(res, 500, 'InternalError', String(err));
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Writes a kubeconfig for the real client (http:// needs skipTLSVerify) and returns its path. */
  writeKubeconfig(dir: string): string {
    const path = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    return path;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) this.endWatch(w);
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** API calls so far that were not watches. */
  apiCalls(): FakeKubernetesCall[] {
    return this.calls.filter((c) => !c.watch);
  }

  /**
   * Compacts the watch history: every resourceVersion a client holds is now too old (410 Gone on
   * its next watch), and open watches are ended so they come back for it.
   */
  expireResourceVersions(): void {
    this.rv++;
    this.oldestRv = this.rv;
    this.history = [];
    for (const w of this.watchers) if (!w.silent) this.endWatch(w);
  }

  /** Ends every open watch that is not silent (the server closing them; clients resume). */
  endWatches(): void {
    for (const w of this.watchers) if (!w.silent) this.endWatch(w);
  }

  /** Open watches (silent ones included). */
  openWatches(): number {
    return this.watchers.size;
  }

  get(kind: Kind, namespace: string, name: string): Obj | undefined {
    return this.objects.get(key(kind, namespace, name));
  }

  list(kind: Kind, namespace?: string): Obj[] {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${kind}/${namespace === undefined ? '' : `${namespace}/`}`))
      .map(([, o]) => o);
  }

  /** The kubelet's status report (the pod's /status subresource). */
  setPodStatus(namespace: string, name: string, status: V1Pod['status']): void {
    const pod = this.get('pods', namespace, name);
    if (!pod) return;
    this.put('pods', namespace, { ...pod, status }, 'MODIFIED');
  }

  /** The kubelet has stopped a deleted pod's containers: it leaves the store. */
  finalizePod(namespace: string, name: string): void {
    const pod = this.get('pods', namespace, name);
    if (pod) this.drop('pods', namespace, name, pod);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const watch = url.searchParams.get('watch') === 'true';
    this.calls.push({ method: req.method ?? 'GET', path: url.pathname, watch });
    if (req.headers.authorization !== 'Bearer fake-token')
      return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (log && req.method === 'GET') {
      const pod = this.get('pods', log[1] as string, log[2] as string) as V1Pod | undefined;
      if (!pod) return this.notFound(res, 'pods', log[2] as string);
      const text = (await this.runner?.logs(pod, Number(url.searchParams.get('tailLines') ?? 100))) ?? '';
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text);
      return;
    }
    const m =
      /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([a-z]+)(?:\/([^/]+))?$/.exec(url.pathname) ??
      /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const kind = m ? KINDS[m[2] as string] : undefined;
    if (!m || !kind)
      return this.status(
        res,
        404,
        'NotFound',
        `the server could not find the requested resource ${url.pathname}`,
      );
    const namespace = m[1] ?? '';
    const name = m[3];
    const body =
      req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH'
        ? await readJson(req)
        : undefined;
    switch (req.method) {
      case 'GET': {
        if (name) {
          const obj = this.get(kind, namespace, name);
          return obj ? this.json(res, 200, obj) : this.notFound(res, kind, name);
        }
        const selector = parseSelector(url.searchParams.get('labelSelector'));
        if (watch && this.failWatches > 0) {
          this.failWatches--;
          return this.status(res, 500, 'InternalError', 'etcdserver: leader changed');
        }
        if (watch) return this.watch(res, kind, namespace, selector, url.searchParams);
        const items = this.list(kind, kind === 'nodes' ? undefined : namespace).filter((o) =>
          matches(o, selector),
        );
        return this.json(res, 200, {
          apiVersion: KIND_NAMES[kind][1],
          kind: `${KIND_NAMES[kind][0]}List`,
          metadata: { resourceVersion: String(this.rv) },
          items,
        });
      }
      case 'POST': {
        const obj = body as Obj;
        const objName = obj?.metadata?.name;
        if (!objName) return this.status(res, 422, 'Invalid', 'metadata.name: Required value');
        if (this.get(kind, namespace, objName)) {
          return this.status(res, 409, 'AlreadyExists', `${kind} "${objName}" already exists`);
        }
        const created = this.put(kind, namespace, this.admit(kind, namespace, obj), 'ADDED');
        this.json(res, 201, created);
        if (kind === 'pods') this.schedule(namespace, objName);
        return;
      }
      case 'PUT': {
        if (!name || !this.get(kind, namespace, name)) return this.notFound(res, kind, name ?? '');
        const old = this.get(kind, namespace, name) as Obj;
        const obj = this.admit(kind, namespace, body as Obj);
        obj.metadata = {
          ...obj.metadata,
          uid: old.metadata?.uid,
          creationTimestamp: old.metadata?.creationTimestamp,
        };
        return this.json(res, 200, this.put(kind, namespace, obj, 'MODIFIED'));
      }
      case 'PATCH': {
        const old = name ? this.get(kind, namespace, name) : undefined;
        if (!name || !old) return this.notFound(res, kind, name ?? '');
        return this.json(res, 200, this.put(kind, namespace, mergePatch(old, body) as Obj, 'MODIFIED'));
      }
      case 'DELETE': {
        const old = name ? this.get(kind, namespace, name) : undefined;
        if (!name || !old) return this.notFound(res, kind, name ?? '');
        if (kind === 'pods' && this.runner && (old as V1Pod).spec?.nodeName) {
          const grace = Number(url.searchParams.get('gracePeriodSeconds') ?? 30);
          if (!old.metadata?.deletionTimestamp) {
            const marked = this.put(
              kind,
              namespace,
              {
                ...old,
                metadata: {
                  ...old.metadata,
                  deletionTimestamp: new Date(),
                  deletionGracePeriodSeconds: grace,
                },
              },
              'MODIFIED',
            );
            this.runner.stop(marked as V1Pod, grace);
          }
          return this.json(res, 200, this.get(kind, namespace, name));
        }
        this.drop(kind, namespace, name, old);
        return this.json(res, 200, old);
      }
      default:
        return this.status(res, 405, 'MethodNotAllowed', `${req.method} is not supported`);
    }
  }

  /** What the API server adds on create and update: kind, uid, timestamps, Secret data. */
  private admit(kind: Kind, namespace: string, obj: Obj): Obj {
    const [k, apiVersion] = KIND_NAMES[kind];
    const out: Obj = structuredClone(obj);
    out.kind = k;
    out.apiVersion = apiVersion;
    out.metadata = {
      ...out.metadata,
      namespace,
      uid: out.metadata?.uid ?? randomUUID(),
      creationTimestamp: out.metadata?.creationTimestamp ?? new Date(),
    };
    if (kind === 'secrets') {
      const data: Record<string, string> = { ...((out.data as Record<string, string>) ?? {}) };
      for (const [key, value] of Object.entries((out.stringData as Record<string, string>) ?? {})) {
        data[key] = Buffer.from(value).toString('base64');
      }
      out.data = data;
      delete out.stringData;
    }
    if (kind === 'persistentvolumeclaims') out.status = { phase: 'Bound' };
    if (kind === 'pods') out.status = { phase: 'Pending', conditions: [] };
    return out;
  }

  /** The scheduler: binds the pod to the one node, or says it cannot. */
  private schedule(namespace: string, name: string): void {
    const pod = this.get('pods', namespace, name) as V1Pod;
    const why = this.unschedulable(pod);
    if (why) {
      this.setPodStatus(namespace, name, {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: why }],
      });
      return;
    }
    const bound = this.put(
      'pods',
      namespace,
      { ...(pod as Obj), spec: { ...pod.spec, nodeName: FAKE_NODE } } as Obj,
      'MODIFIED',
    );
    this.setPodStatus(namespace, name, {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True' }],
    });
    this.runner?.run(bound as V1Pod);
  }

  private put(kind: Kind, namespace: string, obj: Obj, type?: WatchEvent['type']): Obj {
    this.rv++;
    const stored: Obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } };
    this.objects.set(key(kind, namespace, obj.metadata?.name as string), stored);
    if (type) this.emit({ rv: this.rv, kind, namespace, type, object: stored });
    return stored;
  }

  private drop(kind: Kind, namespace: string, name: string, old: Obj): void {
    this.objects.delete(key(kind, namespace, name));
    this.rv++;
    const object = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.emit({ rv: this.rv, kind, namespace, type: 'DELETED', object });
  }

  private emit(event: WatchEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY) {
      this.history.shift();
      this.oldestRv = (this.history[0]?.rv ?? this.rv) - 1;
    }
    for (const w of this.watchers) {
      if (
        !w.silent &&
        w.kind === event.kind &&
        w.namespace === event.namespace &&
        matches(event.object, w.selector)
      ) {
        w.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
      }
    }
  }

  private watch(
    res: ServerResponse,
    kind: Kind,
    namespace: string,
    selector: Record<string, string>,
    q: URLSearchParams,
  ): void {
    const from = Number(q.get('resourceVersion') || this.rv);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (from < this.oldestRv) {
      // What a real API server does for a compacted resourceVersion: 200, one ERROR event, end.
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
        message: `too old resource version: ${from} (${this.oldestRv})`,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    const w: Watcher = { kind, namespace, selector, res, silent: this.silentWatches };
    this.watchers.add(w);
    res.on('close', () => this.endWatch(w));
    if (w.silent) return;
    res.flushHeaders();
    for (const e of this.history) {
      if (e.rv > from && e.kind === kind && e.namespace === namespace && matches(e.object, selector)) {
        res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      }
    }
    const timeout = Number(q.get('timeoutSeconds') || 0);
    if (timeout > 0) w.timer = setTimeout(() => this.endWatch(w), timeout * 1000);
  }

  private endWatch(w: Watcher): void {
    clearTimeout(w.timer);
    this.watchers.delete(w);
    if (!w.res.writableEnded) w.res.end();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private notFound(res: ServerResponse, kind: Kind, name: string): void {
    this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
  }
}

function key(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Equality-based selectors only ("a=b,c=d"), which is all the driver sends. */
function parseSelector(s: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    out[k as string] = v ?? '';
  }
  return out;
}

function matches(obj: Obj, selector: Record<string, string>): boolean {
  const labels = (obj.metadata?.labels ?? {}) as Record<string, string>;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = {
    ...((target && typeof target === 'object' ? target : {}) as Record<string, unknown>),
  };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}
