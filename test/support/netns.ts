// A network namespace joined to this host by a veth pair, for tests of "another machine": the
// namespace has its own loopback and one /30 address, and reaches the host only at the host end's
// address. The addresses are the test's own (it creates and removes them); nothing else here owns
// them. Needs root and iproute2.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Netns {
  name: string;
  /** The host end's address: what processes in the namespace dial to reach the host. */
  hostAddress: string;
  /** The namespace end's address. */
  nsAddress: string;
  /**
   * The argv prefix that runs a command in the namespace, in a mount namespace of its own where
   * each of `hidden` is covered by an empty tmpfs: the command cannot see those directories.
   */
  exec(hidden?: string[]): string[];
  /** Kills whatever still runs in the namespace, then removes it and the veth pair. Idempotent. */
  remove(): Promise<void>;
}

const NAME = /^[a-z0-9-]{1,12}$/;

/**
 * Creates namespace `name` with a veth pair `<name>-h` (host, `hostAddress`/30) and `<name>-n`
 * (namespace, `nsAddress`/30). What a killed run left under the same name is removed first.
 */
export async function createNetns(name: string, hostAddress: string, nsAddress: string): Promise<Netns> {
  if (!NAME.test(name)) throw new Error(`Bad netns name ${JSON.stringify(name)}.`);
  const ip = (...args: string[]) => run('ip', args, { timeout: 10_000 });
  const inNs = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
  const remove = async () => {
    const pids = await ip('netns', 'pids', name).then(
      (r) => r.stdout.split(/\s+/).filter(Boolean).map(Number),
      () => [] as number[],
    );
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await ip('link', 'del', `${name}-h`).catch(() => {});
    await ip('netns', 'del', name).catch(() => {});
  };
  await remove();
  await ip('netns', 'add', name);
  await ip('link', 'add', `${name}-h`, 'type', 'veth', 'peer', 'name', `${name}-n`);
  await ip('link', 'set', `${name}-n`, 'netns', name);
  await ip('addr', 'add', `${hostAddress}/30`, 'dev', `${name}-h`);
  await ip('link', 'set', `${name}-h`, 'up');
  await inNs('addr', 'add', `${nsAddress}/30`, 'dev', `${name}-n`);
  await inNs('link', 'set', `${name}-n`, 'up');
  await inNs('link', 'set', 'lo', 'up');
  return {
    name,
    hostAddress,
    nsAddress,
    exec(hidden = []) {
      for (const dir of hidden) {
        if (!/^\/[\w./-]+$/.test(dir)) throw new Error(`Cannot hide ${JSON.stringify(dir)}.`);
      }
      const mounts = hidden.map((d) => `mount -t tmpfs -o size=1m,mode=700 rc-hidden ${d} && `).join('');
      // nsenter, not `ip netns exec`: that one mounts a fresh /sys, which hides the cgroup mounts
      // dockerd needs. nsenter and unshare without --fork and sh's exec keep one process: the
      // caller's child is the command.
      return [
        'nsenter',
        `--net=/run/netns/${name}`,
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `${mounts}exec "$@"`,
        'sh',
      ];
    },
    remove,
  };
}
