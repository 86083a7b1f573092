// Wire types of a user's own secrets: /api/v1/me/secrets. Values go in and never come back out.
import { z } from 'zod';
import { WORKSPACE_API_KEY_PLACEHOLDER } from './agentProtocol.js';

/** The secrets a user can save; the model gateway uses the first in place of the organisation's key. */
export const secretNames = ['anthropic-api-key'] as const;
export const SecretName = z.enum(secretNames);
export type SecretName = z.infer<typeof SecretName>;

export const ANTHROPIC_API_KEY_SECRET: SecretName = 'anthropic-api-key';

export const AnthropicApiKey = z
  .string()
  .min(20, { error: 'must be at least 20 characters' })
  .max(300, { error: 'must be at most 300 characters' })
  .startsWith('sk-ant-', { error: 'must be an Anthropic API key, starting with "sk-ant-"' })
  .regex(/^\S+$/, { error: 'must not contain whitespace' })
  .refine((s) => s !== WORKSPACE_API_KEY_PLACEHOLDER, {
    error: "is the workspaces' placeholder, not a real key",
  });

export const PutAnthropicApiKeyBody = z.strictObject({
  value: AnthropicApiKey.describe(
    'The key, from console.anthropic.com. It is stored encrypted and never shown again.',
  ),
});
export type PutAnthropicApiKeyBody = z.input<typeof PutAnthropicApiKeyBody>;

export const SecretInfo = z.object({
  name: SecretName,
  last4: z.string().describe('The last four characters, to tell keys apart.'),
  updatedAt: z.string().describe('ISO 8601 timestamp (UTC).'),
});
export type SecretInfo = z.infer<typeof SecretInfo>;

export const SecretList = z.object({ items: z.array(SecretInfo) });
export type SecretList = z.infer<typeof SecretList>;
