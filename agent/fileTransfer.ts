import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ResultOf } from '../sdk/agentProtocol.js';
import { opError, type PeerChannel, RpcError, type RpcPeer } from '../sdk/rpcPeer.js';
import type { ParamsFor } from './defineHandler.js';
import { ensureMatches, fileGone, handleEtag } from './fileEtag.js';
import { fsError } from './fsError.js';
import { parentOf, type WorkspaceRoot } from './workspaceRoot.js';

/** Upload temp files are named like this; the watcher hides them (see fileWatcher.ts). */
export const UPLOAD_TEMP_PATTERN = /\.rc-[0-9a-f]{12}\.tmp$/;

/** `files.read`: answers with the size, then streams the file on the channel and ends it. */
export async function readToChannel(
  peer: RpcPeer,
  root: WorkspaceRoot,
  { path: rel, channel, maxBytes }: ParamsFor<'files.read'>,
): Promise<ResultOf<'files.read'>> {
  const ch = peer.channel(channel);
  try {
    const real = await root.resolve(rel);
    // Check the type before opening: opening a FIFO would block a thread-pool thread for good.
    const st = await stat(real).catch((err) => Promise.reject(fsError(err, rel)));
    if (st.isDirectory()) throw opError('is_a_directory', `"${rel}" is a directory.`);
    if (!st.isFile()) throw opError('invalid_path', `"${rel}" is not a regular file.`);
    if (st.size > maxBytes) {
      throw opError('too_large', `"${rel}" is ${st.size} bytes, more than the limit of ${maxBytes}.`);
    }
    const file = await open(real, 'r').catch((err) => Promise.reject(fsError(err, rel)));
    // Send exactly the size announced, even if the file grows meanwhile.
    const size = st.size;
    const etag = await handleEtag(file).catch(async (err) => {
      await file.close();
      throw fsError(err, rel);
    });
    afterAnswer(() => {
      if (size === 0) {
        void file.close();
        ch.end();
        return;
      }
      // A failed read destroys the channel (pipeline does), which the reader sees as a failed
      // transfer; there is no one else to tell.
      pipeline(file.createReadStream({ start: 0, end: size - 1 }), ch).catch(() => {});
    });
    return { size, etag };
  } catch (err) {
    failChannelAfterAnswer(ch, err);
    throw err;
  }
}

/**
 * `files.write`: reads the channel into a temp file next to the target, then fsyncs and renames
 * it into place, so readers never see half a file. Answers only once the file is in place.
 */
export async function writeFromChannel(
  peer: RpcPeer,
  root: WorkspaceRoot,
  { path: rel, channel, maxBytes, createParents, ifMatch }: ParamsFor<'files.write'>,
): Promise<ResultOf<'files.write'>> {
  // Take the channel before any await: the server sends the bytes right after the request.
  const ch = peer.channel(channel);
  let temp: string | undefined;
  try {
    // A precondition names an existing file, so its parents exist; creating them would be a write.
    const target = await writeTarget(root, rel, createParents && !ifMatch).catch((err) => {
      throw ifMatch && err instanceof RpcError && err.reason === 'not_found' ? fileGone(rel) : err;
    });
    // Checked before the bytes are read, to refuse at once, and again just before the rename.
    if (ifMatch) await ensureMatches(target, rel, ifMatch);
    const previous = await lstat(target).catch(() => undefined);
    if (previous?.isDirectory()) throw opError('is_a_directory', `"${rel}" is a directory.`);
    const tempName = `.${path.basename(target)}.rc-${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(path.join(path.dirname(target), tempName), 'wx').catch((err) =>
      Promise.reject(fsError(err, rel)),
    );
    temp = path.join(path.dirname(target), tempName);
    let size = 0;
    let etag: string;
    // autoClose off so we can fsync before closing; the stream still holds a reference to the
    // handle until destroyed, and FileHandle.close() waits for that.
    const sink = file.createWriteStream({ autoClose: false });
    try {
      if (previous?.isFile()) await file.chmod(previous.mode & 0o7777);
      const limit = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes)
            done(opError('too_large', `The upload is more than the limit of ${maxBytes} bytes.`));
          else done(null, chunk);
        },
      });
      await pipeline(ch, limit, sink);
      await file.sync();
      // The rename below keeps inode, size and mtime, so this is the ETag of the file in place.
      etag = await handleEtag(file);
    } finally {
      sink.destroy();
      await file.close();
    }
    if (ifMatch) await ensureMatches(target, rel, ifMatch);
    await rename(temp, target).catch((err) => Promise.reject(fsError(err, rel)));
    temp = undefined;
    return { size, etag };
  } catch (err) {
    // Cleanup of our own temporary file on the way to reporting `err`; a leftover is harmless.
    if (temp) await unlink(temp).catch(() => {});
    // pipeline already destroyed the channel when the bytes were the problem; this covers the rest.
    if (!ch.destroyed) ch.destroy(new Error(err instanceof Error ? err.message : String(err)));
    if (err instanceof RpcError) throw err;
    throw opError('internal', `The upload of "${rel}" was interrupted: ${(err as Error).message}`);
  }
}

/** Where a write lands: through a final symlink when it points inside, else the entry itself. */
async function writeTarget(root: WorkspaceRoot, rel: string, createParents: boolean): Promise<string> {
  if (rel === '') throw opError('is_a_directory', 'The workspace directory is a directory.');
  if (createParents) await root.mkdirs(parentOf(rel));
  const entry = await root.entry(rel);
  const st = await lstat(entry).catch(() => undefined);
  return st?.isSymbolicLink() ? root.resolve(rel) : entry;
}

/** `files.archive`: answers once tar runs, then streams `tar -czf` of the path on the channel. */
export async function archiveToChannel(
  peer: RpcPeer,
  root: WorkspaceRoot,
  { path: rel, channel }: ParamsFor<'files.archive'>,
): Promise<ResultOf<'files.archive'>> {
  const ch = peer.channel(channel);
  let real: string;
  try {
    real = await root.resolve(rel);
  } catch (err) {
    failChannelAfterAnswer(ch, err);
    throw err;
  }
  const tar = spawn('tar', ['-czf', '-', '-C', root.dir, '--', root.relative(real) || '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => tar.once('spawn', resolve).once('error', reject));
  } catch (err) {
    failChannelAfterAnswer(ch, err);
    throw opError('spawn_failed', `tar could not be started: ${(err as Error).message}`);
  }
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  ch.once('close', () => tar.kill('SIGKILL'));
  tar.once('close', (code) => {
    // GNU tar exits 1 when a file changed while it was read; the archive is still valid.
    if (code === 0 || code === 1) ch.end();
    else ch.destroy(new Error(`tar failed (exit ${code}): ${stderr.trim()}`));
  });
  // 'close' above cannot fire before this runs: it waits for stdout, which nobody reads yet.
  afterAnswer(() => tar.stdout.pipe(ch, { end: false }));
  return {};
}

/** Runs `fn` after the handler's answer has been sent, so the bytes follow the answer. */
function afterAnswer(fn: () => void): void {
  setImmediate(fn);
}

/** Closes a channel the request named, with the error, once the error answer is on its way. */
function failChannelAfterAnswer(ch: PeerChannel, err: unknown): void {
  afterAnswer(() => ch.destroy(new Error(err instanceof Error ? err.message : String(err))));
}
