// A file's ETag, from its stat: weak, because it is a validator of the file's metadata rather than
// of its bytes. The inode is in it because every write through the agent renames a new file into
// place (fileTransfer.ts), so a save changes the ETag even when size and timestamp (which the
// kernel keeps at clock-tick granularity) come out the same; size and mtime catch edits in place.
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { stat } from 'node:fs/promises';
import type { IfMatch } from '../sdk/agentProtocol.js';
import { opError } from '../sdk/rpcPeer.js';

export function fileEtag(st: BigIntStats): string {
  return `W/"${st.size}-${st.mtimeNs}-${st.ino}"`;
}

export async function handleEtag(file: FileHandle): Promise<string> {
  return fileEtag(await file.stat({ bigint: true }));
}

const opaque = (tag: string) => tag.replace(/^W\//, '');

/**
 * Throws `precondition_failed` unless the regular file at `abs` satisfies `ifMatch`: it exists
 * (`*`), or its ETag is one of the list, compared weakly (RFC 9110 §8.8.3.2: the `W/` prefix is
 * ignored, since every ETag given out here is weak).
 */
export async function ensureMatches(abs: string, rel: string, ifMatch: IfMatch): Promise<void> {
  const st = await stat(abs, { bigint: true }).catch(() => undefined);
  if (!st?.isFile()) throw fileGone(rel);
  if (ifMatch === '*') return;
  const current = opaque(fileEtag(st));
  if (!ifMatch.some((tag) => opaque(tag) === current))
    throw opError(
      'precondition_failed',
      `"${rel}" changed since you opened it (its ETag no longer matches If-Match). Reload it, or save without If-Match to overwrite it.`,
    );
}

/** The precondition failure for a file that is not there (any more). */
export const fileGone = (rel: string) =>
  opError(
    'precondition_failed',
    `"${rel}" no longer exists: it changed since you opened it. Reload it, or save without If-Match to write it anyway.`,
  );
