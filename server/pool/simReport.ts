// The simulator's report: a plain-text table for the terminal and a self-contained HTML page
// (inline SVG charts, no script, no external file) with the pool's size, the queue and the
// utilisation over time, and the distribution of waits. Deterministic: no dates, no randomness.
import type { PoolSimResult } from './poolSim.js';

/** The q-quantile (0–1) of xs, nearest rank; 0 for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface ReportRow {
  label: string;
  result: PoolSimResult;
}

const money = (x: number) => `$${x.toFixed(2)}`;
const secs = (x: number) => `${x.toFixed(0)} s`;

/** One line per run: cost (on-demand and spot), its ratio to the first per-task run, waits, use. */
export function summaryTable(rows: readonly ReportRow[]): string {
  const perTask = rows.find((r) => r.result.policy === 'per-task')?.result;
  const header = [
    'run',
    'cost',
    'cost (spot)',
    '× per-task',
    'p50 wait',
    'p95 wait',
    'max wait',
    'utilisation',
    'nodes (max)',
    'scale actions',
    'quota waits',
    'never started',
  ];
  const lines = rows.map(({ label, result: r }) => [
    label,
    money(r.costOnDemand),
    money(r.costSpot),
    perTask && perTask.costOnDemand > 0 ? (r.costOnDemand / perTask.costOnDemand).toFixed(2) : '-',
    secs(quantile(r.waits, 0.5)),
    secs(quantile(r.waits, 0.95)),
    secs(quantile(r.waits, 1)),
    `${Math.round(r.utilisation * 100)} %`,
    String(r.maxNodes),
    String(r.actions.length),
    String(r.quotaWaits),
    String(r.neverStarted),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  return [fmt(header), ...lines.map(fmt)].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A line chart of `series` (same x) as inline SVG. */
function lineChart(
  title: string,
  xs: number[],
  series: { label: string; ys: number[] }[],
  unit: string,
): string {
  const w = 760;
  const h = 200;
  const pad = 36;
  const maxX = Math.max(1, ...xs);
  const maxY = Math.max(1e-9, ...series.flatMap((s) => s.ys));
  const colours = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];
  const px = (x: number) => (pad + (x / maxX) * (w - 2 * pad)).toFixed(1);
  const py = (y: number) => (h - pad - (y / maxY) * (h - 2 * pad)).toFixed(1);
  const paths = series
    .map(
      (s, i) =>
        `<polyline fill="none" stroke="${colours[i % colours.length]}" stroke-width="1.5" points="${s.ys
          .map((y, j) => `${px(xs[j] as number)},${py(y)}`)
          .join(' ')}"><title>${esc(s.label)}</title></polyline>`,
    )
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<tspan fill="${colours[i % colours.length]}" dx="${i === 0 ? 0 : 16}">■ ${esc(s.label)}</tspan>`,
    )
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img">
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#999"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#999"/>
<text x="${pad}" y="${pad - 8}" font-size="11">${maxY.toFixed(maxY < 10 ? 2 : 0)} ${esc(unit)}</text>
<text x="${w - pad}" y="${h - 10}" font-size="11" text-anchor="end">${(maxX / 86_400_000).toFixed(1)} days</text>
${paths}${series.length > 1 ? `<text x="${w - pad}" y="${pad - 8}" font-size="11" text-anchor="end">${legend}</text>` : ''}</svg></figure>`;
}

/** A histogram of waits (seconds) per run, bucketed on a log scale. */
function waitHistogram(rows: readonly ReportRow[]): string {
  const edges = [0, 10, 30, 60, 120, 300, 600, 1800, Number.POSITIVE_INFINITY];
  const names = ['<10 s', '10–30 s', '30–60 s', '1–2 min', '2–5 min', '5–10 min', '10–30 min', '≥30 min'];
  const cells = rows.map((r) =>
    names.map((_, i) => {
      const n = r.result.waits.filter(
        (x) => x >= (edges[i] as number) && x < (edges[i + 1] as number),
      ).length;
      return r.result.waits.length === 0 ? 0 : n / r.result.waits.length;
    }),
  );
  const head = `<tr><th>wait</th>${rows.map((r) => `<th>${esc(r.label)}</th>`).join('')}</tr>`;
  const body = names
    .map(
      (n, i) =>
        `<tr><td>${n}</td>${cells
          .map((c) => {
            const f = c[i] as number;
            return `<td><span class="bar" style="width:${(f * 120).toFixed(0)}px"></span> ${(f * 100).toFixed(1)} %</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  return `<table class="hist">${head}${body}</table>`;
}

export function htmlReport(o: { title: string; rows: readonly ReportRow[]; notes: string[] }): string {
  const charts: string[] = [];
  for (const { label, result: r } of o.rows) {
    if (r.timeline.length === 0) continue;
    const xs = r.timeline.map((p) => p.atMs);
    charts.push(
      `<h2>${esc(label)}</h2>`,
      lineChart('Pool size (nodes)', xs, [{ label: 'nodes', ys: r.timeline.map((p) => p.nodes) }], 'nodes'),
      lineChart(
        'Queue length (tasks waiting)',
        xs,
        [{ label: 'queued', ys: r.timeline.map((p) => p.queued) }],
        'tasks',
      ),
      lineChart(
        'Utilisation (reserved CPU over the CPU of nodes taking workspaces)',
        xs,
        [{ label: 'utilisation', ys: r.timeline.map((p) => p.utilisation * 100) }],
        '%',
      ),
    );
  }
  const actions = o.rows
    .filter((r) => r.result.actions.length > 0)
    .map(
      ({ label, result: r }) =>
        `<details><summary>${esc(label)}: ${r.actions.length} scale actions</summary><ol>${r.actions
          .slice(0, 500)
          .map(
            (a) =>
              `<li>${(a.atMs / 3_600_000).toFixed(2)} h: ${esc(a.kind)}${a.count ? ` ${a.count}` : ''}${a.node ? ` ${esc(a.node)}` : ''} — ${esc(a.reason)}</li>`,
          )
          .join('')}</ol>${r.actions.length > 500 ? '<p>(the first 500)</p>' : ''}</details>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(o.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:90em}pre{background:#f4f4f5;padding:1em;overflow:auto}
figure{margin:1em 0}figcaption{font-weight:600}.hist td{padding:2px 8px}.bar{display:inline-block;height:10px;background:#2563eb}</style>
</head><body><h1>${esc(o.title)}</h1>
<pre>${esc(summaryTable(o.rows))}</pre>
${o.notes.map((n) => `<p>${esc(n)}</p>`).join('')}
<h2>Waits (arrival to the start of the task's turn)</h2>${waitHistogram(o.rows)}
${charts.join('\n')}
<h2>Scale actions</h2>${actions}
</body></html>
`;
}
