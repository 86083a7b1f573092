// rclaude: the command-line interface to Remote Claude (and `rclaude serve`, the control plane).
import { Command, CommanderError } from 'commander';
import { ApiError } from '../sdk/client/apiError.js';
import type { ConfigError } from '../server/config/loadConfig.js';
import { packageVersion } from '../server/packageVersion.js';
import { CliError } from './cliError.js';
import { registerAudit } from './commands/auditCommands.js';
import { registerAuth } from './commands/authCommands.js';
import { registerConfig } from './commands/configCommand.js';
import { registerImages } from './commands/imageCommands.js';
import { registerNode } from './commands/nodeCommands.js';
import { registerQueue } from './commands/queueCommands.js';
import { registerReplicas } from './commands/replicaCommands.js';
import { registerServe } from './commands/serveCommand.js';
import { registerSim } from './commands/simCommands.js';
import { registerTasks } from './commands/taskCommands.js';
import { registerTokens } from './commands/tokenCommands.js';
import { registerUsers } from './commands/userCommands.js';
import { registerWorkspaces } from './commands/workspaceCommands.js';
import { type CliContext, defaultContext } from './context.js';

const GETTING_STARTED = `
Getting started:
  rclaude serve                     run the control plane; the first start prints the admin's password
  rclaude login --url http://127.0.0.1:8080 --email admin@remote-claude.local
  rclaude whoami                    check who you are signed in as
  rclaude tokens create --name ci   an API token for scripts (use it as RC_TOKEN)
  rclaude ws create <repository>    a workspace: a sandbox with a clone of the repository
  rclaude ws ssh <id>               a shell in it (ids from \`rclaude ws list\`)
  rclaude task run "<prompt>" --repo <repository> --follow
                                    Claude Code works on the prompt there; you watch

RC_URL and RC_TOKEN, when set, are used instead of what \`rclaude login\` saved.
Run \`rclaude <command> --help\` for a command's options.`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('rclaude')
    .description('Remote Claude: run Claude Code as a background worker on your repositories.')
    .version(`rclaude ${packageVersion()}`, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText('after', GETTING_STARTED)
    .showSuggestionAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version')
    .action(() => ctx.out(`rclaude ${packageVersion()} (node ${process.version})`));
  registerServe(program, ctx);
  registerConfig(program, ctx);
  registerImages(program, ctx);
  registerAuth(program, ctx);
  registerUsers(program, ctx);
  registerTokens(program, ctx);
  registerAudit(program, ctx);
  registerReplicas(program, ctx);
  registerNode(program, ctx);
  registerWorkspaces(program, ctx);
  registerTasks(program, ctx);
  registerQueue(program, ctx);
  registerSim(program, ctx);
  helpForBareGroups(program);
  oneLineUsageErrors(program);
  return program;
}

/**
 * A group typed alone (`rclaude users`) asked for nothing wrong, so it prints the group's help on
 * stdout and exits 0; commander's default treats it as an error (help on stderr, exit 1). A group
 * given a word that is not one of its commands still fails with commander's own "unknown command"
 * error and its suggestion.
 */
function helpForBareGroups(cmd: Command): void {
  for (const sub of cmd.commands) helpForBareGroups(sub);
  if (cmd.commands.length === 0 || cmd.parent === null) return;
  const hasAction = (cmd as unknown as { _actionHandler: unknown })._actionHandler;
  // A group with a default command (`rclaude quota` is `rclaude quota show`) runs that instead.
  const hasDefault = (cmd as unknown as { _defaultCommandName?: string })._defaultCommandName;
  if (hasAction || hasDefault) return;
  cmd.allowExcessArguments(true).action(() => {
    if (cmd.args.length === 0) cmd.help();
    // Public since commander 2 though missing from its typings; it builds the suggestion.
    (cmd as unknown as { unknownCommand(): never }).unknownCommand();
  });
}

/**
 * Commander reports usage errors as "error: unknown option '--x'" with a suggestion on a second
 * line; print them like every other failure instead: one "rclaude: …" line, pointing at the help of
 * the command that was mistyped.
 */
function oneLineUsageErrors(cmd: Command): void {
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  cmd.configureOutput({
    outputError: (str, write) => {
      const text = str
        .trim()
        .replace(/^error: /, '')
        .replace(/\s*\n\s*\(Did you mean (.*)\?\)$/, ' (did you mean $1?)')
        .replace(/\s*\n\s*/g, ' ')
        .replace(/\.$/, '');
      write(`rclaude: ${text}; see \`${path.join(' ')} --help\`\n`);
    },
  });
  for (const sub of cmd.commands) oneLineUsageErrors(sub);
}

/** One readable line for any failure. `ctx` tells where a rejected token came from. */
export function describeFailure(err: unknown, ctx?: Pick<CliContext, 'tokenSource'>): string {
  if (err instanceof ApiError) {
    const fields = err.fields?.length ? ` (${err.fields.map((f) => `${f.path} ${f.rule}`).join('; ')})` : '';
    if (err.status === 401 && err.code === 'unauthorized') {
      const advice =
        ctx?.tokenSource === 'RC_TOKEN'
          ? 'Check RC_TOKEN, or unset it and run `rclaude login`.'
          : ctx?.tokenSource === '--token'
            ? 'Check the --token you gave.'
            : 'Run `rclaude login`.';
      return `${err.message} ${advice}`;
    }
    return `${err.message}${fields}`;
  }
  if (isConfigError(err))
    return `invalid configuration: ${err.issues
      .map((i) => `${i.path ? `${i.path} ` : ''}${i.rule}${i.source ? ` (from ${i.source})` : ''}`)
      .join('; ')}`;
  if (err instanceof CliError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE')
    return `the port is already in use (${e.message}); pick another with --port or RC_PORT`;
  if (e?.code === 'EACCES' && e.syscall === 'listen')
    return `not allowed to listen there (${e.message}); pick a port above 1023 with --port or RC_PORT`;
  return (e?.message ?? String(err)).split('\n')[0] as string;
}

/** By name: the config code is loaded only by the commands that need it (see serveCommand.ts). */
function isConfigError(err: unknown): err is ConfigError {
  return err instanceof Error && err.name === 'ConfigError' && Array.isArray((err as ConfigError).issues);
}

export async function main(argv: string[]): Promise<number> {
  // `rclaude audit list | head` closes the pipe early; that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const ctx = defaultContext();
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`rclaude: ${describeFailure(err, ctx)}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
