import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
}

/** The config path each flag sets, and the flag as the user typed it (for error messages). */
const FLAG_PATHS = {
  host: ['server.host', '--host'],
  port: ['server.port', '--port'],
  dataDir: ['dataDir', '--data-dir'],
  databaseUrl: ['database.url', '--database-url'],
  logLevel: ['log.level', '--log-level'],
} as const satisfies Record<Exclude<keyof ConfigFlags, 'config'>, readonly [string, string]>;

/** Flags that set config keys; values are validated by the config schema like any other source. */
export function addConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (RC_CONFIG)')
    .option('--host <host>', 'address to listen on (RC_HOST, default 127.0.0.1)')
    .option('-p, --port <port>', 'port to listen on, 0 for any free port (RC_PORT, default 8080)')
    .option(
      '--data-dir <dir>',
      'data directory for the SQLite file and workspaces (RC_DATA_DIR, default ./data)',
    )
    .option('--database-url <url>', 'PostgreSQL URL instead of SQLite (DATABASE_URL)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (RC_LOG_LEVEL)');
}

/**
 * The effective configuration for `serve` and `config print`. The config code is loaded here, not
 * at the top, so that the commands that only talk to the API start faster.
 */
export async function configFromFlags(ctx: CliContext, f: ConfigFlags) {
  const { loadConfig } = await import('../../server/config/loadConfig.js');
  const port = f.port === undefined ? undefined : /^\d+$/.test(f.port) ? Number(f.port) : f.port;
  const flags: Record<string, unknown> = {};
  for (const [key, [path]] of Object.entries(FLAG_PATHS))
    flags[path] = key === 'port' ? port : f[key as keyof typeof FLAG_PATHS];
  const flagNames = Object.fromEntries(Object.values(FLAG_PATHS).map(([path, flag]) => [path, flag]));
  return loadConfig({ file: f.config, env: ctx.env, flags, flagNames });
}

export function registerServe(program: Command, ctx: CliContext): void {
  addConfigFlags(
    program
      .command('serve')
      .description(
        'run the control plane (the first start creates an administrator and prints its password)',
      ),
  ).action(async (f: ConfigFlags) => {
    const config = await configFromFlags(ctx, f);
    // Loaded here, not at the top: the server (fastify, the stores, argon2) would double the
    // start-up time of every other command, which never needs it.
    const { startServer } = await import('../../server/serve.js');
    // The signal handlers come first: a SIGTERM while the server is still starting (its first
    // reconcile can take a while) waits for the start to finish and then shuts down cleanly.
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    let pending: string | undefined;
    const stop = (signal: string) => {
      if (!server) {
        pending = signal;
        return;
      }
      server.app.log.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    server = await startServer(config, { print: ctx.out });
    if (pending) stop(pending);
  });
}
