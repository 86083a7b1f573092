// A server under test, run as a child process: started, waited for until it prints the loopback
// URL it listens on, and stopped for sure (SIGTERM, then SIGKILL) whatever happens to the bench.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const STOP_GRACE_MS = 5_000;

export interface ChildServer {
  name: string;
  url: string;
  /** CPU seconds (user + system) the process has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// Last resort when the bench itself dies: a synchronous kill is all an 'exit' listener can do.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// Signals end a Node process without 'exit' listeners unless handled; turn them into an exit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/**
 * Spawn `node args…` and resolve once its stdout matches `readyLine`, whose first group is the
 * server's URL (it must be on 127.0.0.1). Rejects, after killing the child, when it exits first,
 * names another address, or is not ready within `timeoutMs`; the error carries the tail of its
 * stderr so a failed start says why.
 */
export function startChildServer(
  name: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number; readyLine: RegExp },
): Promise<ChildServer> {
  const child = spawn(process.execPath, args, {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(force);
  };

  return new Promise<ChildServer>((resolve, reject) => {
    let settled = false;
    let stdout = '';
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop().finally(() => reject(new Error(`${name}: ${why}${stderrTail ? `\n${stderrTail.trim()}` : ''}`)));
    };
    const timer = setTimeout(() => fail(`was not ready within ${opts.timeoutMs} ms`), opts.timeoutMs);
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));
    // Keep draining stdout after the URL line so a chatty child never blocks on a full pipe.
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (settled) return;
      stdout = (stdout + chunk).slice(-4_000);
      const url = opts.readyLine.exec(stdout)?.[1];
      if (!url) return;
      if (!url.startsWith('http://127.0.0.1:')) return fail(`listens on ${url}, not on loopback`);
      settled = true;
      clearTimeout(timer);
      resolve({ name, url, stop, cpuSeconds: () => cpuSeconds(child.pid) });
    });
  });
}

/** The process's CPU time from Linux; other work on the machine sways it less than it sways req/s. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name) are utime and
    // stime in clock ticks; USER_HZ is 100 on every Linux architecture Node supports.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
