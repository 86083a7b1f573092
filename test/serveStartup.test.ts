// `rclaude serve` as a newcomer starts it: it answers only once it can serve a sign-in, says it is
// ready only once startup is done, and logs readable lines on a terminal and JSON elsewhere.
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, childEnv, type ServeChild, startServe } from './support/rclaude.js';

const EMAIL = 'first@example.test';
const PASSWORD = 'first-admin-password';
/** Cheap argon2id, through the generic RC_A__B environment form. */
const FAST_ARGON2_ENV = { RC_AUTH__ARGON2__MEMORY_COST: '1024', RC_AUTH__ARGON2__TIME_COST: '1' };

let scratch: string;
const started: ServeChild[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rc-serve-startup-'));
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await rm(scratch, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

/** GET/POST that never throws: a refused connection is status 0. */
async function call(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

function serve(name: string, args: string[], env: Record<string, string> = {}): ServeChild {
  const home = join(scratch, name);
  mkdirSync(home, { recursive: true });
  const s = startServe(home, ['--data-dir', join(home, 'data'), ...args], { ...FAST_ARGON2_ENV, ...env });
  started.push(s);
  return s;
}

describe('rclaude serve startup', () => {
  it('answers its first request only when the first administrator can sign in, and is ready after reconcile', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const s = serve('window', ['--port', String(port), '--log-level', 'warn'], {
      RC_ADMIN_EMAIL: EMAIL,
      RC_ADMIN_PASSWORD: PASSWORD,
    });
    // Knock until the process answers at all, then sign in at once: the window in which the
    // server answered but had no administrator yet gave 401 here.
    const deadline = Date.now() + 30_000;
    let health = await call(`${base}/healthz`);
    while (health.status === 0 && Date.now() < deadline) health = await call(`${base}/healthz`);
    expect(health.status).toBe(200);
    const login = await call(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    expect(login.status, login.body).toBe(200);

    let ready = await call(`${base}/readyz`);
    while (ready.status !== 200 && Date.now() < deadline) {
      // Before reconcile's first pass it says so, in the envelope, naming what is pending.
      expect(ready.status, ready.body).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ error: { code: 'not_ready' } });
      ready = await call(`${base}/readyz`);
    }
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });
    expect(await s.stop()).toBe(0);
  });

  it('logs one JSON object per line when stderr is not a terminal, and requests only at debug', async () => {
    const quiet = serve('json-info', ['--port', '0']);
    const [, url] = await quiet.until(/^Remote Claude is listening on (\S+) /);
    await call(`${url}/healthz?token=not-in-logs`);
    expect(await quiet.stop()).toBe(0);
    const infoLines = quiet.output().stderr.trim().split('\n').filter(Boolean);
    for (const line of infoLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(infoLines.some((l) => l.includes('/healthz'))).toBe(false);
    expect(infoLines.some((l) => JSON.parse(l).msg === 'shutting down')).toBe(true);

    const loud = serve('json-debug', ['--port', '0', '--log-level', 'debug']);
    const [, url2] = await loud.until(/^Remote Claude is listening on (\S+) /);
    await call(`${url2}/healthz?token=not-in-logs`);
    expect(await loud.stop()).toBe(0);
    const request = loud
      .output()
      .stderr.split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.path === '/healthz');
    expect(request).toMatchObject({ level: 20, method: 'GET', status: 200, msg: 'request' });
    expect(loud.output().stderr).not.toContain('not-in-logs');
  });

  it('logs short readable lines on a terminal, and JSON there when RC_LOG_FORMAT=json', async () => {
    const onTerminal = async (name: string, env: Record<string, string>) => {
      const home = join(scratch, name);
      mkdirSync(home, { recursive: true });
      const pty = spawnPty(
        process.execPath,
        [BIN, 'serve', '--port', '0', '--data-dir', join(home, 'data')],
        {
          cwd: scratch,
          env: childEnv(home, { ...FAST_ARGON2_ENV, ...env }) as Record<string, string>,
          cols: 200,
          rows: 50,
        },
      );
      let out = '';
      pty.onData((d) => {
        out += d;
      });
      const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
      const deadline = Date.now() + 30_000;
      while (!/listening on/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      pty.kill('SIGTERM');
      const code = await exited;
      // node-pty can report the exit before the last output has been read.
      const drain = Date.now() + 3_000;
      while (!out.includes('shutting down') && Date.now() < drain)
        await new Promise((r) => setTimeout(r, 50));
      return { out, code };
    };

    const pretty = await onTerminal('pretty', {});
    expect(pretty.code).toBe(0);
    // The readable form: a time, the level in words, the message; no JSON object per line.
    expect(pretty.out).toMatch(/\d\d:\d\d:\d\d.*INFO.*shutting down/);
    expect(pretty.out).not.toContain('{"level"');

    const json = await onTerminal('json-tty', { RC_LOG_FORMAT: 'json' });
    expect(json.code).toBe(0);
    expect(json.out).toContain('"msg":"shutting down"');
  });

  it('refuses an unknown log format naming the key and the values', async () => {
    const s = serve('bad-format', ['--port', '0'], { RC_LOG_FORMAT: 'xml' });
    const code = await new Promise<number | null>((resolve) => s.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(s.output().stderr).toMatch(/log\.format .*pretty.*json.*RC_LOG_FORMAT/);
  });
});
