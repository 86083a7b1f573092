import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from './configReference.js';

describe('docs/configuration.md', () => {
  it('matches the config schema (run `npm run docs:config` after changing the schema)', () => {
    const onDisk = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(configReference());
  });

  it('lists every key with a description', () => {
    const lines = configReference()
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    expect(lines.length).toBeGreaterThan(50);
    for (const line of lines) expect(line.split('|')[4]?.trim(), line).not.toBe('');
  });
});
