// rclaude: the command-line interface to Remote Claude (and `rclaude serve`, the control plane).
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ApiError } from '../sdk/client.js';
import { ConfigError } from '../server/config/loadConfig.js';
import { registerAudit } from './commands/auditCommands.js';
import { registerAuth } from './commands/authCommands.js';
import { registerConfig } from './commands/configCommand.js';
import { registerServe } from './commands/serveCommand.js';
import { registerTokens } from './commands/tokenCommands.js';
import { registerUsers } from './commands/userCommands.js';
import { type CliContext, CliError, defaultContext } from './context.js';

/** The package version; package.json is one level up from cli/ in source and two from dist/cli/. */
export function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'remote-claude') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('rclaude')
    .description('Remote Claude: run Claude Code as a background worker on your repositories.')
    .showSuggestionAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version')
    .action(() => ctx.out(`rclaude ${version()} (node ${process.version})`));
  registerServe(program, ctx);
  registerConfig(program, ctx);
  registerAuth(program, ctx);
  registerUsers(program, ctx);
  registerTokens(program, ctx);
  registerAudit(program, ctx);
  return program;
}

/** One readable line for any failure. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = err.fields?.length ? ` (${err.fields.map((f) => `${f.path} ${f.rule}`).join('; ')})` : '';
    return err.status === 401 && err.code === 'unauthorized'
      ? `${err.message} Run \`rclaude login\`.`
      : `${err.message}${fields}`;
  }
  if (err instanceof ConfigError)
    return `invalid configuration: ${err.issues.map((i) => `${i.path || '(root)'} ${i.rule}${i.source ? ` (from ${i.source})` : ''}`).join('; ')}`;
  if (err instanceof CliError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE')
    return `the port is already in use (${e.message}); pick another with --port or RC_PORT`;
  return e?.message ?? String(err);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(defaultContext());
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`rclaude: ${describeFailure(err)}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
