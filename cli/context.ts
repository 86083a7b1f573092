import type { Command } from 'commander';
import { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import { CliError } from './cliError.js';
import { readCredentials } from './credentials.js';

/** Where the API token of the last `client()` came from, so a rejected token gets the right advice. */
export type TokenSource = '--token' | 'RC_TOKEN' | 'login';

/** --url and --token, accepted by every command that talks to the server. */
export interface ServerOptions {
  url?: string;
  token?: string;
}

export interface CliContext {
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  /** Progress and notes that are not the command's result (stderr, so stdout stays parseable). */
  err(text: string): void;
  /** A client for the server the user logged in to (or RC_URL/RC_TOKEN, or --url/--token). */
  client(opts: ServerOptions): NodeApiClient;
  /** The server to talk to: --url, else RC_URL, else the saved login's, else RC_PORT on loopback. */
  serverUrl(opts: { url?: string }): string;
  tokenSource?: TokenSource;
}

/** Add --url and --token to a command that calls the API (after its own options, in its help). */
export function addServerOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server URL (default: RC_URL, else the saved login)')
    .option('--token <token>', 'API token (default: RC_TOKEN, else the saved login)');
}

export function defaultContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  return {
    env,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    serverUrl(opts) {
      const [url, from] = opts.url
        ? [opts.url, '--url']
        : env.RC_URL
          ? [env.RC_URL, 'RC_URL']
          : [readCredentials(env)?.url ?? `http://127.0.0.1:${env.RC_PORT ?? 8080}`, 'the server URL'];
      if (!isHttpUrl(url)) throw new CliError(`${from} must be an http(s) URL, got "${url}"`);
      return url;
    },
    client(opts) {
      const [token, source]: [string | undefined, TokenSource] = opts.token
        ? [opts.token, '--token']
        : env.RC_TOKEN
          ? [env.RC_TOKEN, 'RC_TOKEN']
          : [readCredentials(env)?.token, 'login'];
      if (!token) throw new CliError('not logged in; run `rclaude login` first (or set RC_TOKEN)');
      this.tokenSource = source;
      return new NodeApiClient({ baseUrl: this.serverUrl(opts), token });
    },
  };
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
