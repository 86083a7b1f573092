// `rclaude serve`: open the store, create the first admin if needed, and listen.
import { join, resolve } from 'node:path';
import pino, { type DestinationStream } from 'pino';
import { AuditRetention } from './audit/auditRetention.js';
import { bootstrapAdmin } from './bootstrapAdmin.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config/configSchema.js';
import { redactUrl } from './config/loadConfig.js';
import { type App, buildApp } from './http/app.js';
import { createServices, type Services } from './services.js';
import { type Db, openDb } from './store/db.js';

export interface RunningServer {
  app: App;
  db: Db;
  services: Services;
  url: string;
  close(): Promise<void>;
}

export function sqlitePath(config: Config): string {
  return join(resolve(config.dataDir), 'remote-claude.db');
}

export async function startServer(
  config: Config,
  opts: { clock?: Clock; print?: (line: string) => void; logStream?: DestinationStream } = {},
): Promise<RunningServer> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const db = await openDb({
    databaseUrl: config.database.url,
    sqlitePath: sqlitePath(config),
    schema: config.database.schema,
    poolSize: config.database.poolSize,
  });
  const services = createServices(config, db, opts.clock ?? systemClock, {
    log: pino({ level: config.log.level, name: 'workspaces' }, opts.logStream ?? pino.destination(2)),
  });
  let app: App;
  try {
    // JSON logs go to stderr so stdout carries only the human-readable lines printed below.
    app = await buildApp(services, { logStream: opts.logStream ?? pino.destination(2) });
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await db.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = config.server.publicUrl ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  services.publicUrl = url;
  if (services.oidc) {
    try {
      await services.oidc.discover();
    } catch (err) {
      await app.close();
      await db.close();
      throw err;
    }
  }

  const store = config.database.url
    ? `PostgreSQL ${redactUrl(config.database.url)}`
    : `SQLite ${sqlitePath(config)}`;
  print(`Remote Claude is listening on ${url} (store: ${store})`);
  if (db.newerMigrations.length) {
    app.log.warn(
      { migrations: db.newerMigrations },
      'the database was migrated by a newer version; running without migrating',
    );
  }
  const created = await bootstrapAdmin(services);
  if (created) {
    print('');
    print(`Created the first administrator: ${created.email}`);
    if (created.generatedPassword) {
      print(
        `One-time password (shown only now; you choose your own at first sign-in): ${created.generatedPassword}`,
      );
      print('Set RC_ADMIN_EMAIL and RC_ADMIN_PASSWORD before the first start to choose them yourself.');
    }
    print(`Open ${url} to sign in, or run: rclaude login --url ${url} --email ${created.email}`);
    print('');
  }

  // Re-adopt the workspaces that kept running while no control plane was up, and keep checking.
  try {
    const report = await services.runtime.start();
    if (report.adopted.length) print(`Re-adopted ${report.adopted.length} running workspace(s).`);
  } catch (err) {
    app.log.error({ err }, 'reconciling workspaces failed; the loop will retry');
  }

  const prune = setInterval(() => {
    services.sessions.prune().catch((err) => app.log.warn({ err }, 'session prune failed'));
  }, 3_600_000);
  prune.unref();
  const auditRetention = new AuditRetention({
    store: services.auditStore,
    clock: services.clock,
    retentionDays: config.audit.retentionDays,
    pruneIntervalSeconds: config.audit.pruneInterval,
    log: services.log,
  });
  void auditRetention.start();

  return {
    app,
    services,
    db,
    url,
    async close() {
      clearInterval(prune);
      await auditRetention.stop();
      await app.close();
      await db.close();
    },
  };
}
