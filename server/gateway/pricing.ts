// What a model request cost, from the token counts the Messages API reports and the price table in
// `gateway.prices` (USD per million tokens, keyed by model id prefix). Costs are estimates for
// budgets and reports; Anthropic's invoice stays the authority.
import type { Config } from '../config/configSchema.js';

export type PriceTable = Config['gateway']['prices'];
export type ModelPrice = PriceTable[string];

/** Token counts of one response, as the Messages API's `usage` object names them. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** All prompt-cache writes, 5-minute and 1-hour together. */
  cacheCreationTokens: number;
  /** The part of `cacheCreationTokens` written to the 1-hour cache, when the API says. */
  cacheCreation1hTokens?: number;
  cacheReadTokens: number;
}

const PER_TOKEN = 1 / 1_000_000;

/**
 * The price for `model`: the entry with the longest key that is a prefix of the model id, ending
 * at a `-`, `@` or `:` boundary (so `claude-opus-4` prices `claude-opus-4-20250514` but not a
 * hypothetical `claude-opus-45`). Provider spellings such as Bedrock's
 * `us.anthropic.claude-sonnet-4-5-v1:0` are matched from their `claude-` part. A model no entry
 * matches gets the highest price of each kind in the table, so an unknown model never counts as cheap.
 */
export function priceFor(model: string, table: PriceTable): ModelPrice {
  const lower = model.toLowerCase();
  const at = lower.indexOf('claude-');
  const id = at > 0 ? lower.slice(at) : lower;
  let best: string | undefined;
  for (const prefix of Object.keys(table)) {
    if (!id.startsWith(prefix)) continue;
    const next = id.charAt(prefix.length);
    if (next !== '' && next !== '-' && next !== '@' && next !== ':') continue;
    if (best === undefined || prefix.length > best.length) best = prefix;
  }
  return best === undefined ? highestPrices(table) : (table[best] as ModelPrice);
}

/** Cost in USD of one response's usage. */
export function costUsd(model: string, usage: TokenUsage, table: PriceTable): number {
  const p = priceFor(model, table);
  const oneHour = Math.min(usage.cacheCreation1hTokens ?? 0, usage.cacheCreationTokens);
  // Anthropic charges a 1-hour cache write at twice the input price.
  const cacheWrite1h = p.cacheWrite1h ?? p.input * 2;
  return (
    (usage.inputTokens * p.input +
      usage.outputTokens * p.output +
      (usage.cacheCreationTokens - oneHour) * p.cacheWrite +
      oneHour * cacheWrite1h +
      usage.cacheReadTokens * p.cacheRead) *
    PER_TOKEN
  );
}

function highestPrices(table: PriceTable): ModelPrice {
  const prices = Object.values(table);
  const max = (pick: (p: ModelPrice) => number) => Math.max(0, ...prices.map(pick));
  return {
    input: max((p) => p.input),
    output: max((p) => p.output),
    cacheWrite: max((p) => p.cacheWrite),
    cacheWrite1h: max((p) => p.cacheWrite1h ?? p.input * 2),
    cacheRead: max((p) => p.cacheRead),
  };
}
