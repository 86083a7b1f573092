// The fake ECS endpoint's "awsvpc": a test-created bridge holding one /24 of the test's own
// (10.231.N.0/24, N picked free), the host at .1, and for each task a veth pair whose far end is
// moved into the task container's network namespace (the container itself runs with
// NetworkMode none) with the next free address — the task's "ENI". Bridge ports are isolated, so
// tasks reach the host (the control plane listens on `hostAddress`) and not each other, as a
// security group allowing egress only to the control plane would have it. Needs root and
// iproute2; everything is removed by `close()`.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ip = (...args: string[]) => run('ip', args, { timeout: 10_000 });

/** Runs `ip -batch -` (behind `prefix`, e.g. nsenter) with these commands on its stdin. */
function ipBatch(lines: string[], prefix: string[]): Promise<void> {
  const argv = [...prefix, 'ip', '-batch', '-'];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 10_000,
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    // A command whose namespace went away exits before reading: its exit code says so, not EPIPE.
    child.stdin.on('error', () => {});
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ip -batch failed: ${err.trim()}`)),
    );
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

export class FakeEcsNetwork {
  private readonly used = new Map<string, number>();

  private constructor(
    readonly bridge: string,
    private readonly prefix: string,
  ) {}

  /** The address the control plane listens on for the tasks' agents. */
  get hostAddress(): string {
    return `${this.prefix}.1`;
  }

  static async create(): Promise<FakeEcsNetwork> {
    const { stdout } = await ip('-4', '-o', 'addr');
    const taken = new Set([...stdout.matchAll(/inet 10\.231\.(\d+)\./g)].map((m) => Number(m[1])));
    const free = Array.from({ length: 250 }, (_, i) => i + 1).filter((n) => !taken.has(n));
    const n = free[(randomBytes(1)[0] ?? 0) % free.length];
    if (n === undefined) throw new Error('no free 10.231.N.0/24 for the fake ECS network');
    const net = new FakeEcsNetwork(`rcfe${randomBytes(3).toString('hex')}`, `10.231.${n}`);
    await ip('link', 'add', 'name', net.bridge, 'type', 'bridge');
    await ip('addr', 'add', `${net.hostAddress}/24`, 'dev', net.bridge);
    await ip('link', 'set', net.bridge, 'up');
    return net;
  }

  /** Gives the container whose process is `pid` an interface on the bridge; returns its address. */
  async attach(taskId: string, pid: number): Promise<string> {
    const inUse = new Set(this.used.values());
    let host = 2;
    while (inUse.has(host)) host++;
    if (host > 254) throw new Error('fake ECS network is full');
    this.used.set(taskId, host);
    const name = `fe${randomBytes(3).toString('hex')}`;
    const outer = `${name}h`;
    const inner = `${name}n`;
    const address = `${this.prefix}.${host}`;
    try {
      // Two `ip -batch` runs, not eight: the fake's start time is part of the bench figure.
      await ipBatch(
        [
          `link add ${outer} type veth peer name ${inner}`,
          `link set ${outer} master ${this.bridge}`,
          `link set ${outer} up`,
          `link set ${inner} netns ${pid}`,
        ],
        [],
      );
      await run('bridge', ['link', 'set', 'dev', outer, 'isolated', 'on'], { timeout: 10_000 });
      await ipBatch(
        [`link set ${inner} name eth0`, `addr add ${address}/24 dev eth0`, 'link set eth0 up'],
        ['nsenter', `--net=/proc/${pid}/ns/net`],
      );
      return address;
    } catch (err) {
      await ip('link', 'del', outer).catch(() => {});
      this.used.delete(taskId);
      throw err;
    }
  }

  /** Frees the task's address (its veth went with its namespace). */
  detach(taskId: string): void {
    this.used.delete(taskId);
  }

  async close(): Promise<void> {
    await ip('link', 'del', this.bridge).catch(() => {});
  }
}
