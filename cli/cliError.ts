/** A failure the CLI reports as one line on stderr ("rclaude: …") and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit code of a command given bad arguments or flags; 1 is left for failures. */
export const USAGE_EXIT_CODE = 2;

export function usageError(message: string): CliError {
  return new CliError(message, USAGE_EXIT_CODE);
}
