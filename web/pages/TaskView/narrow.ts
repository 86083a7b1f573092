// Reading fields out of event payloads, which are `unknown` on the wire: Claude Code adds and
// renames fields between versions, so every read checks the type and falls back instead of throwing.

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Text of a tool_result's `content`: a string, or text blocks (other blocks are named). */
export function contentText(v: unknown): string {
  if (typeof v === 'string') return v;
  return arr(v)
    .map((b) => {
      const block = obj(b);
      if (block.type === 'text') return str(block.text) ?? '';
      return `[${str(block.type) ?? 'block'}]`;
    })
    .join('\n');
}

/** A short one-line rendering of any value, for compact rows. */
export function preview(v: unknown, max = 160): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  s = (s ?? '').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
