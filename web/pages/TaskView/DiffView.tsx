// A file change as added and removed lines (.diff-line from web/app/app.css for the line layout).

import { shortPath } from '../../../sdk/toolSummary.js';
import css from './taskView.module.css';
import type { DiffRow, ToolDiff } from './toolDiff.js';

const SIGN: Record<DiffRow['kind'], string> = { add: '+', del: '-', ctx: ' ', gap: ' ' };
const CLASS: Record<DiffRow['kind'], string> = {
  add: `diff-line ${css.add}`,
  del: `diff-line ${css.del}`,
  ctx: 'diff-line',
  gap: `diff-line ${css.dim}`,
};

export function DiffView({ diff, maxHeight = 360 }: { diff: ToolDiff; maxHeight?: number | string }) {
  let added = 0;
  let removed = 0;
  for (const r of diff.rows) {
    if (r.kind === 'add') added += 1;
    else if (r.kind === 'del') removed += 1;
  }
  const path = shortPath(diff.path);
  return (
    <figure aria-label={`Changes to ${path || 'the file'}`} className={css.diff}>
      <div className={css.diffHead}>
        {path} <span className={css.added}>+{added}</span> <span className={css.removed}>−{removed}</span>
      </div>
      <div className={css.diffBody} style={{ maxHeight }} data-testid="diff">
        {diff.rows.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows are a fixed rendering of one diff.
          <div key={i} className={CLASS[r.kind]}>
            <span className={css.sign}>{SIGN[r.kind]} </span>
            {r.text || ' '}
          </div>
        ))}
        {diff.hidden > 0 && <div className={`diff-line ${css.dim}`}>… {diff.hidden} more lines</div>}
      </div>
    </figure>
  );
}
