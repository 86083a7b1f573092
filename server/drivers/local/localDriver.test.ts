import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDriverContract } from '../driverContract.js';
import { DriverError, type RuntimeRef, type RuntimeState, type WorkspaceSpec } from '../runtimeDriver.js';
import { boxPaths } from './boxPaths.js';
import { procStat, readBoxProcess } from './boxProcess.js';
import { defaultClaudePath } from './claudePath.js';
import { LocalDriver, type LocalDriverConfig } from './localDriver.js';

// Real bubblewrap and real cgroups: these tests need root on a host with bwrap (test/setupHost.sh).
// Each run uses its own uid range and cgroup parent so parallel runs on one host do not collide.
const uidBase = 300_000 + Math.floor(Math.random() * 600) * 1000;
const cgroupRoot = '/sys/fs/cgroup';
const cgroupParent = 'rc-test';
const MiB = 1024 * 1024;
let agentDir: string;

const config = (dataDir: string, extra: Partial<LocalDriverConfig> = {}): LocalDriverConfig => ({
  dataDir,
  nodePath: process.execPath,
  agentDir,
  uidBase,
  cgroupRoot,
  cgroupParent,
  ...extra,
});

beforeAll(async () => {
  agentDir = await mkdtemp(join(tmpdir(), 'rc-agent-'));
  // bwrap reads bind sources as the workspace user: the agent dir must be world-readable.
  await chmod(agentDir, 0o755);
  await writeFile(join(agentDir, 'agent.js'), "console.log('agent up', process.env.RC_TEST_VAR);\n");
});

afterAll(async () => {
  await rm(agentDir, { recursive: true, force: true });
});

runDriverContract('local', (dataDir) => new LocalDriver(config(dataDir)), { runsCommands: true });

describe('LocalDriver on this host', () => {
  let dataDir: string;
  let driver: LocalDriver;
  const prefix = `lt${randomBytes(3).toString('hex')}`;
  let count = 0;
  const refs: RuntimeRef[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rc-ld-'));
    driver = new LocalDriver(config(dataDir));
  });

  afterAll(async () => {
    for (const ref of refs) await driver.remove(ref).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  const spec = async (
    command?: string[],
    resources: Partial<WorkspaceSpec['resources']> = {},
  ): Promise<WorkspaceSpec> => {
    const workspaceId = `${prefix}-${++count}`;
    const agentSocketDir = join(dataDir, 's', workspaceId);
    await mkdir(agentSocketDir, { recursive: true });
    return {
      workspaceId,
      resources: { cpu: 1, memoryBytes: 256 * MiB, pids: 128, ...resources },
      env: { RC_TEST_VAR: 'from-spec' },
      agentSocketDir,
      command,
    };
  };
  const create = async (s: WorkspaceSpec, d: LocalDriver = driver) => {
    const ref = await d.create(s);
    refs.push(ref);
    return ref;
  };
  const waitFor = async (
    ref: RuntimeRef,
    done: (s: RuntimeState) => boolean,
    ms = 15_000,
  ): Promise<RuntimeState> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const state = await driver.inspect(ref);
      if (done(state) || Date.now() > deadline) return state;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  /** Runs a command in a fresh box to its end; returns its state and output. */
  const run = async (script: string, resources: Partial<WorkspaceSpec['resources']> = {}) => {
    const ref = await driver.start(await create(await spec(['/bin/sh', '-c', script], resources)));
    const state = await waitFor(ref, (s) => s.status === 'stopped');
    const log = await readFile(boxPaths(dataDir, ref.workspaceId).log, 'utf8');
    return { ref, state, log };
  };
  const cgroupFile = (controller: string, id: string, file: string) =>
    readFile(join(cgroupRoot, controller, cgroupParent, id, file), 'utf8').then((t) => t.trim());

  it('runs each workspace as its own non-root uid, the same inside and on the host', async () => {
    const a = await run('id -u; id -g; id -un');
    const b = await run('id -u');
    const [uidA, gidA, name] = a.log.trim().split('\n');
    expect(Number(uidA)).toBeGreaterThan(uidBase);
    expect(gidA).toBe(uidA);
    expect(name).toBe('user');
    expect(Number(uidA)).toBe(a.ref.data.uid);
    expect(Number(b.log.trim())).not.toBe(Number(uidA));
    expect(a.state).toMatchObject({ status: 'stopped', exitCode: 0 });
  });

  it('keeps volumes 0700 and owned by the workspace uid, and its runtime state root-only', async () => {
    const ref = await create(await spec());
    const paths = boxPaths(dataDir, ref.workspaceId);
    for (const dir of [paths.workspace, paths.home]) {
      const st = await stat(dir);
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({
        uid: ref.data.uid,
        gid: ref.data.uid,
        mode: 0o700,
      });
    }
    const runtime = await stat(paths.runtime);
    expect({ uid: runtime.uid, mode: runtime.mode & 0o777 }).toEqual({ uid: 0, mode: 0o700 });
    expect((await stat(paths.record)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.root)).mode & 0o777).toBe(0o700);
  });

  it('gives the box a read-only root and /usr, a writable /tmp, workspace and home, and a minimal /etc', async () => {
    const { log } = await run(
      'touch /x 2>/dev/null; echo root=$?; touch /usr/x 2>/dev/null; echo usr=$?; touch /etc/x 2>/dev/null; echo etc=$?; ' +
        'touch /dev/x 2>/dev/null; echo dev=$?; touch /opt/remote-claude/x 2>/dev/null; echo opt=$?; ' +
        'touch /tmp/x && echo tmp=0; touch /workspace/x && echo ws=0; touch ~/x && echo home=0; echo pwd=$(pwd) HOME=$HOME; ' +
        'ls /etc | tr "\\n" " "; echo; ls /home | tr "\\n" " "',
    );
    expect(log).toContain('root=1');
    expect(log).toContain('usr=1');
    expect(log).toContain('etc=1');
    expect(log).toContain('dev=1');
    expect(log).toContain('opt=1');
    expect(log).toContain('tmp=0\nws=0\nhome=0\npwd=/workspace HOME=/home/user');
    const [etc, home] = log.trim().split('\n').slice(-2);
    for (const name of (etc ?? '').trim().split(' ')) {
      expect([
        'alternatives',
        'group',
        'hosts',
        'ld.so.cache',
        'localtime',
        'nsswitch.conf',
        'passwd',
        'ssl',
      ]).toContain(name.startsWith('ca-certificates') ? 'ssl' : name);
    }
    expect(home?.trim()).toBe('user');
  });

  it('passes only the spec env and the platform variables, and has no network but loopback', async () => {
    const { log } = await run('env | sort; cat /proc/net/dev');
    const env = log.split('\n').filter((l) => /^[A-Za-z_]+=/.test(l));
    expect(env.map((l) => l.split('=')[0]).sort()).toEqual(
      ['HOME', 'HTTPS_PROXY', 'HTTP_PROXY', 'LANG', 'NO_PROXY', 'PATH', 'PWD', 'RC_TEST_VAR', 'TERM', 'USER']
        .concat(['http_proxy', 'https_proxy', 'no_proxy'])
        .sort(),
    );
    expect(env).toContain('HTTPS_PROXY=http://127.0.0.1:3128');
    const interfaces = log
      .split('\n')
      .filter((l) => /^\s*\w+:/.test(l))
      .map((l) => l.trim().split(':')[0]);
    expect(interfaces).toEqual(['lo']);
  });

  it('hands the box no capabilities, no new privileges and no descriptors but stdio', async () => {
    const { log } = await run('grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; ls -l /proc/$$/fd');
    expect(log).toMatch(/^CapEff:\s+0+$/m);
    expect(log).toMatch(/^CapBnd:\s+0+$/m);
    expect(log).toMatch(/^NoNewPrivs:\s+1$/m);
    const fds = [...log.matchAll(/ (\d+) -> /g)].map((m) => m[1]);
    expect(fds).toEqual(['0', '1', '2']);
  });

  it('runs the agent from the bound node and agent dir when the spec has no command', async () => {
    const ref = await driver.start(await create(await spec(undefined)));
    const state = await waitFor(ref, (s) => s.status === 'stopped');
    expect(state.exitCode).toBe(0);
    expect(await readFile(boxPaths(dataDir, ref.workspaceId).log, 'utf8')).toBe('agent up from-spec\n');
  });

  it('binds the host claude binary read-only at /opt/remote-claude/bin/claude, on PATH, when configured', async () => {
    const claudePath = defaultClaudePath();
    expect(claudePath).toMatch(/\/claude\.exe$/);
    const withClaude = new LocalDriver(config(dataDir, { claudePath }));
    const script =
      'command -v claude; claude --version; touch /opt/remote-claude/bin/claude 2>/dev/null; echo w=$?';
    const ref = await withClaude.start(
      await create(await spec(['/bin/sh', '-c', script], { memoryBytes: 1024 * MiB }), withClaude),
    );
    const state = await waitFor(ref, (st) => st.status === 'stopped', 30_000);
    expect(state).toMatchObject({ status: 'stopped', exitCode: 0 });
    expect(await readFile(boxPaths(dataDir, ref.workspaceId).log, 'utf8')).toMatch(
      /^\/opt\/remote-claude\/bin\/claude\n\d+\.\d+\.\d+ \(Claude Code\)\nw=1\n$/,
    );
    const { log } = await run('test -e /opt/remote-claude/bin/claude; echo exists=$?');
    expect(log).toBe('exists=1\n');
  });

  it('reaches a data dir, node and agent dir behind a 0700 directory, and stages them out of sight', async () => {
    const hidden = await mkdtemp(join(tmpdir(), 'rc-0700-'));
    expect((await stat(hidden)).mode & 0o777).toBe(0o700);
    const hiddenAgent = join(hidden, 'checkout', 'dist', 'agent');
    await mkdir(hiddenAgent, { recursive: true, mode: 0o755 });
    await writeFile(join(hiddenAgent, 'agent.js'), "console.log('hidden agent up');\n");
    await copyFile(process.execPath, join(hidden, 'node'));
    const hiddenDriver = new LocalDriver(
      config(join(hidden, 'data'), { agentDir: hiddenAgent, nodePath: join(hidden, 'node') }),
    );
    await hiddenDriver.preflight();
    const s = { ...(await spec()), agentSocketDir: join(hidden, 'data', 'run', 'x') };
    const ref = await hiddenDriver.start(await create(s, hiddenDriver));
    const log = () => readFile(boxPaths(join(hidden, 'data'), ref.workspaceId).log, 'utf8');
    for (let i = 0; i < 3000 && (await hiddenDriver.inspect(ref)).status === 'running'; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await hiddenDriver.inspect(ref)).toMatchObject({ status: 'stopped', exitCode: 0 });
    expect(await log()).toBe('hidden agent up\n');
    const box = await run('ls -A /tmp; grep -c rc-stage /proc/self/mountinfo');
    expect(box.log).toBe('0\n');
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain('rc-stage');
    await hiddenDriver.remove(ref);
    await rm(hidden, { recursive: true, force: true });
  });

  it('starts a short-lived box in tens of milliseconds', async () => {
    const ref = await create(await spec(['/bin/true']));
    const started = Date.now();
    await driver.start(ref);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(300);
  });

  it('detaches the box from the control plane: a dropped driver leaves it running, and a new one controls it', async () => {
    const ref = await create(await spec(['/bin/sh', '-c', 'sleep 600']));
    await new LocalDriver(config(dataDir)).start(ref);
    const main = await readBoxProcess(boxPaths(dataDir, ref.workspaceId));
    expect(main).toBeDefined();
    const ancestors: number[] = [];
    for (let pid = main?.pid ?? 1; pid > 1; pid = (await procStat(pid))?.ppid ?? 0) ancestors.push(pid);
    expect(ancestors).not.toContain(process.pid);
    const fresh = new LocalDriver(config(dataDir));
    expect((await fresh.inspect(ref)).status).toBe('running');
    await fresh.stop(ref, { graceSeconds: 5 });
    expect(await fresh.inspect(ref)).toMatchObject({ status: 'stopped', reason: 'stopped on request' });
  });

  it('writes the limits into the cgroup, updates them on create, and reports usage', async () => {
    const s = await spec(['/bin/sh', '-c', 'sleep 600'], { cpu: 0.5, memoryBytes: 96 * MiB, pids: 50 });
    const ref = await driver.start(await create(s));
    const id = ref.workspaceId;
    expect(await cgroupFile('memory', id, 'memory.limit_in_bytes')).toBe(String(96 * MiB));
    expect(await cgroupFile('pids', id, 'pids.max')).toBe('50');
    expect(await cgroupFile('cpu', id, 'cpu.cfs_quota_us')).toBe('50000');
    expect(await cgroupFile('cpu', id, 'cpu.cfs_period_us')).toBe('100000');
    await driver.create({ ...s, resources: { cpu: 2, memoryBytes: 128 * MiB, pids: 60 } });
    expect(await cgroupFile('memory', id, 'memory.limit_in_bytes')).toBe(String(128 * MiB));
    expect(await cgroupFile('pids', id, 'pids.max')).toBe('60');
    expect(await cgroupFile('cpu', id, 'cpu.cfs_quota_us')).toBe('200000');
    const state = await driver.inspect(ref);
    expect(state.status).toBe('running');
    expect(state.usage?.pids).toBeGreaterThanOrEqual(3);
    expect(state.usage?.memoryBytes).toBeGreaterThan(0);
    expect(state.usage?.cpuSeconds).toBeGreaterThanOrEqual(0);
    await driver.stop(ref, { graceSeconds: 5 });
  });

  it('a running box that refuses new limits makes create fail, saying why; the next start applies them', async () => {
    const hold = 'const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => { b[0]++; }, 1000);';
    const s = await spec(['/opt/remote-claude/bin/node', '-e', hold], { memoryBytes: 256 * MiB });
    const ref = await driver.start(await create(s));
    const id = ref.workspaceId;
    const busy = await waitFor(ref, (st) => (st.usage?.memoryBytes ?? 0) > 64 * MiB);
    expect(busy.usage?.memoryBytes).toBeGreaterThan(64 * MiB);
    // The kernel cannot reclaim the box's anonymous memory (no swap) below the new limit.
    const refused = await driver.create({ ...s, resources: { ...s.resources, memoryBytes: 16 * MiB } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(DriverError);
    expect(refused).toMatchObject({ reason: 'insufficient_resources' });
    expect((refused as DriverError).userMessage).toMatch(
      /EBUSY on .*memory\.limit_in_bytes.*Stop and start it/,
    );
    expect((await driver.inspect(ref)).status).toBe('running');
    await driver.stop(ref, { graceSeconds: 0 });
    await driver.start(ref);
    expect(await cgroupFile('memory', id, 'memory.limit_in_bytes')).toBe(String(16 * MiB));
    await driver.stop(ref, { graceSeconds: 0 });
  });

  it('kills a box that uses more memory than its limit, and says so', async () => {
    const hog = 'const a = []; for (;;) a.push(Buffer.alloc(8 * 1024 * 1024, 1));';
    const ref = await driver.start(
      await create(await spec(['/opt/remote-claude/bin/node', '-e', hog], { memoryBytes: 64 * MiB })),
    );
    const state = await waitFor(ref, (s) => s.status === 'stopped', 20_000);
    expect(state).toMatchObject({ status: 'stopped', exitCode: 137, reason: 'killed: out of memory' });
  });

  it('stops a fork bomb at pids.max while the control plane stays responsive, and stop kills it', async () => {
    const ref = await driver.start(
      await create(await spec(['/bin/sh', '-c', 'b() { b | b & }; b; sleep 600'], { pids: 64 })),
    );
    const id = ref.workspaceId;
    const deadline = Date.now() + 10_000;
    while (
      Number((await cgroupFile('pids', id, 'pids.events')).split(' ')[1]) === 0 &&
      Date.now() < deadline
    ) {
      const before = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(Date.now() - before).toBeLessThan(500);
    }
    expect(Number(await cgroupFile('pids', id, 'pids.current'))).toBeLessThanOrEqual(64);
    expect(Number((await cgroupFile('pids', id, 'pids.events')).split(' ')[1])).toBeGreaterThan(0);
    await driver.stop(ref, { graceSeconds: 0.2 });
    expect((await driver.inspect(ref)).status).toBe('stopped');
    expect(await cgroupFile('pids', id, 'cgroup.procs')).toBe('');
  });

  it('fails start with the first error line when the box cannot be set up', async () => {
    const broken = new LocalDriver(config(dataDir, { agentDir: '/nonexistent/agent' }));
    const ref = await create(await spec(), broken);
    const err = await broken.start(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ reason: 'start_failed' });
    expect((err as DriverError).userMessage).toBe(
      'The workspace box failed to start: cannot open the bind source /nonexistent/agent (missing, or unreadable even by root)',
    );
    expect(await broken.inspect(ref)).toMatchObject({
      status: 'stopped',
      reason: expect.stringMatching(/^failed to start: cannot open the bind source \/nonexistent\/agent/),
    });
    const noBwrap = new LocalDriver(config(dataDir, { bwrapPath: '/nonexistent/bwrap' }));
    const err2 = await noBwrap.start(await create(await spec(), noBwrap)).catch((e: unknown) => e);
    expect((err2 as DriverError).userMessage).toMatch(
      /^The workspace box failed to start: setpriv: .*\/nonexistent\/bwrap/,
    );
  });

  it('refuses to start a box it cannot put in cgroups, and runs nothing', async () => {
    const fakeRoot = await mkdtemp(join(tmpdir(), 'rc-cg-'));
    for (const c of ['memory', 'pids', 'cpu']) await writeFile(join(fakeRoot, c), 'not a directory');
    const noCgroups = new LocalDriver(config(dataDir, { cgroupRoot: fakeRoot }));
    const ref = await create(await spec(), noCgroups);
    const err = await noCgroups.start(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).userMessage).toMatch(/resource limits could not be set up/);
    expect(await readBoxProcess(boxPaths(dataDir, ref.workspaceId))).toBeUndefined();
    const missing = new LocalDriver(config(dataDir, { cgroupRoot: join(fakeRoot, 'absent') }));
    await expect(missing.start(ref)).rejects.toMatchObject({ reason: 'unavailable' });
    await rm(fakeRoot, { recursive: true, force: true });
  });

  it('keeps a workspace’s uid across create calls and driver instances, and reuses a removed one', async () => {
    const s = await spec();
    const ref = await create(s);
    expect((await new LocalDriver(config(dataDir)).create(s)).data.uid).toBe(ref.data.uid);
    await driver.remove(ref, { keepVolume: true });
    expect((await create(s)).data.uid).toBe(ref.data.uid);
    await driver.remove(ref);
    const other = await create(await spec());
    expect(other.data.uid).toBeLessThanOrEqual(ref.data.uid as number);
  });

  it('treats a ref with an unsafe workspace id as missing', async () => {
    const ref: RuntimeRef = { kind: 'local', workspaceId: '../../etc', data: {} };
    expect(await driver.inspect(ref)).toEqual({ status: 'missing' });
    await driver.stop(ref);
    await driver.remove(ref);
    await expect(driver.start(ref)).rejects.toMatchObject({ reason: 'not_found' });
  });
});

describe('LocalDriver placement on its one node', () => {
  let dataDir: string;
  let driver: LocalDriver;
  const prefix = `lp${randomBytes(3).toString('hex')}`;
  let count = 0;
  const refs: RuntimeRef[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rc-lp-'));
    // A small node, so the test does not depend on this host's size.
    driver = new LocalDriver(
      config(dataDir, { capacity: { cpu: 1, memoryBytes: 1024 * MiB, maxWorkspaces: 2 } }),
    );
  });

  afterAll(async () => {
    for (const ref of refs) await driver.remove(ref).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  const sleeper = async (cpu: number, memoryBytes = 256 * MiB): Promise<WorkspaceSpec> => {
    const workspaceId = `${prefix}-${++count}`;
    const agentSocketDir = join(dataDir, 's', workspaceId);
    await mkdir(agentSocketDir, { recursive: true });
    return {
      workspaceId,
      resources: { cpu, memoryBytes, pids: 64 },
      env: {},
      agentSocketDir,
      command: ['/bin/sh', '-c', 'sleep 60'],
    };
  };
  const create = async (s: WorkspaceSpec) => {
    const ref = await driver.create(s);
    refs.push(ref);
    return ref;
  };
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a refusal');
      },
      (err: unknown) => {
        expect(err).toBeInstanceOf(DriverError);
        return err as DriverError;
      },
    );

  it('refuses a workspace that does not fit beside the running ones, with the sentence, and explains a placement', async () => {
    const a = await create(await sleeper(0.75));
    expect(a.placement).toBe(
      'Placed on node local: 0.75 of 1 CPU, 0.25 of 1 GiB memory, 1 of 2 workspaces reserved after this one.',
    );
    // Created before `a` runs: it fits then; its start is checked again.
    const b = await create(await sleeper(0.5));
    await driver.start(a);
    const tooBig = await refusal(driver.create(await sleeper(0.5)));
    expect(tooBig.reason).toBe('insufficient_resources');
    expect(tooBig.userMessage).toBe(
      'No node has room for a workspace of 0.5 CPU and 256 MiB: local has 0.75 of 1 CPU reserved.',
    );
    const late = await refusal(driver.start(b));
    expect(late.reason).toBe('insufficient_resources');
    expect(late.userMessage).toBe(
      'No node has room for a workspace of 0.5 CPU and 256 MiB: local has 0.75 of 1 CPU reserved.',
    );
    expect((await driver.inspect(b)).status).toBe('stopped');
    // GET /api/v1/nodes shows the capacity placement enforces and what the running box reserves.
    expect(await driver.nodes()).toMatchObject([
      {
        name: 'local',
        driver: 'local',
        healthy: true,
        capacity: { cpu: 1, memoryBytes: 1024 * MiB, maxWorkspaces: 2 },
        used: { cpu: 0.75, memoryBytes: 256 * MiB, workspaces: 1, running: 1 },
      },
    ]);
    // A stopped workspace reserves nothing: `b` starts once `a` stops.
    await driver.stop(a, { graceSeconds: 0 });
    await driver.start(b);
    expect((await driver.inspect(b)).status).toBe('running');
    await driver.stop(b, { graceSeconds: 0 });
  });

  it('lets only one of two starts racing for the last room through', async () => {
    const x = await create(await sleeper(0.6));
    const y = await create(await sleeper(0.6));
    const results = await Promise.allSettled([driver.start(x), driver.start(y)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as DriverError).userMessage).toBe(
      'No node has room for a workspace of 0.6 CPU and 256 MiB: local has 0.6 of 1 CPU reserved.',
    );
    expect((await driver.nodes())[0]?.used).toMatchObject({ cpu: 0.6, workspaces: 1, running: 1 });
    await driver.stop(x, { graceSeconds: 0 });
    await driver.stop(y, { graceSeconds: 0 });
  });

  it('counts workspaces against maxWorkspaces (pooling.maxTasksPerInstance)', async () => {
    const p = await create(await sleeper(0.1));
    const q = await create(await sleeper(0.1));
    const r = await create(await sleeper(0.1));
    await driver.start(p);
    await driver.start(q);
    const full = await refusal(driver.start(r));
    expect(full.userMessage).toBe(
      'No node has room for a workspace of 0.1 CPU and 256 MiB: local has 2 of 2 workspaces.',
    );
    await driver.stop(p, { graceSeconds: 0 });
    await driver.stop(q, { graceSeconds: 0 });
  });
});
