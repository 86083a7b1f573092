// Where `rclaude login` keeps the server URL and API token: ~/.config/remote-claude/credentials.json
// (or $XDG_CONFIG_HOME/remote-claude), readable by the user only. RC_URL / RC_TOKEN override it.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError } from './cliError.js';

const Credentials = z.object({ url: z.url(), token: z.string().min(1), email: z.string().optional() });
export type Credentials = z.infer<typeof Credentials>;

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'remote-claude');
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'credentials.json');
}

/** The saved login, or undefined when there is none; throws CliError when the file is damaged. */
export function readCredentials(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const path = credentialsPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: ReturnType<typeof Credentials.safeParse> | undefined;
  try {
    parsed = Credentials.safeParse(JSON.parse(text));
  } catch {
    // not JSON: reported below like any other damage
  }
  if (!parsed?.success)
    throw new CliError(`${path} is damaged; run \`rclaude logout\` and \`rclaude login\` again`);
  return parsed.data;
}

export function writeCredentials(creds: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = credentialsPath(env);
  // Write a private temporary file and rename it over the old one, so the token is never readable
  // by others (writeFileSync's mode applies only to new files) and a crash leaves no half file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

export function removeCredentials(env: NodeJS.ProcessEnv = process.env): void {
  rmSync(credentialsPath(env), { force: true });
}
