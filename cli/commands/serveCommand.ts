import type { Command } from 'commander';
import { loadConfig } from '../../server/config/loadConfig.js';
import { startServer } from '../../server/serve.js';
import type { CliContext } from '../context.js';

export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
}

/** Flags that set config keys; values are validated by the config schema like any other source. */
export function addConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (RC_CONFIG)')
    .option('--host <host>', 'address to listen on (RC_HOST)')
    .option('-p, --port <port>', 'port to listen on (RC_PORT)')
    .option('--data-dir <dir>', 'data directory (RC_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL URL instead of SQLite (DATABASE_URL)')
    .option('--log-level <level>', 'log level (RC_LOG_LEVEL)');
}

export function configFromFlags(ctx: CliContext, f: ConfigFlags) {
  const port = f.port === undefined ? undefined : /^\d+$/.test(f.port) ? Number(f.port) : f.port;
  return loadConfig({
    file: f.config,
    env: ctx.env,
    flags: {
      'server.host': f.host,
      'server.port': port,
      dataDir: f.dataDir,
      'database.url': f.databaseUrl,
      'log.level': f.logLevel,
    },
  });
}

export function registerServe(program: Command, ctx: CliContext): void {
  addConfigFlags(program.command('serve').description('run the control plane')).action(
    async (f: ConfigFlags) => {
      const config = configFromFlags(ctx, f);
      const server = await startServer(config, { print: ctx.out });
      const stop = (signal: string) => {
        server.app.log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    },
  );
}
