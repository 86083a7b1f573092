// The files API and terminals of a real workspace (local driver, real agent, real node-pty).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiError } from '../../sdk/client/apiError.js';
import { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import { openTerminal } from '../support/terminalClient.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

describe('files and terminals (local driver)', () => {
  let k: WorkspaceKit;
  let id: string;
  let base: string;
  beforeAll(async () => {
    k = await startWorkspaceKit({
      flags: { 'workspaces.fileSizeLimit': '8M', 'workspaces.terminalIdleTimeout': 1 },
    });
    id = (await k.create(k.repo('app'))).id;
    expect((await k.settle(id)).status).toBe('running');
    base = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await k?.close();
  });

  const req = (method: string, path: string, init: RequestInit = {}) =>
    fetch(`${base}/api/v1/workspaces/${id}/files/${path}`, {
      method,
      ...init,
      headers: { authorization: k.auth, ...(init.headers as Record<string, string>) },
    });

  it('lists, writes, reads, renames and deletes', async () => {
    const root = (await (await req('GET', '')).json()) as { entries: { name: string }[] };
    expect(root.entries.map((e: { name: string }) => e.name).sort()).toEqual(['.git', 'README.md', 'src']);
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    const put = await req('PUT', 'out/big.bin', {
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ path: 'out/big.bin', size: big.length });
    const got = Buffer.from(await (await req('GET', 'out/big.bin')).arrayBuffer());
    expect(got.equals(big)).toBe(true);
    const mv = await req('POST', 'out/big.bin', {
      body: JSON.stringify({ op: 'rename', to: 'out/moved.bin' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(mv.status).toBe(204);
    expect((await req('GET', 'out/big.bin')).status).toBe(404);
    expect((await req('DELETE', 'out')).status).toBe(409);
    expect((await req('DELETE', 'out?recursive=true')).status).toBe(204);
    expect((await req('GET', 'out')).status).toBe(404);
  });

  it('saves with If-Match: an ETag from each read and write, 412 when stale, 400 when malformed', async () => {
    const first = await req('PUT', 'etag/a.txt', { body: 'one\n' });
    const written = first.headers.get('etag');
    expect(written).toMatch(/^W\/"\d+-\d+-\d+"$/);
    const read = await req('GET', 'etag/a.txt');
    expect(read.headers.get('etag')).toBe(written);
    await read.text();

    const saved = await req('PUT', 'etag/a.txt', { body: 'two\n', headers: { 'if-match': written ?? '' } });
    expect(saved.status).toBe(200);
    const current = saved.headers.get('etag');
    expect(current).toMatch(/^W\//);
    expect(current).not.toBe(written);
    expect((await req('GET', 'etag/a.txt')).headers.get('etag')).toBe(current);

    // Someone else saves, without If-Match (as before ETags), bytes of the same size.
    expect((await req('PUT', 'etag/a.txt', { body: 'six\n' })).status).toBe(200);
    const stale = await req('PUT', 'etag/a.txt', { body: 'mine\n', headers: { 'if-match': current ?? '' } });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({
      error: { code: 'precondition_failed', message: expect.stringContaining('changed since you opened it') },
    });
    expect(await (await req('GET', 'etag/a.txt')).text()).toBe('six\n');

    // A list holding the current ETag matches, and so does its strong form (weak comparison).
    const now = (await req('GET', 'etag/a.txt')).headers.get('etag') ?? '';
    const listed = await req('PUT', 'etag/a.txt', {
      body: 'seven\n',
      headers: { 'if-match': `"nope", ${now.replace(/^W\//, '')}` },
    });
    expect(listed.status).toBe(200);
    // `*` asks only that the file exist; a file (or directory) that does not gets 412, and nothing.
    expect((await req('PUT', 'etag/a.txt', { body: 'x\n', headers: { 'if-match': '*' } })).status).toBe(200);
    expect((await req('PUT', 'etag/new.txt', { body: 'x', headers: { 'if-match': '*' } })).status).toBe(412);
    expect((await req('GET', 'etag/new.txt')).status).toBe(404);
    expect((await req('PUT', 'etag/sub/b.txt', { body: 'x', headers: { 'if-match': now } })).status).toBe(
      412,
    );
    expect((await req('GET', 'etag/sub')).status).toBe(404);

    for (const bad of ['abc', 'W/abc', '"a" "b"', '*, "a"', `"${'x'.repeat(300)}"`]) {
      const res = await req('PUT', 'etag/a.txt', { body: 'bad\n', headers: { 'if-match': bad } });
      const body = (await res.json()) as { error: { code: string; fields: { path: string }[] } };
      expect(res.status, bad).toBe(400);
      expect(body.error.fields.map((f) => f.path)).toEqual(['headers.if-match']);
    }
    expect(await (await req('GET', 'etag/a.txt')).text()).toBe('x\n');
  });

  it('the typed client passes the ETag through and refuses a stale save with ApiError 412', async () => {
    const api = new NodeApiClient({ baseUrl: base, headers: { authorization: k.auth } });
    const { etag } = await api.files.write(id, 'etag/client.txt', 'v1');
    const opened = await api.files.readText(id, 'etag/client.txt');
    expect(opened).toEqual({ text: 'v1', etag });
    const mine = await api.files.write(id, 'etag/client.txt', 'v2', { ifMatch: opened.etag });
    expect(mine.etag).toMatch(/^W\//);
    await api.writeFile(id, 'etag/client.txt', 'v3');
    const refused = await api.files
      .write(id, 'etag/client.txt', 'v4', { ifMatch: mine.etag })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 412, code: 'precondition_failed' });
    expect((await api.files.readText(id, 'etag/client.txt')).text).toBe('v3');
  });

  it('uploads multipart files and downloads a directory as tar.gz', async () => {
    const form = new FormData();
    form.append('a', new Blob(['alpha\n']), 'a.txt');
    form.append('b', new Blob(['beta\n']), 'b.txt');
    const up = await req('POST', 'up', { body: form });
    expect(up.status).toBe(200);
    expect(((await up.json()) as { items: unknown }).items).toEqual([
      { path: 'up/a.txt', size: 6 },
      { path: 'up/b.txt', size: 5 },
    ]);
    const tgz = Buffer.from(await (await req('GET', 'up?download=true')).arrayBuffer());
    const dir = mkdtempSync('/tmp/rc-tgz-');
    writeFileSync(join(dir, 'x.tgz'), tgz);
    const names = execFileSync('tar', ['-tzf', join(dir, 'x.tgz')], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(names).toEqual(expect.arrayContaining(['up/a.txt', 'up/b.txt']));
  });

  it('refuses traversal, absolute paths, NUL and symlinks that lead out with 400', async () => {
    await k.exec(id, ['ln', '-s', '/etc', '/workspace/etc-link']);
    await k.exec(id, ['ln', '-s', '/etc/passwd', '/workspace/passwd-link']);
    for (const path of [
      '..%2F..%2Fetc%2Fpasswd',
      'a/..%2F..%2Fx',
      '%2Fetc%2Fpasswd',
      'a%00b',
      'etc-link/',
      'passwd-link',
      'etc-link/passwd',
    ]) {
      const res = await req('GET', path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBeTruthy();
    }
    const put = await req('PUT', 'etc-link/evil', { body: 'x' });
    expect(put.status).toBe(400);
  });

  it('enforces the file size limit on write and upload', async () => {
    const tooBig = Buffer.alloc(8 * 1024 * 1024 + 1);
    expect((await req('PUT', 'huge.bin', { body: tooBig })).status).toBe(413);
    const form = new FormData();
    form.append('f', new Blob([tooBig]), 'huge.bin');
    expect((await req('POST', '', { body: form })).status).toBe(413);
    expect((await req('GET', 'huge.bin')).status).toBe(404);
  });

  it('malformed multipart uploads → 400 malformed_upload, never a 500', async () => {
    const part = (name: string) =>
      `--xyz\r\nContent-Disposition: form-data; name="f"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`;
    const cases: [string, string, string][] = [
      ['no parts at all', 'multipart/form-data; boundary=xyz', 'this is not multipart at all'],
      [
        'a malformed part header',
        'multipart/form-data; boundary=xyz',
        '--xyz\r\nno header here\r\n\r\nx\r\n--xyz--\r\n',
      ],
      ['a part cut short', 'multipart/form-data; boundary=xyz', `${part('cut.txt')}partial data, no end`],
      ['an empty boundary', 'multipart/form-data; boundary=', `${part('e.txt')}x\r\n--xyz--\r\n`],
      [
        'a boundary that never comes',
        'multipart/form-data; boundary=abc',
        `${part('n.txt')}x\r\n--xyz--\r\n`,
      ],
    ];
    for (const [name, type, body] of cases) {
      const res = await req('POST', 'mp', { body, headers: { 'content-type': type } });
      const text = await res.text();
      expect(res.status, `${name}: ${text}`).toBe(400);
      expect(JSON.parse(text), name).toMatchObject({ error: { code: 'malformed_upload' } });
    }
    expect((await req('GET', 'mp/cut.txt')).status).toBe(404);
    expect((await req('GET', '')).status).toBe(200);
  });

  it('a terminal echoes, keeps its screen for a reattach, and serves several viewers', async () => {
    const url = `${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals?cols=100&rows=30`;
    const a = await openTerminal(url, k.auth);
    expect(a.ready).toMatchObject({ type: 'ready', cols: 100, rows: 30 });
    a.ws.send(Buffer.from('echo hi-$((40+2))\r'));
    await a.waitFor(/hi-42/);
    a.ws.close();
    const b = await openTerminal(
      `${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals?terminalId=${a.ready.terminalId}`,
      k.auth,
    );
    await b.waitFor(/hi-42/); // redrawn from the buffer
    const c = await openTerminal(
      `${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals?terminalId=${a.ready.terminalId}`,
      k.auth,
    );
    b.ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    b.ws.send(Buffer.from('stty size\r'));
    await b.waitFor(/40 120/);
    await c.waitFor(/40 120/);
    b.ws.send(JSON.stringify({ type: 'resize', cols: 100000, rows: 1 }));
    await b.waitFor(/bad_message/);
    b.ws.send(Buffer.from('exit\r'));
    await c.waitFor(/"type":"exit"/);
  });

  it('a terminal nobody watches or types into is closed after the idle timeout', async () => {
    const a = await openTerminal(`${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals`, k.auth);
    const terminalId = a.ready.terminalId;
    a.ws.close();
    const list = async () =>
      (
        (await (
          await fetch(`${base}/api/v1/workspaces/${id}/terminals`, { headers: { authorization: k.auth } })
        ).json()) as {
          items: { id: string }[];
        }
      ).items.map((t) => t.id);
    expect(await list()).toContain(terminalId);
    // Idleness is measured on the app's clock; a second of it (the idle timeout, and the sweep
    // period) passes at each look, since the viewer's close may reach the server after the first.
    const deadline = Date.now() + 10_000;
    while ((await list()).includes(terminalId) && Date.now() < deadline) {
      k.t.clock.advance(1000);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await list()).not.toContain(terminalId);
  });

  it('watches files over a WebSocket', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/workspaces/${id}/watch?path=src`, {
      headers: { authorization: k.auth },
    });
    const messages: { type: string; changes?: { path: string }[] }[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    const deadline = Date.now() + 10_000;
    while (!messages.some((m) => m.type === 'ready') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await req('PUT', 'src/watched.txt', { body: 'x' });
    while (
      !messages.some((m) => m.changes?.some((c) => c.path === 'src/watched.txt')) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ws.close();
    expect(messages.flatMap((m) => m.changes ?? []).map((c) => c.path)).toContain('src/watched.txt');
  });

  it('refuses absurd terminal sizes and strangers before the upgrade', async () => {
    const wsBase = `${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals`;
    expect(await upgradeStatus(`${wsBase}?cols=0&rows=24`, k.auth)).toBe(400);
    expect(await upgradeStatus(`${wsBase}?cols=80&rows=99999`, k.auth)).toBe(400);
    expect(await upgradeStatus(wsBase, 'Bearer nope')).toBe(401);
    // Another member learns nothing about this workspace's terminals, open or not.
    const stranger = await k.t.bearer(await k.t.user('member'));
    const open = await openTerminal(wsBase, k.auth);
    expect(await upgradeStatus(`${wsBase}?terminalId=${open.ready.terminalId}`, stranger)).toBe(404);
    expect(await upgradeStatus(`${wsBase}?terminalId=nope`, stranger)).toBe(404);
    open.ws.send(JSON.stringify({ type: 'close' }));
    await open.waitFor(/"type":"exit"/);
  });

  it('a signed-out session closes its terminal and watch with 4401; another credential’s stay open', async () => {
    const wsBase = base.replace('http', 'ws');
    const session = await k.t.login(k.owner);
    const closes = (ws: WebSocket) =>
      new Promise<{ code: number; reason: string }>((resolve) =>
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
      );
    const term = new WebSocket(`${wsBase}/api/v1/workspaces/${id}/terminals?cols=80&rows=24`, {
      headers: { cookie: session.cookie },
    });
    const watch = new WebSocket(`${wsBase}/api/v1/workspaces/${id}/watch`, {
      headers: { cookie: session.cookie },
    });
    const closed = [closes(term), closes(watch)];
    const ready = (ws: WebSocket) =>
      new Promise<void>((resolve) => ws.on('message', (_d, binary) => !binary && resolve()));
    await Promise.all([ready(term), ready(watch)]);
    const kept = await openTerminal(`${wsBase}/api/v1/workspaces/${id}/terminals?cols=80&rows=24`, k.auth);

    const out = await k.t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    });
    expect(out.statusCode).toBe(204);
    const within = Promise.race([
      Promise.all(closed),
      new Promise((r) => setTimeout(() => r('still open'), 1_000)),
    ]);
    expect(await within).toEqual([
      { code: 4401, reason: 'signed out' },
      { code: 4401, reason: 'signed out' },
    ]);
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    kept.ws.send(JSON.stringify({ type: 'close' }));
    await kept.waitFor(/"type":"exit"/);
  });

  it('attaching to an unknown or closed terminal upgrades, then closes with 4404 and a reason', async () => {
    const wsBase = `${base.replace('http', 'ws')}/api/v1/workspaces/${id}/terminals`;
    expect(await closeOf(`${wsBase}?terminalId=nope`, k.auth)).toEqual({
      code: 4404,
      reason: 'terminal not found or closed',
    });
    const a = await openTerminal(wsBase, k.auth);
    a.ws.send(JSON.stringify({ type: 'close' }));
    await a.waitFor(/"type":"exit"/);
    expect(await closeOf(`${wsBase}?terminalId=${a.ready.terminalId}`, k.auth)).toEqual({
      code: 4404,
      reason: 'terminal not found or closed',
    });
  });
});

function upgradeStatus(url: string, auth: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: auth } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  });
}

/** How a socket that the server upgrades ends, without it having said "ready". */
function closeOf(url: string, auth: string): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: auth } });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    ws.on('message', (d) => reject(new Error(`unexpected message ${d.toString()}`)));
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    ws.on('error', () => {});
  });
}
