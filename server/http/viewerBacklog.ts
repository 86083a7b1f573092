// A live viewer's backlog: what the server has written to its connection and the viewer has not
// yet taken. The task event routes bound it (MAX_VIEWER_BACKLOG_BYTES, sdk/limits.ts): while a
// history is replayed they wait for the viewer to take each page before reading the next, and
// once live they cut off a viewer that falls further behind than the bound.
import type { Writable } from 'node:stream';

/** How long a viewer may take to take in a history page (or its last bytes) before it is cut off. */
export const VIEWER_STALL_MS = 30_000;

/**
 * Resolves true once `stream` has at most `bytes` unsent, false when it has not got there within
 * `ms` (the viewer stopped reading). Resolves at once when the stream is gone or `signal` aborts.
 */
export function backlogBelow(
  stream: Writable,
  bytes: number,
  signal: AbortSignal,
  ms = VIEWER_STALL_MS,
): Promise<boolean> {
  if (stream.writableLength <= bytes || stream.destroyed || signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = () => {
      if (stream.writableLength <= bytes || stream.destroyed || signal.aborted) done(true);
    };
    const done = (ok: boolean) => {
      clearTimeout(timer);
      stream.off('drain', check);
      stream.off('close', check);
      signal.removeEventListener('abort', check);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    timer.unref();
    stream.on('drain', check);
    stream.on('close', check);
    signal.addEventListener('abort', check, { once: true });
  });
}

/** Destroys an ended response its peer has not read to the end within VIEWER_STALL_MS. */
export function dropIfStalled(res: Writable): void {
  const timer = setTimeout(() => res.destroy(), VIEWER_STALL_MS);
  timer.unref();
  const clear = () => clearTimeout(timer);
  res.once('finish', clear);
  res.once('close', clear);
}
