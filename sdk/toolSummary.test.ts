import { describe, expect, it } from 'vitest';
import { oneLine, shortPath, toolSubject, toolSummary } from './toolSummary.js';

describe('toolSubject', () => {
  it('names the file, command or pattern a tool call works on', () => {
    expect(toolSubject('Write', { file_path: '/workspace/notes.md', content: '' })).toBe('notes.md');
    expect(toolSubject('NotebookEdit', { notebook_path: '/workspace/a.ipynb' })).toBe('a.ipynb');
    expect(toolSubject('Read', { file_path: '/etc/hosts' })).toBe('/etc/hosts');
    expect(toolSubject('Bash', { command: 'wc -l /workspace/notes.md', description: 'count lines' })).toBe(
      'wc -l /workspace/notes.md',
    );
    expect(toolSubject('Grep', { pattern: 'TODO', path: '/workspace/src' })).toBe('TODO in src');
    expect(toolSubject('Glob', { pattern: '**/*.ts' })).toBe('**/*.ts');
    expect(toolSubject('WebFetch', { url: 'https://example.com', prompt: 'read it' })).toBe(
      'https://example.com',
    );
    expect(toolSubject('Agent', { description: 'Look around', prompt: 'list the files' })).toBe(
      'Look around',
    );
    expect(toolSubject('Skill', { skill: 'dataviz' })).toBe('dataviz');
  });

  it('falls back to the description or the first string argument, else nothing', () => {
    expect(toolSubject('mcp__db__query', { sql: 'select 1' })).toBe('select 1');
    expect(toolSubject('mcp__x', { n: 1, description: 'the thing', q: 'other' })).toBe('the thing');
    expect(toolSubject('Bash', { cmd: 'renamed field' })).toBe('renamed field');
    expect(toolSubject('TodoWrite', { todos: [] })).toBe('');
    expect(toolSubject('Mystery', { a: 1 })).toBe('');
    for (const input of [null, undefined, 'text', 3, ['a']]) expect(toolSubject('Read', input)).toBe('');
  });

  it('keeps whole paths when asked, and cuts to one line of at most `max` characters', () => {
    expect(toolSubject('Write', { file_path: '/workspace/src/a.ts' }, { relative: false })).toBe(
      '/workspace/src/a.ts',
    );
    expect(toolSubject('Bash', { command: 'x'.repeat(300) })).toHaveLength(100);
    expect(toolSubject('Bash', { command: 'x'.repeat(300) }, { max: 20 })).toBe(`${'x'.repeat(19)}…`);
    expect(toolSubject('Bash', { command: '\n  cd src\n  npm test\n' })).toBe('cd src …');
  });
});

describe('toolSummary', () => {
  it('puts the tool before its subject', () => {
    expect(toolSummary('Write', { file_path: '/workspace/src/a.ts' })).toBe('Write src/a.ts');
    expect(toolSummary('Write', { file_path: '/workspace/src/a.ts' }, { relative: false })).toBe(
      'Write /workspace/src/a.ts',
    );
    expect(toolSummary('Bash', { command: 'echo hi', description: 'say hi' })).toBe('Bash: echo hi');
    expect(toolSummary('Grep', { pattern: 'TODO', path: 'src' })).toBe('Grep: TODO in src');
    expect(toolSummary('mcp__db__query', { sql: 'select 1' })).toBe('mcp__db__query: select 1');
    expect(toolSummary('TodoWrite', { todos: [] })).toBe('TodoWrite');
    expect(toolSummary('Bash', { command: 'x'.repeat(300) })).toHaveLength(106);
  });
});

describe('shortPath and oneLine', () => {
  it('drop the workspace prefix and keep the first line', () => {
    expect(shortPath('/workspace/a/b')).toBe('a/b');
    expect(shortPath('/workspaces/a')).toBe('/workspaces/a');
    expect(oneLine('  one  ', 10)).toBe('one');
    expect(oneLine('', 10)).toBe('');
    expect(oneLine('abcdefghijk', 5)).toBe('abcd…');
  });
});
