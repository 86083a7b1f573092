// Running the real `rclaude` (bin/rclaude.js → dist/) as a child process, for end-to-end tests.
// Every child gets an environment built from scratch with HOME and XDG_CONFIG_HOME in a directory
// the test owns, so the user's own ~/.config and any RC_URL / RC_TOKEN / DATABASE_URL of the outer
// shell are never seen, and every child runs under a time limit.
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'rclaude.js');
const CHILD_TIMEOUT_MS = 15_000;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The child's whole environment: nothing comes from ours except where to find programs. */
export function childEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    ...extra,
  };
}

/** Where `rclaude login` run with `home` saves the login. */
export function credentialsFile(home: string): string {
  return join(home, 'config', 'remote-claude', 'credentials.json');
}

/** Run `rclaude args…` in `home` to completion, feeding `stdin` (closed at once when not given). */
export function rclaude(
  home: string,
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  const run = spawnRclaude(home, args, opts);
  run.child.stdin.end(opts.stdin ?? '');
  return run.exited;
}

export interface RclaudeChild {
  /** Its standard input stays open until the caller ends it. */
  child: ChildProcessWithoutNullStreams;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves once it exited; rejects if it was killed (its time limit) or could not start. */
  exited: Promise<Run>;
}

/** Start `rclaude args…` in `home`, for a test that writes its standard input as it goes. */
export function spawnRclaude(
  home: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): RclaudeChild {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: home,
    env: childEnv(home, opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? CHILD_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const output = captureOutput(child);
  const exited = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === null)
        reject(new Error(`rclaude ${args.join(' ')} was killed (${signal}); stderr: ${output().stderr}`));
      else resolve({ code, ...output() });
    });
  });
  return { child, output, exited };
}

/** What the child has written to stdout and stderr so far. */
export function captureOutput(child: ChildProcess): () => { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return () => ({ stdout, stderr });
}

/** Exit 0 and nothing on stderr; returns stdout. */
export function expectSuccess(r: Run): string {
  expect(r.stderr, r.stdout).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

export function parseJson<T>(r: Run): T {
  return JSON.parse(expectSuccess(r)) as T;
}

/** A failure: non-zero exit, nothing on stdout, and exactly one "rclaude: …" line on stderr. */
export function expectFailure(r: Run, message?: RegExp): string {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n'), r.stderr).toBe(true);
  const lines = r.stderr.slice(0, -1).split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0] as string;
  expect(line.startsWith('rclaude: '), line).toBe(true);
  expect(line, 'a stack trace or an error class name').not.toMatch(/\bat .+:\d+:\d+|Error:/);
  if (message) expect(line).toMatch(message);
  return line;
}

export interface ServeChild {
  child: ChildProcess;
  /** Resolves with the match once stdout matches `pattern`; rejects if serve exits first or in 20 s. */
  until(pattern: RegExp): Promise<RegExpMatchArray>;
  /** SIGTERM, then the exit code (a clean shutdown is 0); SIGKILL after 10 s. */
  stop(): Promise<number | null>;
  output(): { stdout: string; stderr: string };
}

/** Start `rclaude serve args…` in `home`; the caller stops it (or kills `child` when a test fails). */
export function startServe(home: string, args: string[], env: Record<string, string> = {}): ServeChild {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd: home,
    env: childEnv(home, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output,
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const fail = (why: string) => {
          cleanup();
          reject(new Error(`serve ${why} ${pattern}; it printed:\n${output().stdout}${output().stderr}`));
        };
        const check = () => {
          const m = output().stdout.match(pattern);
          if (!m) return;
          cleanup();
          resolve(m);
        };
        const onExit = () => fail('exited before printing');
        const timer = setTimeout(() => fail('timed out waiting for'), 20_000);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout.on('data', check);
        child.once('exit', onExit);
        check();
        if (child.exitCode !== null) onExit();
      }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
