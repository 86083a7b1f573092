// Refusals of unauthenticated callers (an agent with a wrong token, a forged replica request) are
// audited, but a caller that repeats one thousands of times a second must not turn each into a
// row: per kind and source address, the first LIMIT in a window are written, the rest are counted,
// and the count goes into the detail of the first row written after the window.
//
// Per process, on purpose: each replica bounds the rows it writes itself, which is what keeps a
// flood through any one of them from filling the database; sharing the counts would cost a write
// per refusal, the very thing this avoids.
import type { Clock } from '../clock.js';

const LIMIT = 20;
const WINDOW_MS = 60_000;
/** Sources remembered at most; the oldest is forgotten first (its count with it). */
const MAX_KEYS = 10_000;

interface Window {
  startedAt: number;
  written: number;
  suppressed: number;
}

export class RefusalLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly clock: Clock) {}

  /**
   * Whether to write the audit row of this refusal; when yes, `suppressed` is how many of the
   * same key were left out since the last row written.
   */
  admit(kind: string, source: string | undefined): { write: false } | { write: true; suppressed: number } {
    const key = `${kind} ${source ?? '-'}`;
    const now = this.clock.now().getTime();
    let w = this.windows.get(key);
    if (w && now - w.startedAt >= WINDOW_MS) {
      const suppressed = w.suppressed;
      w = { startedAt: now, written: 1, suppressed: 0 };
      this.remember(key, w);
      return { write: true, suppressed };
    }
    if (!w) {
      w = { startedAt: now, written: 0, suppressed: 0 };
      this.remember(key, w);
    }
    if (w.written >= LIMIT) {
      w.suppressed += 1;
      return { write: false };
    }
    w.written += 1;
    return { write: true, suppressed: 0 };
  }

  private remember(key: string, w: Window): void {
    this.windows.delete(key);
    this.windows.set(key, w);
    if (this.windows.size > MAX_KEYS) this.windows.delete(this.windows.keys().next().value as string);
  }
}

export const REFUSAL_AUDIT_LIMIT = LIMIT;
export const REFUSAL_AUDIT_WINDOW_MS = WINDOW_MS;
