// Wire types of model usage reports: /api/v1/usage. Costs are the gateway's estimates from its
// price table (gateway.prices), in USD.
import { z } from 'zod';

export const usageGroupings = ['user', 'task', 'repository'] as const;
export const UsageGroupBy = z.enum(usageGroupings);
export type UsageGroupBy = z.infer<typeof UsageGroupBy>;

const When = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const UsageQuery = z.strictObject({
  from: When.optional().describe(
    'Start, inclusive (ISO 8601 date or time). Default: the first of this month, UTC.',
  ),
  to: When.optional().describe('End, exclusive (ISO 8601 date or time). Default: now.'),
  groupBy: UsageGroupBy.default('user').describe('One row per user, task or repository.'),
});
export type UsageQuery = z.input<typeof UsageQuery>;

export const UsageItem = z.object({
  key: z
    .string()
    .nullable()
    .describe(
      'User id, task id or repository URL; null for usage outside a task, or of a deleted workspace.',
    ),
  label: z.string().optional().describe("The user's email, for groupBy user."),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheCreationTokens: z.number(),
  cacheReadTokens: z.number(),
  costUsd: z.number(),
  requests: z.number().int().describe('Model requests counted.'),
});
export type UsageItem = z.infer<typeof UsageItem>;

export const UsageReport = z.object({
  items: z.array(UsageItem).describe('Most expensive first. Members see only their own usage.'),
  from: z.string(),
  to: z.string(),
});
export type UsageReport = z.infer<typeof UsageReport>;
