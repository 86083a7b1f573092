// Content hashes of the workspace image's inputs, remembered across runs: hashing the node and
// claude binaries (500 MB together) takes about two seconds, too slow for a cache check that should
// take well under one. A remembered digest is reused only while the file's device, inode, size and mtime are
// unchanged (as make decides); ctime is left out because hard-linking the file into a build context
// (workspaceImage.ts) changes it without changing the content.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const MEMO_NAME = 'digests.json';
/** Smaller files are hashed every time; remembering them would cost more than it saves. */
const MEMO_MIN_BYTES = 8 * 1024 * 1024;

interface MemoEntry {
  key: string;
  sha256: string;
}

/** Hex sha256 of a file's content; large files' digests are remembered in `memoDir`. */
export async function fileDigest(path: string, memoDir: string): Promise<string> {
  const st = await stat(path);
  if (st.size < MEMO_MIN_BYTES) return hashFile(path);
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const memoFile = join(memoDir, MEMO_NAME);
  const memo = await readMemo(memoFile);
  const known = memo[path];
  if (known?.key === key) return known.sha256;
  const sha256 = await hashFile(path);
  // Written aside and renamed, so a concurrent reader sees the old or the new file, never half of
  // one; a concurrent writer may drop this entry, which only costs a rehash next time.
  memo[path] = { key, sha256 };
  await mkdir(memoDir, { recursive: true });
  const partial = `${memoFile}.${process.pid}`;
  await writeFile(partial, JSON.stringify(memo));
  await rename(partial, memoFile);
  return sha256;
}

/** Regular files under `dir`, recursively, as absolute paths in a stable order. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function readMemo(file: string): Promise<Record<string, MemoEntry>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, MemoEntry>;
  } catch {
    return {};
  }
}
