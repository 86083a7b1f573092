import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/loadConfig.js';
import { costUsd, type PriceTable, priceFor } from './pricing.js';

const table = loadConfig({ env: {} }).gateway.prices;
const usage = { inputTokens: 1_000_000, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 };

describe('priceFor', () => {
  it('takes the longest matching prefix of dated and provider model ids', () => {
    expect(priceFor('claude-opus-4-20250514', table).input).toBe(15);
    expect(priceFor('claude-opus-4-1-20250805', table).input).toBe(15);
    expect(priceFor('claude-opus-4-5-20251101', table).input).toBe(5);
    expect(priceFor('claude-sonnet-4-5-20250929', table).output).toBe(15);
    expect(priceFor('claude-haiku-4-5-20251001', table).input).toBe(1);
    expect(priceFor('claude-3-5-haiku-20241022', table).input).toBe(0.8);
    expect(priceFor('us.anthropic.claude-sonnet-4-5-20250929-v1:0', table).input).toBe(3);
    expect(priceFor('claude-sonnet-4-6@20260101', table).input).toBe(3);
  });

  it('does not match across a word boundary', () => {
    const t: PriceTable = {
      'claude-x-4': { input: 1, output: 1, cacheWrite: 1, cacheRead: 1 },
      'claude-y': { input: 9, output: 9, cacheWrite: 9, cacheRead: 9 },
    };
    expect(priceFor('claude-x-45', t).input).toBe(9);
  });

  it('charges an unknown model the highest price of each kind', () => {
    expect(priceFor('gpt-4o', table)).toEqual({
      input: 15,
      output: 75,
      cacheWrite: 18.75,
      cacheWrite1h: 30,
      cacheRead: 1.5,
    });
  });
});

describe('costUsd', () => {
  it('adds up input, output, cache writes and cache reads', () => {
    const cost = costUsd(
      'claude-sonnet-4-5',
      { inputTokens: 1000, outputTokens: 2000, cacheCreationTokens: 10_000, cacheReadTokens: 100_000 },
      table,
    );
    // 1000×3 + 2000×15 + 10000×3.75 + 100000×0.3, per million.
    expect(cost).toBeCloseTo(0.1005, 10);
  });

  it('charges 1-hour cache writes at their own price, twice input when the table has none', () => {
    const u = { ...usage, inputTokens: 0, cacheCreationTokens: 1_000_000, cacheCreation1hTokens: 400_000 };
    expect(costUsd('claude-sonnet-4', u, table)).toBeCloseTo(0.6 * 3.75 + 0.4 * 6, 10);
    const withPrice: PriceTable = {
      'claude-sonnet-4': { input: 3, output: 15, cacheWrite: 3.75, cacheWrite1h: 7, cacheRead: 0.3 },
    };
    expect(costUsd('claude-sonnet-4', u, withPrice)).toBeCloseTo(0.6 * 3.75 + 0.4 * 7, 10);
  });

  it('prices a million input tokens of an unknown model at the table maximum', () => {
    expect(costUsd('mystery', usage, table)).toBe(15);
  });
});
