// What a file-changing tool call does, as diff lines: Edit is old_string → new_string, MultiEdit
// each of its edits, Write the whole content as added lines. Inputs are Claude Code's tool inputs
// (see conversation.test.ts for real ones).
import { diffLines } from 'diff';
import { arr, obj, str } from './narrow.js';

export interface DiffRow {
  kind: 'add' | 'del' | 'ctx' | 'gap';
  text: string;
}

export interface ToolDiff {
  path: string;
  rows: DiffRow[];
  /** Rows left out to keep a huge change cheap to show. */
  hidden: number;
}

/** Rows shown at most; a Write of a large file is summarised after this many. */
export const MAX_DIFF_ROWS = 400;

export const FILE_TOOLS = new Set(['Edit', 'Write', 'MultiEdit']);

/** The diff of a file tool's input, or null for other tools and inputs that do not fit. */
export function toolDiff(name: string, input: unknown): ToolDiff | null {
  const i = obj(input);
  const path = str(i.file_path) ?? str(i.path) ?? '';
  let rows: DiffRow[];
  if (name === 'Write') {
    const content = str(i.content);
    if (content === null) return null;
    rows = splitLines(content).map((text) => ({ kind: 'add', text }));
  } else if (name === 'Edit') {
    const before = str(i.old_string);
    const after = str(i.new_string);
    if (before === null || after === null) return null;
    rows = editRows(before, after);
  } else if (name === 'MultiEdit') {
    const edits = arr(i.edits).map(obj);
    if (edits.length === 0) return null;
    rows = edits.flatMap((e, n) => [
      ...(n > 0 ? [{ kind: 'gap', text: '⋯' } as DiffRow] : []),
      ...editRows(str(e.old_string) ?? '', str(e.new_string) ?? ''),
    ]);
  } else {
    return null;
  }
  const hidden = Math.max(0, rows.length - MAX_DIFF_ROWS);
  return { path, rows: hidden ? rows.slice(0, MAX_DIFF_ROWS) : rows, hidden };
}

function editRows(before: string, after: string): DiffRow[] {
  // Snippets rarely end in a newline; without one, diffLines would report the last line of each
  // side as changed even when only an earlier line differs.
  const nl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  return diffLines(nl(before), nl(after)).flatMap((c) =>
    splitLines(c.value).map((text): DiffRow => ({ kind: c.added ? 'add' : c.removed ? 'del' : 'ctx', text })),
  );
}

/** Lines of a text, without the empty one after a final newline. */
function splitLines(s: string): string[] {
  const lines = s.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
