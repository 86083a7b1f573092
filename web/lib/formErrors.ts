// Server validation errors on forms: a rule from ApiError.fields goes under its input, and only an
// error no shown input explains goes into the form's alert, so nothing is said twice.
import { ApiError } from '../../sdk/client/apiError.js';

/** The rules the server gave for `body.<field>` (one value may break several), if any. */
export function fieldRule(error: ApiError | null, field: string): string | undefined {
  const rules = error?.fields.filter((f) => f.path === `body.${field}`).map((f) => f.rule) ?? [];
  return rules.length ? rules.join('; ') : undefined;
}

/** The message to show above the buttons: null when an input already shows why. */
export function formMessage(error: ApiError | null, shownFields: readonly string[]): string | null {
  if (!error) return null;
  if (error.fields.some((f) => shownFields.includes(f.path.replace(/^body\./, '')))) return null;
  return error.message;
}

/** Any thrown value as an ApiError, so forms handle one type. */
export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
}
