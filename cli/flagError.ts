import type { z } from 'zod';
import { CliError } from './cliError.js';

/**
 * Turn the first failed rule of a request body or query into a message about the option the user
 * typed: `flags` maps a field to how the user gave it ("--expires-in-days", "the password on
 * standard input"); fields not listed become "--field".
 */
export function flagError(error: z.ZodError, flags: Record<string, string> = {}): CliError {
  const issue = error.issues[0];
  const field = String(issue?.path[0] ?? '');
  const what = flags[field] ?? (field ? `--${field}` : 'the input');
  let rule = issue?.message ?? 'is not valid';
  if (issue?.code === 'too_small' && issue.origin === 'string' && Number(issue.minimum) === 1)
    rule = 'must not be empty';
  return new CliError(`${what} ${rule}`);
}
