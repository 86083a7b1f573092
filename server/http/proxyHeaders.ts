// What the egress proxy and the model gateway share when they relay HTTP: which headers describe
// one hop rather than the message (RFC 9110 §7.6.1), and how to name a socket error.

/** Hop-by-hop headers, plus `Host` (rewritten for the upstream) and `Expect` (already answered). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
]);

/** Raw header pairs without those in `dropped` and those the Connection header lists. */
export function endToEndHeaders(raw: string[], dropped: ReadonlySet<string> = HOP_BY_HOP): string[] {
  const listed = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]?.split(',') ?? []) listed.add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (!dropped.has(lower) && !listed.has(lower)) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** `ECONNREFUSED` and the like, else the message. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}
