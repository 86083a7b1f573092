import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC_INVALID_PARAMS } from '../sdk/agentProtocol.js';
import type { RpcError } from '../sdk/rpcPeer.js';
import { buildAgent, readAll, TestAgent, type TestConnection } from './agentHarness.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let agent: TestAgent;
let conn: TestConnection;
let ws: string;

beforeAll(async () => {
  bundle = await buildAgent();
  agent = await TestAgent.start({ entry: bundle.entry });
  conn = await agent.controlPlane.connection();
  ws = agent.workspace;
});
afterAll(async () => {
  await agent?.stop();
  await bundle?.remove();
});

/** The reason an agent request failed with. */
async function reason(promise: Promise<unknown>): Promise<string | number | undefined> {
  const err = (await promise.then(
    () => undefined,
    (e: RpcError) => e,
  )) as RpcError | undefined;
  if (!err) throw new Error('expected the request to fail');
  return err.reason ?? err.code;
}

const request = <T = Record<string, unknown>>(method: string, params: unknown) =>
  conn.peer.request<T>(method, params);

describe('files', () => {
  it('lists a directory, showing symlinks without following them', async () => {
    await mkdir(path.join(ws, 'list/sub'), { recursive: true });
    await writeFile(path.join(ws, 'list/a.txt'), 'hello');
    await symlink('/etc', path.join(ws, 'list/etc-link'));
    const { entries } = await request<{ entries: { name: string; type: string; size: number }[] }>(
      'files.list',
      {
        path: 'list',
      },
    );
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['a.txt', 'file'],
      ['etc-link', 'symlink'],
      ['sub', 'dir'],
    ]);
    expect(entries[0]?.size).toBe(5);
    expect(await reason(request('files.list', { path: 'list/a.txt' }))).toBe('not_a_directory');
    expect(await reason(request('files.list', { path: 'missing' }))).toBe('not_found');
  });

  it('stats files, directories and the workspace itself', async () => {
    await writeFile(path.join(ws, 'stat.txt'), 'abc');
    expect(await request('files.stat', { path: 'stat.txt' })).toMatchObject({
      name: 'stat.txt',
      type: 'file',
      size: 3,
    });
    expect(await request('files.stat', { path: '' })).toMatchObject({ type: 'dir' });
    expect(await reason(request('files.stat', { path: 'nope' }))).toBe('not_found');
  });

  it('refuses paths that leave the workspace', async () => {
    await symlink('/etc', path.join(ws, 'etc'));
    await symlink('/etc/passwd', path.join(ws, 'passwd'));
    expect(await reason(request('files.list', { path: '../' }))).toBe(RPC_INVALID_PARAMS);
    expect(await reason(request('files.stat', { path: 'a/../../x' }))).toBe(RPC_INVALID_PARAMS);
    expect(await reason(request('files.list', { path: '/etc' }))).toBe(RPC_INVALID_PARAMS);
    expect(await reason(request('files.list', { path: 'etc' }))).toBe('outside_workspace');
    expect(await reason(conn.readFile('passwd'))).toBe('outside_workspace');
    expect(await reason(conn.readFile('etc/hostname'))).toBe('outside_workspace');
    expect(await reason(conn.writeFile('etc/evil', Buffer.from('x')))).toBe('outside_workspace');
    expect(await reason(conn.writeFile('passwd', Buffer.from('x')))).toBe('outside_workspace');
    expect(await reason(request('files.mkdir', { path: 'etc/newdir/deeper' }))).toBe('outside_workspace');
    expect(await reason(request('files.delete', { path: 'etc/hostname' }))).toBe('outside_workspace');
    expect(await reason(request('files.rename', { from: 'stat.txt', to: 'etc/x' }))).toBe(
      'outside_workspace',
    );
    const archive = conn.peer.openChannel();
    readAll(archive).catch(() => {});
    expect(await reason(request('files.archive', { path: 'etc', channel: archive.id }))).toBe(
      'outside_workspace',
    );
    // Deleting the link itself is fine: it removes the link, not /etc.
    await request('files.delete', { path: 'passwd' });
    expect((await readFile('/etc/passwd')).length).toBeGreaterThan(0);
  });

  it('writes a 5 MiB file and reads back the same bytes', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    expect(await conn.writeFile('big/dir/data.bin', data)).toEqual({
      size: data.length,
      etag: expect.stringMatching(/^W\//),
    });
    expect((await readFile(path.join(ws, 'big/dir/data.bin'))).equals(data)).toBe(true);
    const read = await conn.readFile('big/dir/data.bin');
    expect(read.size).toBe(data.length);
    expect(read.bytes.equals(data)).toBe(true);
    // No temp files left behind.
    expect(await readdir(path.join(ws, 'big/dir'))).toEqual(['data.bin']);
  });

  it('writes empty files and replaces existing ones, keeping their mode', async () => {
    await writeFile(path.join(ws, 'script.sh'), 'old', { mode: 0o755 });
    await conn.writeFile('script.sh', Buffer.from('#!/bin/sh\necho new\n'));
    expect(await readFile(path.join(ws, 'script.sh'), 'utf8')).toContain('new');
    expect(await request('files.stat', { path: 'script.sh' })).toMatchObject({ mode: 0o755 });
    expect(await conn.writeFile('empty.txt', Buffer.alloc(0))).toMatchObject({ size: 0 });
    expect((await conn.readFile('empty.txt')).bytes.length).toBe(0);
  });

  it('gives ETags that change with every write and edit, and writes with ifMatch only when they match', async () => {
    const { etag: first } = await conn.writeFile('tag.txt', Buffer.from('one'));
    expect((await conn.readFile('tag.txt')).etag).toBe(first);
    const { etag: second } = await conn.writeFile('tag.txt', Buffer.from('two'), undefined, [first ?? '']);
    expect(second).not.toBe(first);
    expect(await reason(conn.writeFile('tag.txt', Buffer.from('old'), undefined, [first ?? '']))).toBe(
      'precondition_failed',
    );
    expect(await readFile(path.join(ws, 'tag.txt'), 'utf8')).toBe('two');
    expect((await readdir(ws)).filter((n) => n.includes('.rc-'))).toEqual([]);
    // An edit in place by a program in the workspace keeps the inode; the size or mtime tell.
    await writeFile(path.join(ws, 'tag.txt'), 'six');
    await utimes(path.join(ws, 'tag.txt'), 1_000_000, 1_000_000);
    const edited = (await conn.readFile('tag.txt')).etag;
    expect(edited).not.toBe(second);
    expect(await reason(conn.writeFile('tag.txt', Buffer.from('x'), undefined, [second ?? '']))).toBe(
      'precondition_failed',
    );
    // Through a symlink that stays inside, the ETag is the target's, as for a read.
    await symlink('tag.txt', path.join(ws, 'tag-link'));
    expect((await conn.readFile('tag-link')).etag).toBe(edited);
    await conn.writeFile('tag-link', Buffer.from('via link'), undefined, [edited ?? '']);
    expect(await readFile(path.join(ws, 'tag.txt'), 'utf8')).toBe('via link');
    expect(await reason(conn.writeFile('no-such.txt', Buffer.from('x'), undefined, '*'))).toBe(
      'precondition_failed',
    );
    expect(await reason(conn.writeFile('no/dir.txt', Buffer.from('x'), undefined, '*'))).toBe(
      'precondition_failed',
    );
    expect(await readdir(ws)).not.toContain('no');
  });

  it('refuses too large writes and reads', async () => {
    expect(await reason(conn.writeFile('huge.bin', Buffer.alloc(300_000), 100_000))).toBe('too_large');
    expect(await readdir(ws)).not.toContain('huge.bin');
    expect((await readdir(ws)).filter((n) => n.includes('.rc-'))).toEqual([]);
    await writeFile(path.join(ws, 'medium.bin'), Buffer.alloc(2000));
    expect(await reason(conn.readFile('medium.bin', 1999))).toBe('too_large');
    expect((await conn.readFile('medium.bin', 2000)).size).toBe(2000);
  });

  it('refuses to read or overwrite a directory', async () => {
    await mkdir(path.join(ws, 'adir'));
    expect(await reason(conn.readFile('adir'))).toBe('is_a_directory');
    expect(await reason(conn.writeFile('adir', Buffer.from('x')))).toBe('is_a_directory');
  });

  it('writes without creating parents only when asked to', async () => {
    const ch = conn.peer.openChannel();
    const answer = request('files.write', {
      path: 'noparent/x.txt',
      channel: ch.id,
      maxBytes: 10,
      createParents: false,
    });
    ch.end(Buffer.from('x'));
    expect(await reason(answer)).toBe('not_found');
  });

  it('makes directories, renames and deletes', async () => {
    await request('files.mkdir', { path: 'm/n/o' });
    await request('files.mkdir', { path: 'm/n/o' }); // idempotent
    await writeFile(path.join(ws, 'm/n/o/f.txt'), 'f');
    await writeFile(path.join(ws, 'm/g.txt'), 'g');
    expect(await reason(request('files.rename', { from: 'm/g.txt', to: 'm/n/o/f.txt' }))).toBe('exists');
    await request('files.rename', { from: 'm/g.txt', to: 'm/n/o/f.txt', overwrite: true });
    expect(await readFile(path.join(ws, 'm/n/o/f.txt'), 'utf8')).toBe('g');
    await request('files.rename', { from: 'm/n', to: 'm/renamed' });
    expect(await reason(request('files.rename', { from: 'm/gone', to: 'm/x' }))).toBe('not_found');
    expect(await reason(request('files.delete', { path: 'm/renamed' }))).toBe('exists');
    await request('files.delete', { path: 'm/renamed', recursive: true });
    await request('files.delete', { path: 'm' });
    expect(await readdir(ws)).not.toContain('m');
    expect(await reason(request('files.delete', { path: 'm' }))).toBe('not_found');
    expect(await reason(request('files.delete', { path: '', recursive: true }))).toBe('invalid_path');
    await writeFile(path.join(ws, 'plain'), 'p');
    expect(await reason(request('files.mkdir', { path: 'plain/sub' }))).toBe('not_a_directory');
  });

  it('answers too_large instead of an answer that would not fit in one message', async () => {
    const dir = path.join(ws, 'crowded');
    await mkdir(dir);
    const long = 'n'.repeat(200);
    for (let i = 0; i < 6000; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => writeFile(path.join(dir, `${long}${i + j}`), '')),
      );
    }
    expect(await reason(request('files.list', { path: 'crowded' }))).toBe('too_large');
    // The connection is still up.
    expect(await request('files.stat', { path: 'crowded' })).toMatchObject({ type: 'dir' });
  });

  it('streams a directory as a tar.gz', async () => {
    await mkdir(path.join(ws, 'proj/src'), { recursive: true });
    await writeFile(path.join(ws, 'proj/src/main.ts'), 'export {};\n');
    await writeFile(path.join(ws, 'proj/README.md'), '# hi\n');
    const ch = conn.peer.openChannel();
    const bytes = readAll(ch);
    expect(await request('files.archive', { path: 'proj', channel: ch.id })).toEqual({});
    const archive = path.join(agent.dir, 'proj.tar.gz');
    await writeFile(archive, await bytes);
    const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listing).toEqual(expect.arrayContaining(['proj/', 'proj/src/main.ts', 'proj/README.md']));
  });

  it('reports changes under a watched directory until unwatched', async () => {
    await mkdir(path.join(ws, 'watched/deep'), { recursive: true });
    await request('files.watch', { watchId: 'w1', path: 'watched' });
    await writeFile(path.join(ws, 'watched/deep/new.txt'), 'x');
    const changed = await conn.notification<{ watchId: string; changes: { path: string }[] }>(
      'files.changed',
      (p) => p.changes.some((c) => c.path === 'watched/deep/new.txt'),
    );
    expect(changed.watchId).toBe('w1');
    // An upload shows only under its final name, not as its temp file.
    await conn.writeFile('watched/uploaded.txt', Buffer.from('u'));
    const upload = await conn.notification<{ changes: { path: string }[] }>('files.changed', (p) =>
      p.changes.some((c) => c.path === 'watched/uploaded.txt'),
    );
    expect(upload.changes.some((c) => c.path.includes('.rc-'))).toBe(false);
    await request('files.unwatch', { watchId: 'w1' });
    await request('files.unwatch', { watchId: 'w1' }); // idempotent
    const before = conn.notifications.length;
    await writeFile(path.join(ws, 'watched/after.txt'), 'x');
    // A write after unwatching produces nothing; a fresh watch elsewhere proves the pipe still works.
    await request('files.watch', { watchId: 'w2', path: '' });
    await writeFile(path.join(ws, 'probe.txt'), 'x');
    await conn.notification<{ changes: { path: string }[] }>('files.changed', (p) =>
      p.changes.some((c) => c.path === 'probe.txt'),
    );
    const late = conn.notifications
      .slice(before)
      .filter((n) => (n.params as { watchId: string }).watchId === 'w1');
    expect(late).toEqual([]);
  });
});
