// Everything a route handler needs, built once per server from the config and the store.

import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { AuditRecorder } from './audit/auditRecorder.js';
import { RefusalLimiter } from './audit/refusalLimiter.js';
import { AccessChanges } from './auth/accessChanges.js';
import { Authenticator } from './auth/authenticator.js';
import { LoginThrottle } from './auth/loginThrottle.js';
import { OidcService } from './auth/oidcService.js';
import { PasswordHasher } from './auth/passwords.js';
import type { Clock } from './clock.js';
import { AgentRelay } from './cluster/agentRelay.js';
import { ClusterAuth } from './cluster/clusterAuth.js';
import { ClusterMetrics, RelayMetrics } from './cluster/clusterMetrics.js';
import { ClusterMutex } from './cluster/clusterMutex.js';
import { LeaderLocks } from './cluster/leaderLock.js';
import { MemoryPubsub } from './cluster/memoryPubsub.js';
import { PgPubsub } from './cluster/pgPubsub.js';
import type { Pubsub } from './cluster/pubsub.js';
import { ReplicaRegistry } from './cluster/replicaRegistry.js';
import type { Config } from './config/configSchema.js';
import { remoteNodeNames } from './drivers/docker/dockerDriverConfig.js';
import type { RuntimeDriver } from './drivers/runtimeDriver.js';
import { LiveConnections } from './http/liveConnections.js';
import { NodeHub } from './nodes/nodeHub.js';
import { NodeRelay } from './nodes/nodeRelay.js';
import { packageVersion } from './packageVersion.js';
import { Readiness } from './readiness.js';
import { AgentConnectionStore } from './store/agentConnectionStore.js';
import { AuditStore } from './store/auditStore.js';
import type { Db } from './store/db.js';
import { LoginFailureStore } from './store/loginFailureStore.js';
import { NodeConnectionStore } from './store/nodeConnectionStore.js';
import { NodeJoinTokenStore } from './store/nodeJoinTokenStore.js';
import { SchedulerStore } from './store/schedulerStore.js';
import { SecretStore } from './store/secretStore.js';
import { SessionStore } from './store/sessionStore.js';
import { SettingStore } from './store/settingStore.js';
import { TaskStore } from './store/taskStore.js';
import { TeamStore } from './store/teamStore.js';
import { TokenStore } from './store/tokenStore.js';
import { UsageStore } from './store/usageStore.js';
import { UserStore } from './store/userStore.js';
import { WorkspaceStore } from './store/workspaceStore.js';
import { createWorkspaceRuntime, type WorkspaceRuntime } from './workspaces/workspaceRuntime.js';

export interface Services {
  config: Config;
  db: Db;
  clock: Clock;
  users: UserStore;
  teams: TeamStore;
  tokens: TokenStore;
  sessions: SessionStore;
  /** The queue's store: quota overrides, metered workspace time, fair-share usage. */
  scheduler: SchedulerStore;
  settings: SettingStore;
  auditStore: AuditStore;
  audit: AuditRecorder;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  auth: Authenticator;
  workspaces: WorkspaceStore;
  tasks: TaskStore;
  /** Users' own Anthropic keys, encrypted. */
  secrets: SecretStore;
  usage: UsageStore;
  /** Join tokens of `rclaude node` daemons. */
  nodeJoinTokens: NodeJoinTokenStore;
  /** The control-plane replicas sharing the database; serve.ts starts this one's registration. */
  replicas: ReplicaRegistry;
  /** Signs and checks the requests replicas send each other (internal routes). */
  clusterAuth: ClusterAuth;
  /** Relay, pubsub-lag and agent-connection metrics; the app registers them, serve.ts starts the probe. */
  clusterMetrics: ClusterMetrics;
  /** Bounds the audit rows of refused unauthenticated callers (refusalLimiter.ts). */
  refusals: RefusalLimiter;
  /** Reaches agents connected to other replicas: calls, byte channels, terminal and watch sockets. */
  relay: AgentRelay;
  /** Work that runs on one replica at a time (advisory locks on PostgreSQL; always this one on SQLite). */
  leaders: LeaderLocks;
  /** Driver, agent hub, egress proxy, lifecycle, terminals; closed with the app. */
  runtime: WorkspaceRuntime;
  log: Logger;
  /**
   * Messages between replicas: LISTEN/NOTIFY on PostgreSQL, in process on SQLite. Whoever starts
   * the server calls `start()` before taking traffic; the app closes it.
   */
  pubsub: Pubsub;
  /** This process's open WebSockets and event streams, closed when their caller loses access. */
  liveConnections: LiveConnections;
  /** OIDC sign-in, when `auth.oidc` is configured. */
  oidc?: OidcService;
  /** The URL users reach this server at; serve.ts sets it once it listens. */
  publicUrl: string;
  /** What startup has still to do; `/readyz` is 200 only when it is all done (serve.ts marks it). */
  readiness: Readiness;
}

export interface ServiceOptions {
  /** Server-side log for background work (requests log through Fastify). Silent by default. */
  log?: Logger;
  /** Use this runtime driver instead of the configured one (tests: fake drivers). */
  driver?: RuntimeDriver;
  /** Use this pubsub instead of the engine's (tests: fakes). */
  pubsub?: Pubsub;
}

export function createServices(config: Config, db: Db, clock: Clock, opts: ServiceOptions = {}): Services {
  let services: Services;
  const log = opts.log ?? pino({ level: 'silent' });
  const pubsub = opts.pubsub ?? (db.dialect === 'postgres' ? PgPubsub.forDb(db, log) : new MemoryPubsub(log));
  const accessChanges = new AccessChanges(pubsub, log);
  const users = new UserStore(db, clock, accessChanges.announce);
  const workspaces = new WorkspaceStore(db, clock);
  const tasks = new TaskStore(db, clock);
  const settings = new SettingStore(db, clock);
  const secrets = new SecretStore(db, clock, { configured: config.claude.secretsKey, settings });
  const usage = new UsageStore(db, clock);
  const tokens = new TokenStore(db, clock, accessChanges.announce);
  const sessions = new SessionStore(db, clock, accessChanges.announce);
  const auditStore = new AuditStore(db, clock);
  const nodeJoinTokens = new NodeJoinTokenStore(db, clock, accessChanges.announce);
  const leaders = new LeaderLocks(db, log);
  const scheduler = new SchedulerStore(db, clock, config.quotas.fairShareHalfLife * 1000);
  const clusterAuth = new ClusterAuth({ configured: config.server.clusterSecret, settings, clock });
  const replicas = new ReplicaRegistry({
    db,
    clock,
    log,
    version: packageVersion(),
    heartbeatMs: config.server.replicaHeartbeat * 1000,
    agents: () => runtime.hub.connectionCount,
    agentConnections: new AgentConnectionStore(db, clock),
    // An agent may connect in the moment between listening and registering (or while another
    // replica had removed this one as dead): its row is written again once this one is listed.
    onRegistered: () => runtime.hub.claimAll(),
  });
  const relayMetrics = new RelayMetrics();
  const remote = new AgentRelay({
    metrics: relayMetrics,
    connections: new AgentConnectionStore(db, clock),
    pubsub,
    registry: replicas,
    auth: clusterAuth,
    log,
  });
  const nodeConnections = new NodeConnectionStore(db, clock);
  const nodes = new NodeHub({
    runDir: join(resolve(config.dataDir), 'run', 'nodes'),
    configured: remoteNodeNames(config),
    tokens: nodeJoinTokens,
    connections: nodeConnections,
    audit: auditStore,
    accessChanges,
    log,
    replicaId: () => replicas.id,
    relay: new NodeRelay({
      connections: nodeConnections,
      auth: clusterAuth,
      replicaId: () => replicas.id,
      liveSince: () => replicas.liveSince(),
    }),
  });
  const runtime = createWorkspaceRuntime({
    nodes,
    remote,
    mutex: new ClusterMutex(db),
    leaders,
    pubsub,
    config,
    store: workspaces,
    taskStore: tasks,
    schedulerStore: scheduler,
    secrets,
    usage,
    auditStore,
    clock,
    log,
    publicUrl: () => services.publicUrl,
    ...(opts.driver ? { driver: opts.driver } : {}),
  });
  const clusterMetrics = new ClusterMetrics({
    relay: relayMetrics,
    pubsub,
    registry: replicas,
    agents: () => runtime.hub.connectionCount,
    clock,
    log,
  });
  services = {
    clusterMetrics,
    config,
    publicUrl: config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`,
    readiness: new Readiness(),
    db,
    clock,
    users,
    teams: new TeamStore(db, clock),
    tokens,
    sessions,
    settings,
    auditStore,
    workspaces,
    tasks,
    scheduler,
    secrets,
    usage,
    nodeJoinTokens,
    log,
    pubsub,
    liveConnections: new LiveConnections({ users, tokens, sessions, clock, accessChanges, log }),
    runtime,
    leaders,
    replicas,
    clusterAuth,
    relay: remote,
    refusals: new RefusalLimiter(clock),
    audit: new AuditRecorder(auditStore),
    hasher: new PasswordHasher(config.auth.argon2),
    throttle: new LoginThrottle(config.auth.throttle, new LoginFailureStore(db), clock),
    auth: new Authenticator({
      users,
      tokens,
      sessions,
      clock,
      accessChanges,
      sessionTtlSeconds: config.auth.sessionTtl,
      cookieSecure: config.auth.cookieSecure,
    }),
  };
  const oidc = config.auth.oidc;
  if (oidc) {
    services.oidc = new OidcService({ ...oidc, publicUrl: () => services.publicUrl });
  }
  return services;
}
