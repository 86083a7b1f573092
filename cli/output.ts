/** Print rows as an aligned plain-text table (no colour, so it pipes cleanly). */
export function table<T>(
  rows: T[],
  columns: [header: string, value: (row: T) => string | number | null | undefined][],
): string {
  const cells = rows.map((r) => columns.map(([, get]) => String(get(r) ?? '-')));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns.map(([h]) => h.toUpperCase())), ...cells.map(line)].join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** "2026-01-01T10:00:00.000Z" → "2026-01-01 10:00". */
export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '-';
}
