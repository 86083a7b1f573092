// `rclaude ws ssh` on a real terminal: the real CLI under a pseudo-terminal (node-pty), so its
// standard input is a TTY it puts into raw mode, against a real workspace on the local driver.
// A signal must leave the user's terminal as it found it and the remote shell running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, childEnv, rclaude } from './support/rclaude.js';
import { startWorkspaceKit, type WorkspaceKit } from './support/workspaceKit.js';

// Runs inside the pty: reports the terminal mode (`stty -g`) before the CLI, on SIGUSR2 while it
// runs, and after it, and how the CLI ended, as "@@" lines. It is the CLI's parent, so it sees an
// exit code apart from a death by signal, which a shell's $? would not tell apart.
const WRAPPER = `
const { spawn, execFileSync } = require('node:child_process');
const mode = () => execFileSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'inherit'] }).toString().trim();
const say = (line) => process.stdout.write('\\r\\n@@' + line + '\\r\\n');
say('BEFORE ' + mode());
const cli = spawn(process.execPath, process.argv.slice(1), { stdio: 'inherit' });
say('PID ' + cli.pid);
process.on('SIGUSR2', () => say('DURING ' + mode()));
cli.on('exit', (code, signal) => {
  say('EXIT ' + code + ' ' + signal);
  say('AFTER ' + mode());
});
`;

interface TtySession {
  /** Resolves with the match once the output so far matches `pattern`; rejects after 20 s. */
  until(pattern: RegExp): Promise<RegExpMatchArray>;
  write(data: string): void;
  signalWrapper(signal: NodeJS.Signals): void;
  exited: Promise<number>;
  kill(): void;
}

function underTty(home: string, env: Record<string, string>, args: string[]): TtySession {
  const pty = spawnPty(process.execPath, ['-e', WRAPPER, BIN, ...args], {
    cwd: home,
    env: childEnv(home, env) as Record<string, string>,
    cols: 100,
    rows: 30,
  });
  let out = '';
  const waiters = new Set<() => void>();
  pty.onData((d) => {
    out += d;
    for (const w of waiters) w();
  });
  const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
  return {
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} in the terminal; it shows:\n${out}`));
        }, 20_000);
        const check = () => {
          const m = out.match(pattern);
          if (!m) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        waiters.add(check);
        check();
      }),
    write: (data) => pty.write(data),
    signalWrapper: (signal) => process.kill(pty.pid, signal),
    exited,
    kill: () => pty.kill('SIGKILL'),
  };
}

describe('rclaude ws ssh on a terminal', () => {
  let k: WorkspaceKit;
  let env: Record<string, string>;
  let home: string;
  let id: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'rclaude-ssh-test-'));
    k = await startWorkspaceKit();
    const url = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
    env = { RC_URL: url, RC_TOKEN: k.auth.slice('Bearer '.length) };
    const w = await k.settle((await k.create(k.repo('app'))).id);
    expect(w.status).toBe('running');
    id = w.id;
  }, 90_000);
  afterAll(async () => {
    await k?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const terminals = async () =>
    (
      await k.t.app.inject({
        method: 'GET',
        url: `/api/v1/workspaces/${id}/terminals`,
        headers: { authorization: k.auth },
      })
    ).json() as { items: { id: string; viewers: number }[] };

  /** The one terminal not in `before`, once the server has seen its viewer leave (within 5 s). */
  const leftTerminal = async (before: Set<string>) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const [t, ...more] = (await terminals()).items.filter((t) => !before.has(t.id));
      expect(more).toEqual([]);
      if (t?.viewers === 0) return t;
      if (Date.now() > deadline)
        throw new Error(`the terminal the CLI left is not idle: ${JSON.stringify(t)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it.each([
    { signal: 'SIGTERM', code: 143 },
    { signal: 'SIGHUP', code: 129 },
  ] as const)(
    '$signal restores the terminal mode, exits $code and leaves the shell running',
    async ({ signal, code }) => {
      const before = new Set((await terminals()).items.map((t) => t.id));
      const tty = underTty(home, env, ['ws', 'ssh', id.slice(0, 8)]);
      try {
        const cooked = (await tty.until(/@@BEFORE (\S+)/))[1] as string;
        const pid = Number((await tty.until(/@@PID (\d+)/))[1]);
        // Whatever the remote side prints comes after "ready", when the CLI has gone raw.
        await tty.until(/@@PID \d+\s+\S/);
        const mark = `${signal.toLowerCase()}-${Date.now()}`;
        tty.write(`echo "${mark}-$((6*7))"\r`);
        await tty.until(new RegExp(`${mark}-42`));
        tty.signalWrapper('SIGUSR2');
        const during = (await tty.until(/@@DURING (\S+)/))[1];
        expect(during, 'the CLI put the terminal into raw mode').not.toBe(cooked);

        process.kill(pid, signal);
        const ended = await tty.until(/@@EXIT (\S+) (\S+)\s+@@AFTER (\S+)/);
        expect({ code: ended[1], signal: ended[2], mode: ended[3] }).toEqual({
          code: String(code),
          signal: 'null',
          mode: cooked,
        });
        await tty.exited;

        // The shell lives on in the workspace, no longer watched, and can be attached again.
        const left = await leftTerminal(before);
        if (signal === 'SIGTERM')
          expect((await tty.until(/attach again with `rclaude ws ssh \w+ --attach ([\w-]+)`/))[1]).toBe(
            left?.id,
          );
        const again = await rclaude(home, ['ws', 'ssh', id, '--attach', left?.id as string], {
          env,
          stdin: 'exit 7\n',
        });
        expect(again.stdout).toContain(`${mark}-42`);
        expect(again.code).toBe(7);
      } finally {
        tty.kill();
      }
    },
    60_000,
  );
});
