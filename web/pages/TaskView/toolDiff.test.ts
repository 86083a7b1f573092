// Diffs and one-line summaries of tool calls, on the inputs Claude Code sent in the fixtures.
import { describe, expect, it } from 'vitest';
import { MAX_DIFF_ROWS, toolDiff } from './toolDiff.js';

describe('toolDiff', () => {
  it('shows a Write as its content added', () => {
    const d = toolDiff('Write', { file_path: '/workspace/notes.md', content: '# Notes\n\nfirst line\n' });
    expect(d).toEqual({
      path: '/workspace/notes.md',
      hidden: 0,
      rows: [
        { kind: 'add', text: '# Notes' },
        { kind: 'add', text: '' },
        { kind: 'add', text: 'first line' },
      ],
    });
  });

  it('shows an Edit as old_string removed and new_string added, sharing unchanged lines', () => {
    expect(
      toolDiff('Edit', { file_path: '/a', old_string: 'first line', new_string: 'edited line' })?.rows,
    ).toEqual([
      { kind: 'del', text: 'first line' },
      { kind: 'add', text: 'edited line' },
    ]);
    expect(toolDiff('Edit', { file_path: '/a', old_string: 'a\nb\nc', new_string: 'a\nB\nc' })?.rows).toEqual(
      [
        { kind: 'ctx', text: 'a' },
        { kind: 'del', text: 'b' },
        { kind: 'add', text: 'B' },
        { kind: 'ctx', text: 'c' },
      ],
    );
  });

  it('shows each edit of a MultiEdit, with a gap between them', () => {
    const d = toolDiff('MultiEdit', {
      file_path: '/a',
      edits: [
        { old_string: 'x', new_string: 'y' },
        { old_string: 'p', new_string: 'q' },
      ],
    });
    expect(d?.rows.map((r) => r.kind)).toEqual(['del', 'add', 'gap', 'del', 'add']);
  });

  it('leaves other tools and inputs that do not fit alone, and cuts huge writes short', () => {
    expect(toolDiff('Bash', { command: 'ls' })).toBeNull();
    expect(toolDiff('Edit', { file_path: '/a' })).toBeNull();
    expect(toolDiff('Write', 'not an object')).toBeNull();
    const big = toolDiff('Write', { file_path: '/a', content: 'x\n'.repeat(MAX_DIFF_ROWS + 50) });
    expect(big?.rows).toHaveLength(MAX_DIFF_ROWS);
    expect(big?.hidden).toBe(50);
  });
});
