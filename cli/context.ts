import { ApiClient } from '../sdk/client.js';
import { readCredentials } from './credentials.js';

/** A failure the CLI reports as one line and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface CliContext {
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  /** A client for the server the user logged in to (or RC_URL/RC_TOKEN, or --url/--token). */
  client(opts: { url?: string; token?: string }): ApiClient;
  serverUrl(opts: { url?: string }): string;
}

export function defaultContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  return {
    env,
    out: (text) => process.stdout.write(`${text}\n`),
    serverUrl(opts) {
      return opts.url ?? env.RC_URL ?? readCredentials(env)?.url ?? `http://127.0.0.1:${env.RC_PORT ?? 8080}`;
    },
    client(opts) {
      const creds = readCredentials(env);
      const token = opts.token ?? env.RC_TOKEN ?? creds?.token;
      if (!token) throw new CliError('not logged in; run `rclaude login` (or set RC_TOKEN)');
      return new ApiClient({ baseUrl: this.serverUrl(opts), token });
    },
  };
}
