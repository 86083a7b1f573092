// Extra Docker daemons on this machine, so multi-host tests have several "Docker hosts" without
// several machines. Each has its own socket, data root, exec root, pidfile and containerd (a
// dockerd without --containerd starts and supervises its own under its exec root when no system
// containerd answers on /run/containerd/containerd.sock), and its own containerd namespace in case
// one does. Like the main test daemon (test/setupHost.sh) it has no bridge and no iptables rules.
// The data root is kept between runs, so images built on it once (ensureWorkspaceImage) stay.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { dockerCli } from './dockerCli.js';

export interface ExtraDockerd {
  /** The daemon's unix socket, for `docker -H unix://…`, dockerode's socketPath or a node config. */
  socketPath: string;
  /** Stops the daemon (SIGTERM, SIGKILL after 30 s) and waits until it has exited. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
/**
 * gVisor as an extra OCI runtime, as test/setupHost.sh registers it on the main daemon: no network
 * (workspace containers have none, and runsc refuses to set one up on this machine) and host unix
 * sockets open (the agent connects to the control plane on a bound socket).
 */
export const RUNSC_RUNTIME = { path: 'runsc', runtimeArgs: ['--network=none', '--host-uds=open'] };
const STOP_TIMEOUT_MS = 30_000;

/**
 * Starts a dockerd named `name` (lower-case letters, digits and dashes) and resolves once it
 * answers. Needs root and Debian's docker.io (test/setupHost.sh installs it). A daemon of the same
 * name left by a killed test run is stopped first; one whose owning process still runs is an error.
 * Throws with the end of the daemon's log when it exits or does not answer within 60 s.
 */
export async function startExtraDockerd(
  name: string,
  opts: {
    /**
     * Runs dockerd under this argv prefix, e.g. test/support/netns.ts's `exec()`: in a network
     * namespace of its own, with directories hidden from it. The prefix must exec dockerd in place.
     */
    prefix?: string[];
  } = {},
): Promise<ExtraDockerd> {
  if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(name)) throw new Error(`Bad dockerd name ${JSON.stringify(name)}.`);
  const base = `rc-test-dockerd-${name}`;
  const paths = {
    dataRoot: `/var/lib/${base}`,
    execRoot: `/var/run/${base}`,
    pidfile: `/var/run/${base}.pid`,
    owner: `/var/run/${base}.owner`,
    config: `/var/lib/${base}/daemon.json`,
    socket: `/var/run/${base}.sock`,
    log: `/var/log/${base}.log`,
  };
  await stopLeftover(paths, name);
  await mkdir(paths.dataRoot, { recursive: true });
  // A config file of its own, so /etc/docker/daemon.json (the main daemon's) does not apply. In it:
  // dockerd 20.10 takes its ID (`docker info`'s ID) from /etc/docker/key.json, which every daemon
  // here would share; a key of its own gives each "host" an ID of its own. The key's path is a
  // config-file setting only (no command-line flag). gVisor's runsc is registered as on the main
  // daemon (test/setupHost.sh), so runtime.docker.runtime: runsc works on every "host".
  await writeFile(
    paths.config,
    JSON.stringify({
      'deprecated-key-path': `${paths.dataRoot}/key.json`,
      runtimes: { runsc: RUNSC_RUNTIME },
    }),
  );
  await writeFile(paths.owner, String(process.pid));
  const logFd = openSync(paths.log, 'a');
  let child: ChildProcess;
  try {
    const [command, ...prefixArgs] = [...(opts.prefix ?? []), 'dockerd'];
    child = spawn(
      command as string,
      [
        ...prefixArgs,
        `--data-root=${paths.dataRoot}`,
        `--exec-root=${paths.execRoot}`,
        `--pidfile=${paths.pidfile}`,
        `--config-file=${paths.config}`,
        `--host=unix://${paths.socket}`,
        `--containerd-namespace=${base}`,
        `--containerd-plugins-namespace=${base}-plugins`,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  // The daemon must not keep a finished test process alive; stop() still waits for it.
  child.unref();
  // 'error' instead of 'exit' when dockerd could not be started at all (not installed: ENOENT).
  const exited = new Promise<Error | undefined>((resolve) => {
    child.once('exit', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
  const failed = (why: string) =>
    logTail(paths.log).then((tail) => new Error(`dockerd ${name} ${why}.\n${tail}`));

  const docker = dockerCli(paths.socket);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const state = await Promise.race([exited.then((err) => err ?? 'exited'), docker.isAnswering()]);
    if (state instanceof Error) {
      const missing = (state as NodeJS.ErrnoException).code === 'ENOENT';
      throw missing ? new Error('dockerd is not installed; test/setupHost.sh installs docker.io.') : state;
    }
    if (state === 'exited') {
      throw await failed(`exited before answering on ${paths.socket} (exit code ${child.exitCode})`);
    }
    if (state) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw await failed(`did not answer on ${paths.socket} within ${START_TIMEOUT_MS / 1000} s`);
    }
    // No event says that the API is up (the socket exists before it is), so it is polled.
    await delay(200);
  }

  let stopping: Promise<void> | undefined;
  return {
    socketPath: paths.socket,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        await rm(paths.owner, { force: true });
      })();
      return stopping;
    },
  };
}

/**
 * Stops what a killed test run left of the daemon of this name: the dockerd, when the process that
 * started it is gone, and its managed containerd; then drops their pidfiles. dockerd starts
 * containerd with a parent-death signal, so a dockerd killed with SIGKILL takes containerd along,
 * but the dead containerd stays a zombie until PID 1 reaps it, and this machine's PID 1 is slow
 * to. A new dockerd that finds the zombie's pid in containerd.pid takes it for a running
 * containerd, adopts it and times out ("failed to start containerd: timeout waiting for
 * containerd to start").
 */
async function stopLeftover(paths: { pidfile: string; owner: string; execRoot: string }, name: string) {
  const pid = await runningPid(paths.pidfile, 'dockerd');
  if (pid) {
    const owner = Number(await readFile(paths.owner, 'utf8').catch(() => '0'));
    if (owner > 0 && isAlive(owner)) {
      throw new Error(
        `dockerd ${name} (pid ${pid}) is already running for process ${owner}; pick another name.`,
      );
    }
    await stopProcess(pid);
  }
  const containerdPidfile = `${paths.execRoot}/containerd/containerd.pid`;
  const containerd = await runningPid(containerdPidfile, 'containerd');
  if (containerd) await stopProcess(containerd);
  await rm(containerdPidfile, { force: true });
  await rm(paths.pidfile, { force: true });
}

/** The live process named in `pidfile`, if its command is `command` (a stale pid may be reused). */
async function runningPid(pidfile: string, command: string): Promise<number | undefined> {
  const pid = Number(await readFile(pidfile, 'utf8').catch(() => '0'));
  if (!(pid > 0 && isAlive(pid))) return undefined;
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
  return comm === command ? pid : undefined;
}

/** SIGTERM, SIGKILL after 30 s; returns once the process is gone. */
async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    // Not our child, so no exit event: polled.
    await delay(100);
  }
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function logTail(path: string): Promise<string> {
  const log = await readFile(path, 'utf8').catch(() => '');
  return `The end of ${path}:\n${log.trim().split('\n').slice(-20).join('\n')}`;
}
