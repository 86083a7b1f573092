// Builds the workspace machinery of one control plane: driver, agent hub, egress proxy, lifecycle
// service, terminals and the reconcile loop.
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ClusterMutex } from '../cluster/clusterMutex.js';
import type { LeaderLocks } from '../cluster/leaderLock.js';
import type { Pubsub } from '../cluster/pubsub.js';
import type { Config } from '../config/configSchema.js';
import { dockerDriverConfig } from '../drivers/docker/dockerDriverConfig.js';
import { createDriver } from '../drivers/driverRegistry.js';
import { ecsDriverConfig } from '../drivers/ecs/ecsDriverConfig.js';
import { kubernetesDriverConfig } from '../drivers/kubernetes/kubernetesDriverConfig.js';
import { defaultClaudePath } from '../drivers/local/claudePath.js';
import type { RuntimeDriver } from '../drivers/runtimeDriver.js';
import { EgressProxy } from '../egress/egressProxy.js';
import { BudgetGuard } from '../gateway/budgetGuard.js';
import { createCredentialResolver } from '../gateway/credentialResolver.js';
import { type GatewayAttribution, ModelGateway } from '../gateway/modelGateway.js';
import type { NodeHub } from '../nodes/nodeHub.js';
import { LifecyclePass } from '../scheduler/lifecyclePass.js';
import type { AuditStore } from '../store/auditStore.js';
import type { SchedulerStore } from '../store/schedulerStore.js';
import type { SecretStore } from '../store/secretStore.js';
import type { TaskStore } from '../store/taskStore.js';
import type { UsageStore } from '../store/usageStore.js';
import type { WorkspaceStore } from '../store/workspaceStore.js';
import { TaskIngest } from '../tasks/taskIngest.js';
import { TaskService } from '../tasks/taskService.js';
import { agentEndpointUrl } from './agentEndpoint.js';
import { AgentHub, type AgentRemote } from './agentHub.js';
import { MAX_SOCKET_PATH } from './agentTransports/unixListener.js';
import { nodeReport, toNodeInfo } from './nodeReport.js';
import { type ReconcileReport, Reconciler } from './reconciler.js';
import { TerminalHub } from './terminalHub.js';
import { WorkspaceService, workspaceIdFor } from './workspaceService.js';

export interface WorkspaceRuntime {
  driver: RuntimeDriver;
  /** The node daemons connected to this replica (sdk/nodeProtocol.ts); undefined in tests that inject a driver without one. */
  nodes: NodeHub | undefined;
  hub: AgentHub;
  egress: EgressProxy;
  service: WorkspaceService;
  terminals: TerminalHub;
  reconciler: Reconciler;
  /** sessions.idleTimeout, sessions.maxDuration, pooling.taskTimeout, userDefaults.autoTerminate. */
  lifecycle: LifecyclePass;
  tasks: TaskService;
  ingest: TaskIngest;
  /**
   * Checks that workspaces can run with this data dir and driver (`RuntimeDriver.preflight`);
   * call before the server listens.
   * @throws Error (DriverError `unavailable` from the driver) with a sentence naming what is
   * wrong and the fix.
   */
  preflight(): Promise<void>;
  /** Reconciles once and keeps doing so; call after the server listens. */
  start(): Promise<ReconcileReport>;
  /** Stops the server's side; the boxes keep running. */
  close(): Promise<void>;
}

/** Where the built agent lives: dist/agent next to the compiled server, or the repo's when run from source. */
export function defaultAgentDir(): string {
  const here = import.meta.dirname;
  const compiled = here.split('/').includes('dist');
  return resolve(here, compiled ? '../../agent' : '../../dist/agent');
}

/**
 * What is left of this host's cores for all workspaces together once `reserved` cores are kept
 * for the control plane. @throws at startup when the reserve leaves nothing (a setting that cannot
 * take effect must not be accepted).
 */
function workspacesCpu(reserved: number): number | undefined {
  if (reserved === 0) return undefined;
  const host = availableParallelism();
  if (reserved >= host) {
    throw new Error(`runtime.local.reservedCpu (${reserved}) must be below this host's ${host} CPUs.`);
  }
  return host - reserved;
}

export function createWorkspaceRuntime(opts: {
  config: Config;
  store: WorkspaceStore;
  taskStore: TaskStore;
  schedulerStore: SchedulerStore;
  secrets: SecretStore;
  usage: UsageStore;
  auditStore: AuditStore;
  /**
   * The services' clock: task timestamps, budget months, heartbeat silence, terminal idleness,
   * the reconcile loop, its restart window and the clone-progress throttle are measured on it.
   */
  clock: Clock;
  log: Logger;
  /** The URL users reach this server at (it is known once the server listens). */
  publicUrl: () => string;
  /** The other replicas, for agents connected to them (cluster/agentRelay.ts). */
  remote?: AgentRemote;
  driver?: RuntimeDriver;
  /** Messages between replicas: the task feed crosses them on it. */
  pubsub: Pubsub;
  /** One reconciler at a time across replicas: passes run only while this replica leads `reconcile`. */
  leaders?: LeaderLocks;
  /** Sections no two replicas run at once (Docker placement). */
  mutex?: ClusterMutex;
  /** The `rclaude node` daemons connected here (Docker hosts on other machines). */
  nodes?: NodeHub;
}): WorkspaceRuntime {
  const { config, store, log } = opts;
  const dataDir = resolve(config.dataDir);
  const driver =
    opts.driver ??
    createDriver(config.runtime.driver, {
      local: {
        dataDir,
        bwrapPath: config.runtime.local.bwrapPath,
        nodePath: process.execPath,
        agentDir: defaultAgentDir(),
        claudePath: defaultClaudePath(),
        uidBase: config.runtime.local.uidBase,
        cgroupRoot: config.runtime.local.cgroupRoot,
        cgroupParent: config.runtime.local.cgroupParent,
        workspacesCpu: workspacesCpu(config.runtime.local.reservedCpu),
        // The host's cores and memory; as many workspaces as any node takes by default.
        capacity: { maxWorkspaces: config.pooling.maxTasksPerInstance },
      },
      docker: {
        ...dockerDriverConfig(config, opts.nodes),
        // Replicas on one database place one workspace at a time between them.
        ...(opts.mutex
          ? { placementLock: (section) => opts.mutex?.run('placement', section) ?? section() }
          : {}),
      },
      kubernetes: kubernetesDriverConfig(config),
      ecs: () => ecsDriverConfig(config),
    });
  const egress = new EgressProxy({
    allow: config.egress.allow,
    onDecision: (d) => {
      if (!d.allowed) log.info({ egress: d }, 'egress refused');
    },
  });
  // The model gateway relays a workspace's model traffic with the real key; `tasks` (below)
  // tells it which task a request is for.
  let attribute: (workspaceId: string) => Promise<GatewayAttribution | undefined> = async () => undefined;
  const budgets = new BudgetGuard({
    usage: opts.usage,
    clock: opts.clock,
    monthlyUsdPerUser: config.budgets.monthlyUsdPerUser,
  });
  const gateway = new ModelGateway({
    upstream: config.gateway.upstream,
    prices: config.gateway.prices,
    log,
    attribute: (workspaceId) => attribute(workspaceId),
    checkBudget: (a) => budgets.check(a),
    resolveCredential: createCredentialResolver({ secrets: opts.secrets, orgApiKey: config.claude.apiKey }),
    record: async (u) => {
      const totals = await opts.usage.insert(u);
      if (totals) tasks.metered(totals);
    },
  });
  const hub = new AgentHub({
    transport: driver.agentTransport,
    runDir: join(dataDir, 'run'),
    workspaces: store,
    audit: opts.auditStore,
    log,
    heartbeatMs: config.workspaces.heartbeatIntervalMs,
    clock: opts.clock,
    onTunnel: (target, stream, workspaceId) => {
      if (target === 'egress') egress.handle(stream, { workspaceId });
      else gateway.handle(stream, { workspaceId });
    },
    ...(opts.remote ? { remote: opts.remote } : {}),
  });
  const service = new WorkspaceService({
    config,
    store,
    driver,
    hub,
    log,
    clock: opts.clock,
    agentUrl: () => agentEndpointUrl(config.server.agentUrl, opts.publicUrl()),
    ...(opts.leaders ? { hold: opts.leaders.tryHold.bind(opts.leaders) } : {}),
  });
  const terminals = new TerminalHub({
    hub,
    idleTimeoutMs: config.workspaces.terminalIdleTimeout * 1000,
    clock: opts.clock,
  });
  const leaders = opts.leaders;
  const reconciler = new Reconciler({
    store,
    driver,
    hub,
    service,
    log,
    clock: opts.clock,
    ...(leaders ? { exclusive: (pass) => leaders.runExclusive('reconcile', pass) } : {}),
  });
  const tasks = new TaskService({
    config,
    nodes: async () => (await nodeReport(driver, store)).map(toNodeInfo),
    schedulerStore: opts.schedulerStore,
    leaders: opts.leaders,
    store: opts.taskStore,
    workspaces: store,
    workspaceService: service,
    hub,
    pubsub: opts.pubsub,
    clock: opts.clock,
    log,
  });
  const ingest = new TaskIngest({
    store: opts.taskStore,
    usage: opts.usage,
    meteringSettled: (workspaceId) => gateway.settled(workspaceId),
    hub,
    tasks,
    clock: opts.clock,
    log,
  });
  attribute = (workspaceId) => tasks.attribute(workspaceId);
  const lifecycle = new LifecyclePass({
    config,
    store,
    taskStore: opts.taskStore,
    service,
    tasks,
    terminals,
    pubsub: opts.pubsub,
    clock: opts.clock,
    log,
    ...(leaders ? { exclusive: (pass) => leaders.runExclusive('lifecycle', pass) } : {}),
  });
  return {
    driver,
    nodes: opts.nodes,
    hub,
    egress,
    service,
    terminals,
    reconciler,
    lifecycle,
    tasks,
    ingest,
    async preflight() {
      // Every workspace id has the same length, so one sample tells whether any socket fits.
      const socket = hub.socketPath(workspaceIdFor('', ''));
      if (socket && socket.length > MAX_SOCKET_PATH) {
        throw new Error(
          `Agent sockets under RC_DATA_DIR ${dataDir} would be ${socket.length} bytes long, over the ` +
            `${MAX_SOCKET_PATH} a unix socket path may have. Set RC_DATA_DIR to a shorter path, e.g. /var/lib/remote-claude.`,
        );
      }
      await driver.preflight?.();
    },
    start() {
      lifecycle.start();
      return reconciler.start(config.workspaces.reconcileInterval * 1000);
    },
    async close() {
      await lifecycle.close();
      await leaders?.leaderLock('lifecycle').release();
      await reconciler.stop();
      await leaders?.leaderLock('reconcile').release();
      service.close();
      await tasks.close();
      await ingest.drained();
      terminals.stop();
      await hub.close();
      // No event arrives now: the last ones' notices go out before the app closes the pubsub.
      await ingest.drained();
      tasks.feed.close();
      await egress.close();
      await gateway.close();
      await driver.close?.();
      await opts.nodes?.close();
    },
  };
}
