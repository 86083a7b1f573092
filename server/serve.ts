// `rclaude serve`: open the store, create the first admin if needed, and listen.
import { join, resolve } from 'node:path';
import pino, { type DestinationStream } from 'pino';
import { AuditRetention } from './audit/auditRetention.js';
import { bootstrapAdmin } from './bootstrapAdmin.js';
import { type Clock, systemClock } from './clock.js';
import { DataDirLock } from './cluster/dataDirLock.js';
import { replicaAddress } from './cluster/replicaRegistry.js';
import { ensureSchemaKnown } from './cluster/schemaVersion.js';
import type { Config } from './config/configSchema.js';
import { redactUrl } from './config/loadConfig.js';
import { type App, buildApp } from './http/app.js';
import { effectiveLogFormat, logDestination } from './logDestination.js';
import { createServices, type Services } from './services.js';
import { type Db, openDb } from './store/db.js';
import type { ReconcileReport } from './workspaces/reconciler.js';

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
  opts: {
    clock?: Clock;
    print?: (line: string) => void;
    /** Where log lines go; default stderr, pretty or JSON as `log.format` and the terminal say. */
    logStream?: DestinationStream;
  } = {},
): Promise<RunningServer> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logStream =
    opts.logStream ??
    logDestination(effectiveLogFormat(config.log.format, process.stderr.isTTY === true), {
      colorize: process.stderr.isTTY === true,
    });
  // SQLite: one process per data dir (dataDirLock.ts). PostgreSQL replicas share the database.
  const dirLock = config.database.url ? undefined : DataDirLock.acquire(config.dataDir);
  const db = await openDb({
    databaseUrl: config.database.url,
    sqlitePath: sqlitePath(config),
    schema: config.database.schema,
    poolSize: config.database.poolSize,
  }).catch((err) => {
    dirLock?.release();
    throw err;
  });
  try {
    await ensureSchemaKnown(db);
  } catch (err) {
    await db.close();
    dirLock?.release();
    throw err;
  }
  const services = createServices(config, db, opts.clock ?? systemClock, {
    log: pino({ level: config.log.level, name: 'workspaces' }, logStream),
  });
  let app: App | undefined;
  let created: Awaited<ReturnType<typeof bootstrapAdmin>>;
  try {
    // Before anything else: a replica whose invalidations never arrive must not serve.
    await services.pubsub.start();
    services.readiness.mark('store');
    // Everything a first request relies on happens before the server listens: the host can run
    // workspaces (or startup stops with a sentence saying why), the first administrator exists (a
    // sign-in in that window would get 401) and OIDC knows its provider.
    await services.runtime.preflight();
    created = await bootstrapAdmin(services);
    services.readiness.mark('bootstrap');
    app = await buildApp(services, { logStream });
    if (services.oidc) await services.oidc.discover();
    await app.listen({ host: config.server.host, port: config.server.port });
    await services.replicas.start(replicaAddress(config, listenPort(app, config)));
    services.clusterMetrics.start();
  } catch (err) {
    await services.replicas.stop();
    if (app) await app.close();
    else {
      await services.runtime.close();
      await services.pubsub.close();
    }
    await db.close();
    dirLock?.release();
    throw err;
  }
  const port = listenPort(app, config);
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = config.server.publicUrl ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  services.publicUrl = url;

  const store = config.database.url
    ? `PostgreSQL ${redactUrl(config.database.url)}`
    : `SQLite ${sqlitePath(config)}`;
  print(`Remote Claude is listening on ${url} (store: ${store})`);
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
  // The server is ready only after one whole pass: before it, a workspace whose box is alive may
  // still read as stopped. A failed first pass is retried until one succeeds.
  const log = app.log;
  let retry: NodeJS.Timeout | undefined;
  const firstReconcile = async (attempt: Promise<ReconcileReport>) => {
    try {
      const report = await attempt;
      services.readiness.mark('reconcile');
      if (report.adopted.length) print(`Re-adopted ${report.adopted.length} running workspace(s).`);
    } catch (err) {
      services.readiness.failed('reconcile', (err as Error).message);
      log.error({ err }, 'reconciling workspaces failed; retrying in 5 s');
      retry = setTimeout(() => void firstReconcile(services.runtime.reconciler.runOnce()), 5_000);
      retry.unref();
    }
  };
  await firstReconcile(services.runtime.start());

  const prune = setInterval(() => {
    services.sessions.prune().catch((err) => log.warn({ err }, 'session prune failed'));
    services.throttle.prune().catch((err) => log.warn({ err }, 'login failure prune failed'));
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
      clearTimeout(retry);
      await auditRetention.stop();
      await services.replicas.stop();
      await app.close();
      await db.close();
      dirLock?.release();
    },
  };
}

function listenPort(app: App, config: Config): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : config.server.port;
}
