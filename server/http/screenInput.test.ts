import { describe, expect, it } from 'vitest';
import { findProblem, MAX_JSON_DEPTH } from './screenInput.js';

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { k: v } : [v];
  return v;
};

describe('findProblem', () => {
  it(`allows ${MAX_JSON_DEPTH} levels of nesting and refuses one more, naming where`, () => {
    expect(findProblem(nested(MAX_JSON_DEPTH), 'body')).toBeUndefined();
    const found = findProblem(nested(MAX_JSON_DEPTH + 1), 'body');
    expect(found?.rule).toBe(`must not be nested more than ${MAX_JSON_DEPTH} levels deep`);
    expect(found?.path.split('.')).toHaveLength(MAX_JSON_DEPTH + 1);
  });

  it('walks a million levels without recursion', () => {
    expect(findProblem(nested(1_000_000), 'body')?.rule).toMatch(/nested/);
  });

  it('finds the first NUL in document order, in keys and values', () => {
    expect(findProblem({ a: 'ok', b: ['x', 'y\u0000'], c: '\u0000' }, 'body')).toEqual({
      path: 'body.b.1',
      rule: 'must not contain NUL characters',
    });
    expect(findProblem({ ok: { 'k\u0000': 1 } }, 'body')?.path).toBe('body.ok.k\\0');
    expect(findProblem('a\u0000', 'querystring')?.path).toBe('querystring');
  });

  it('leaves plain values, buffers and streams alone', () => {
    expect(findProblem({ n: 1, b: true, z: null, s: 'text ☃' }, 'body')).toBeUndefined();
    expect(findProblem(Buffer.from([0, 0]), 'body')).toBeUndefined();
    expect(findProblem({ pipe: () => undefined }, 'body')).toBeUndefined();
    expect(
      findProblem(
        Array.from({ length: 100_000 }, (_, i) => ({ i })),
        'body',
      ),
    ).toBeUndefined();
  });
});
