// The isolation profile (DESIGN §6), checked from inside real workspaces. Parameterised by driver
// so the Docker driver reruns the same checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIMES, startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

// Not on runsc: Debian's runsc (a 2022 build) answers statx with EINVAL, so coreutils (ls, stat,
// touch, cat of a directory) fail inside the sandbox with "Invalid argument" and the probes below
// cannot run, and its workspace with 256 MiB and 64 pids exits (code 2) right after it starts. The
// lifecycle suite runs on runsc (workspaceLifecycle.test.ts); a newer gVisor would run this too.
const ISOLATION_RUNTIMES = RUNTIMES.filter((r) => !r.runsc).map((r) => [r.name, r] as const);

describe.each(ISOLATION_RUNTIMES)('isolation (%s)', (_name, { driver, flags }) => {
  let k: WorkspaceKit;
  let a: string;
  let b: string;
  let hostPort: number;
  beforeAll(async () => {
    k = await startWorkspaceKit({ flags: { ...flags, 'workspaces.pids': 64 } });
    const create = async (repo: string) => {
      const res = await k.t.app.inject({
        method: 'POST',
        url: '/api/v1/workspaces',
        headers: { authorization: k.auth },
        payload: { repository: k.repo(repo), resources: { memoryMb: 256, pids: 64 } },
      });
      const ws = await k.settle(res.json().id);
      expect(ws.status, ws.statusReason ?? '').toBe('running');
      return ws.id;
    };
    a = await create('app');
    b = await create('other');
    hostPort = Number(new URL(await k.t.app.listen({ port: 0, host: '127.0.0.1' })).port);
    await k.exec(b, ['sh', '-c', 'echo secret-of-b > /workspace/secret.txt']);
  });
  afterAll(async () => {
    await k?.close();
  });

  const sh = (id: string, script: string, timeoutMs = 20_000) =>
    k.exec(id, ['/bin/sh', '-c', script], timeoutMs);

  // Local workspaces also get a host uid each; Docker ones all run as the image's uid 1000, so what
  // both must show is a non-root user and namespaces of their own.
  it('runs as a non-root uid, in process and mount namespaces of its own', async () => {
    const probe = 'id -u; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt';
    const [ua, ...nsa] = (await sh(a, probe)).stdout.trim().split('\n');
    const [ub, ...nsb] = (await sh(b, probe)).stdout.trim().split('\n');
    expect(ua).not.toBe('0');
    expect(ub).not.toBe('0');
    expect(nsa).toHaveLength(2);
    expect(nsa[0]).not.toBe(nsb[0]);
    expect(nsa[1]).not.toBe(nsb[1]);
  });

  it('has a read-only root file system; only /workspace, the home and /tmp are writable', async () => {
    const r = await sh(
      a,
      'touch /x 2>&1; echo "root=$?"; touch /usr/x 2>&1; echo "usr=$?"; touch /etc/x 2>&1; echo "etc=$?"; touch /workspace/x /tmp/x "$HOME/x" && echo rw-ok',
    );
    expect(r.stdout).toMatch(/root=[1-9]/);
    expect(r.stdout).toMatch(/usr=[1-9]/);
    expect(r.stdout).toMatch(/etc=[1-9]/);
    expect(r.stdout).toMatch(/rw-ok/);
  });

  it("cannot read or write another workspace's files by path, /proc or symlink", async () => {
    // Where b's files are on the host, for each driver.
    const hostDir =
      driver === 'docker'
        ? `/var/lib/docker/volumes/rc-${k.t.config.runtime.docker.installation}-${b}-workspace/_data`
        : `${k.t.config.dataDir}/workspaces/${b}/workspace`;
    const r = await sh(
      a,
      `cat ${hostDir}/secret.txt 2>&1; ls / ; for p in /proc/[0-9]*; do cat $p/root/workspace/secret.txt 2>/dev/null; done; ln -s ${hostDir} /workspace/to-b; cat /workspace/to-b/secret.txt 2>&1; echo x > /workspace/to-b/planted 2>&1; echo done`,
    );
    expect(r.stdout).not.toMatch(/secret-of-b/);
    expect(r.stdout).toMatch(/done/);
    const viaApi = await k.t.app.inject({
      method: 'GET',
      url: `/api/v1/workspaces/${a}/files/to-b/secret.txt`,
      headers: { authorization: k.auth },
    });
    expect(viaApi.statusCode).toBe(400);
    expect((await sh(b, 'ls /workspace')).stdout).not.toMatch(/planted/);
  });

  it('cannot see host processes', async () => {
    const r = await sh(a, 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done');
    expect(r.stdout).not.toMatch(/vitest|postgres/);
    expect(r.stdout).not.toContain(String(process.pid));
    const count = (await sh(a, 'ls -d /proc/[0-9]* | wc -l')).stdout.trim();
    expect(Number(count)).toBeLessThan(20);
  });

  it("cannot connect to the host's loopback ports, cloud metadata or private addresses", async () => {
    const probe = (host: string, port: number) =>
      k.exec(a, [
        'node',
        '-e',
        `const s=require('net').connect(${port},'${host}');s.setTimeout(3000);s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('timeout',()=>{console.log('TIMEOUT');process.exit(0)})`,
      ]);
    for (const [host, port] of [
      ['127.0.0.1', hostPort],
      ['127.0.0.1', 5432],
      ['169.254.169.254', 80],
      ['10.0.0.1', 80],
    ] as const) {
      const r = await probe(host, port);
      expect(r.stdout.trim(), `${host}:${port}`).toMatch(/^(ECONNREFUSED|ENETUNREACH|EHOSTUNREACH)$/);
    }
    // Through the egress proxy, metadata and private addresses are refused by policy.
    const viaProxy = await sh(
      a,
      'curl -s -o /dev/null -w "%{http_code}" http://169.254.169.254/latest/meta-data/; echo; curl -s -o /dev/null -w "%{http_code}" http://10.0.0.1/; echo',
    );
    expect(viaProxy.stdout.trim().split('\n')).toEqual(['403', '403']);
  });

  it('a fork bomb hits the process limit and the host stays responsive', async () => {
    let worstLag = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      worstLag = Math.max(worstLag, now - last - 20);
      last = now;
    }, 20);
    const bomb = await sh(a, 'bomb() { bomb | bomb & }; bomb; sleep 2; echo survived', 4000);
    clearInterval(timer);
    expect(bomb.stdout + bomb.stderr).toMatch(/fork|resource|retry|survived|Cannot/i);
    expect(worstLag).toBeLessThan(1000);
    // The workspace recovers once the bomb is gone.
    await sh(a, 'pkill -KILL -u "$(id -u)" -f "sh -c bomb" || true').catch(() => {});
    const deadline = Date.now() + 15_000;
    let ok = '';
    while (Date.now() < deadline && ok !== 'ok') {
      ok = (await sh(a, 'echo ok').catch(() => ({ stdout: '' }))).stdout.trim();
    }
    expect(ok).toBe('ok');
  });

  it('a memory hog is OOM-killed alone', async () => {
    // `tail -c` holds everything it reads in anonymous memory until the OOM killer ends it.
    const hog = await k.exec(
      a,
      ['/bin/sh', '-c', 'head -c 2147483648 /dev/zero | tail -c 2147483648 > /dev/null'],
      30_000,
    );
    expect(hog.exitCode === 137 || hog.signal === 'SIGKILL', JSON.stringify(hog)).toBe(true);
    expect((await sh(a, 'echo alive')).stdout).toBe('alive\n');
    expect((await sh(b, 'echo alive')).stdout).toBe('alive\n');
  });
});
