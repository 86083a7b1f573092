import { readdir, rename, rm } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { isAbsolute } from 'node:path';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { capacityOf, type NodeState, place } from '../../scheduler/placement.js';
import { ensureValidSpec, WORKSPACE_ID_PATTERN } from '../ensureValidSpec.js';
import type { NodeReporter } from '../nodeReporter.js';
import {
  DriverError,
  type RuntimeDriver,
  type RuntimeRef,
  type RuntimeState,
  type UnixWorkspaceSpec,
  type WorkspaceSpec,
} from '../runtimeDriver.js';
import { allocateUid } from './allocateUid.js';
import {
  type BoxPaths,
  type BoxRecord,
  boxPaths,
  readBoxRecord,
  workspacesDir,
  writeBoxRecord,
  writePrivate,
} from './boxPaths.js';
import { ensureBoxAssets, ensureHostTools } from './boxPreflight.js';
import { type StageEntry, stageArgv } from './boxStage.js';
import { AGENT_COMMAND, BOX_FDS, bwrapArgs } from './bwrapArgs.js';
import type { BoxCgroup } from './cgroupFiles.js';
import { isRelativeCgroupPath, openBoxCgroup } from './cgroups.js';
import { ensureDataDir, ensureOwnedDir, ensureRootDir } from './hostDirs.js';
import { KeyedLock } from './keyedLock.js';
import { launchBox } from './launchBox.js';
import { LocalBox } from './localBox.js';
import { type HostLayout, hostLayout, sandboxFiles } from './sandboxFiles.js';

export interface LocalDriverConfig {
  /** Absolute RC_DATA_DIR; workspaces live in `<dataDir>/workspaces/<id>`. */
  dataDir: string;
  /** bubblewrap binary; default `bwrap`, looked up on /usr/sbin:/usr/bin:/sbin:/bin. */
  bwrapPath?: string;
  /** Host node binary (usually process.execPath), bound read-only at /opt/remote-claude/bin/node. */
  nodePath: string;
  /** Host dir holding agent.js and node_modules/, bound read-only at /opt/remote-claude/agent. Must be world-readable. */
  agentDir: string;
  /**
   * Host Claude Code binary, bound read-only at /opt/remote-claude/bin/claude (where the agent
   * runs it for tasks). Must be readable by other users. Unset: no claude in the box.
   * See `defaultClaudePath()` in claudePath.ts.
   */
  claudePath?: string;
  /** Workspaces run as host uid (and gid) uidBase + n, n >= 1, lowest free first. Default 200000. */
  uidBase?: number;
  /** Where the cgroup filesystem is mounted. Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Cgroup below which each box gets `<workspaceId>`. Default `remote-claude`. */
  cgroupParent?: string;
  /** Cores all workspaces together may use (the parent cgroup's cap); unset: no cap. */
  workspacesCpu?: number;
  /**
   * What running workspaces may reserve in all on this host, the driver's one node "local".
   * Unset cpu / memoryBytes: the host's cores and memory; unset maxWorkspaces: no limit
   * (the server passes pooling.maxTasksPerInstance).
   */
  capacity?: { cpu?: number; memoryBytes?: number; maxWorkspaces?: number };
}

/** The local driver's one node, as placement and GET /api/v1/nodes name it. */
export const LOCAL_NODE = 'local';

const DEFAULT_GRACE_SECONDS = 10;
/** Serialises uid allocation across workspaces; taken inside a workspace's own lock, never around one. */
const UID_LOCK = '#uids';
/** Serialises the room check and the launch of boxes, so two starts cannot take the last room. */
const PLACEMENT_LOCK = '#placement';

/**
 * Runs each workspace in a bubblewrap sandbox on this host, limited by cgroups (v1 or v2). The
 * embedded default runtime: no container engine needed, only root, bwrap and util-linux.
 *
 * Each workspace runs as its own unprivileged host uid, which is also its uid inside the box
 * (bwrap maps just that one id), so files in its volumes carry the same owner on both sides and
 * no two workspaces share an identity. The box is started by a detached launcher and so outlives
 * the control plane; everything about a box is on disk under the data dir, so a restarted control
 * plane (a new LocalDriver on the same dir) finds and controls it. See launchBox.ts for the
 * process tree and bwrapArgs.ts for what the box can see.
 */
export class LocalDriver implements RuntimeDriver, NodeReporter {
  readonly kind = 'local' as const;
  /** Boxes share this host with the control plane and have no network: the socket is bound in. */
  readonly agentTransport = 'unix' as const;
  private readonly config: Required<Omit<LocalDriverConfig, 'claudePath' | 'workspacesCpu' | 'capacity'>> &
    Pick<LocalDriverConfig, 'claudePath' | 'workspacesCpu'>;
  private readonly capacity: NodeState['capacity'];
  private readonly locks = new KeyedLock();
  /**
   * Boxes being launched now, with what they reserve: they count before their processes show.
   * Per process, like the placement lock: the boxes live on this host under this control
   * plane's data dir, and no other process starts boxes there.
   */
  private readonly launching = new Map<string, { cpu: number; memoryBytes: number }>();
  private layout?: Promise<HostLayout>;

  constructor(config: LocalDriverConfig) {
    for (const key of ['dataDir', 'nodePath', 'agentDir'] as const) {
      if (!isAbsolute(config[key])) throw new Error(`LocalDriverConfig.${key} must be an absolute path.`);
    }
    if (config.claudePath !== undefined && !isAbsolute(config.claudePath)) {
      throw new Error('LocalDriverConfig.claudePath must be an absolute path.');
    }
    if (config.uidBase !== undefined && !(Number.isSafeInteger(config.uidBase) && config.uidBase >= 1000)) {
      // Below 1000 live root and the system accounts; a workspace must never become one of them.
      throw new Error('LocalDriverConfig.uidBase must be a whole number of at least 1000.');
    }
    const cgroupParent = config.cgroupParent ?? 'remote-claude';
    if (!isRelativeCgroupPath(cgroupParent)) {
      throw new Error('LocalDriverConfig.cgroupParent must be a relative cgroup path without "..".');
    }
    this.config = {
      dataDir: config.dataDir,
      nodePath: config.nodePath,
      agentDir: config.agentDir,
      claudePath: config.claudePath,
      bwrapPath: config.bwrapPath ?? 'bwrap',
      uidBase: config.uidBase ?? 200_000,
      cgroupRoot: config.cgroupRoot ?? '/sys/fs/cgroup',
      cgroupParent,
      workspacesCpu: config.workspacesCpu,
    };
    // The host's cores, not minus runtime.local.reservedCpu: a reservation is a box's CPU limit
    // (a ceiling, not a guarantee) and the parent cgroup already caps all boxes together at the
    // cores minus the reserve, so the control plane keeps its share however many run.
    // Subtracting the reserve too would refuse a second 1-CPU workspace on a 2-core host where
    // the cap lets both run (sharing 1.5 cores when both are busy).
    this.capacity = capacityOf(
      config.capacity ?? {},
      { cpu: availableParallelism(), memoryBytes: totalmem() },
      config.capacity?.maxWorkspaces,
    );
  }

  /**
   * Checks that boxes can run: root, bwrap and util-linux installed, the data dir creatable, and
   * node, the agent bundle and claude usable by a workspace user (boxPreflight.ts). Where the
   * checkout and the data dir are does not matter (boxStage.ts). Costs a walk of the agent
   * bundle's few dozen files.
   * @throws DriverError `unavailable` with a sentence naming the path or tool and the fix.
   */
  async preflight(): Promise<void> {
    if (process.getuid?.() !== 0) {
      throw new DriverError({
        reason: 'unavailable',
        userMessage:
          'The local runtime must run as root: it gives every workspace its own host user, cgroups ' +
          'and sandbox. Start the server as root, or set RC_RUNTIME=docker.',
      });
    }
    await ensureHostTools(this.config.bwrapPath);
    await ensureDataDir(this.config.dataDir);
    await ensureBoxAssets(this.config);
  }

  /**
   * Creates the workspace's directories (owned by its uid) and records the spec; starts nothing.
   * Idempotent by workspace id: the uid stays, the spec is replaced, and changed limits are also
   * written into a running box's cgroup (the next start applies the stored limits in any case).
   * @throws DriverError `invalid_spec`; `unavailable` when not root or the data dir is unreachable;
   * `insufficient_resources` when a running box's cgroup refuses the new limits (a memory limit
   * below its current use).
   */
  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    ensureValidSpec(spec, this.agentTransport);
    await ensureDataDir(this.config.dataDir);
    const id = spec.workspaceId;
    return this.locks.run(id, () =>
      this.locks.run(UID_LOCK, async () => {
        const paths = this.paths(id);
        await ensureRootDir(paths.root, 0o700);
        await ensureRootDir(paths.runtime, 0o700);
        const existing = await readBoxRecord(paths);
        const uid = existing?.uid ?? (await allocateUid(this.config.dataDir, id, this.config.uidBase));
        await this.ensureVolumes(paths, uid, spec);
        const decision = await this.roomFor(id, spec.resources);
        await writeBoxRecord(paths, { version: 1, workspaceId: id, uid, spec });
        if (existing && JSON.stringify(existing.spec.resources) !== JSON.stringify(spec.resources))
          await this.updateRunningLimits(id, spec);
        return { ...this.ref(id, uid), placement: decision };
      }),
    );
  }

  /**
   * Whether this host has room for the workspace beside the other running (or launching) boxes,
   * and the placement's sentence saying so.
   * @throws DriverError `insufficient_resources` with the sentence naming what is reserved.
   */
  private async roomFor(id: string, want: { cpu: number; memoryBytes: number }): Promise<string> {
    const decision = place([await this.nodeState(id)], want);
    if (!decision.node)
      throw new DriverError({ reason: 'insufficient_resources', userMessage: decision.explanation });
    return decision.explanation;
  }

  /** The host as placement sees it: its capacity, and what running and launching boxes but `exclude` reserve. */
  private async nodeState(exclude?: string): Promise<NodeState> {
    const used = { cpu: 0, memoryBytes: 0, workspaces: 0 };
    const add = (r: { cpu: number; memoryBytes: number }) => {
      used.cpu += r.cpu;
      used.memoryBytes += r.memoryBytes;
      used.workspaces += 1;
    };
    const names = await readdir(workspacesDir(this.config.dataDir)).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((id) => WORKSPACE_ID_PATTERN.test(id) && id !== exclude)
        .map(async (id) => {
          const launching = this.launching.get(id);
          if (launching) return add(launching);
          const record = await readBoxRecord(this.paths(id));
          if (record && (await (await this.box(id)).isRunning())) add(record.spec.resources);
        }),
    );
    return { name: LOCAL_NODE, capacity: this.capacity, used };
  }

  /** This host as the one node of GET /api/v1/nodes: the capacity placement enforces and what running boxes reserve. */
  async nodes(): Promise<NodeItem[]> {
    const state = await this.nodeState();
    const c = state.capacity;
    return [
      {
        name: LOCAL_NODE,
        driver: 'local',
        healthy: true,
        capacity: {
          cpu: c.cpu ?? null,
          memoryBytes: c.memoryBytes ?? null,
          maxWorkspaces: c.workspaces ?? null,
        },
        host: { cpu: availableParallelism(), memoryBytes: totalmem() },
        used: { ...state.used, running: state.used.workspaces - this.launching.size },
      },
    ];
  }

  /**
   * Starts the box and resolves once bwrap has set it up and its command runs (or has already
   * run and exited). Idempotent: a running box is left alone.
   * @throws DriverError `not_found` (never created), `start_failed` with bwrap's first error line
   * (bad bind, missing binary) or when cgroup limits cannot be set up; `unavailable` without cgroups.
   */
  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    const id = this.idOf(ref);
    const notFound = new DriverError({
      reason: 'not_found',
      userMessage: `Workspace ${ref.workspaceId} has no box to start.`,
    });
    if (id === undefined) throw notFound;
    return this.locks.run(id, async () => {
      const paths = this.paths(id);
      const record = await readBoxRecord(paths);
      if (!record) throw notFound;
      const cgroup = await this.cgroup(id);
      const box = await this.box(id, cgroup);
      if (await box.isRunning()) return this.ref(id, record.uid);
      // Checked and counted in one section: the box reserves from here on, before it runs.
      await this.locks.run(PLACEMENT_LOCK, async () => {
        await this.roomFor(id, record.spec.resources);
        this.launching.set(id, record.spec.resources);
      });
      try {
        await this.ensureVolumes(paths, record.uid, record.spec);
        await cgroup.recreate(record.spec.resources);
        await this.writeLaunchFiles(paths, record);
        await launchBox(paths, cgroup.procsFiles, this.argv(record));
        await box.waitForStart();
      } finally {
        this.launching.delete(id);
      }
      return this.ref(id, record.uid);
    });
  }

  /**
   * SIGTERMs every process in the box's cgroup (bwrap's own outer process excepted, so the
   * command's real exit status is what gets recorded), waits up to `graceSeconds` (default 10),
   * then SIGKILLs whatever is left. Idempotent.
   * @throws DriverError `internal` if processes survive SIGKILL for 5 s (stuck in the kernel).
   */
  async stop(ref: RuntimeRef, opts?: { graceSeconds?: number }): Promise<void> {
    const id = this.idOf(ref);
    if (id === undefined) return;
    await this.locks.run(id, () => this.stopLocked(id, opts?.graceSeconds ?? DEFAULT_GRACE_SECONDS));
  }

  /** Stops the box, removes its cgroups and runtime dir, and its volumes unless `keepVolume`. Idempotent. */
  async remove(ref: RuntimeRef, opts?: { keepVolume?: boolean }): Promise<void> {
    const id = this.idOf(ref);
    if (id === undefined) return;
    await this.locks.run(id, async () => {
      await this.stopLocked(id, DEFAULT_GRACE_SECONDS);
      // Without usable cgroups there is no cgroup to remove.
      const cgroup = await this.cgroup(id).catch(() => undefined);
      try {
        await cgroup?.remove();
      } catch (err) {
        throw new DriverError({
          reason: 'internal',
          userMessage: 'The workspace box cgroup could not be removed.',
          cause: err,
        });
      }
      const paths = this.paths(id);
      await rm(paths.runtime, { recursive: true, force: true });
      if (!opts?.keepVolume) await rm(paths.root, { recursive: true, force: true });
    });
  }

  /** running (with cgroup usage), stopped (with exit status and why), or missing. Never throws for a missing box. */
  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    const id = this.idOf(ref);
    if (id === undefined) return { status: 'missing' };
    const paths = this.paths(id);
    if (!(await readBoxRecord(paths))) return { status: 'missing' };
    // Inspect never throws for want of cgroups: the box's files alone say whether it runs.
    const cgroup = await this.cgroup(id).catch(() => undefined);
    const box = await this.box(id, cgroup);
    if (await box.isRunning()) return { status: 'running', usage: await cgroup?.usage() };
    const exit = await box.exitRecord();
    const reason = await box.stopReason(exit);
    return { status: 'stopped', ...(exit && { exitCode: exit.code }), ...(reason && { reason }) };
  }

  /** Every box with a record under `<dataDir>/workspaces`, running or not. */
  async list(): Promise<RuntimeRef[]> {
    const names = await readdir(workspacesDir(this.config.dataDir)).catch(() => [] as string[]);
    const refs: RuntimeRef[] = [];
    for (const name of names.filter((n) => WORKSPACE_ID_PATTERN.test(n)).sort()) {
      const record = await readBoxRecord(this.paths(name));
      if (record) refs.push(this.ref(name, record.uid));
    }
    return refs;
  }

  /** Nothing to release: the driver holds no handles, and boxes keep running. */
  async close(): Promise<void> {}

  /**
   * Writes changed limits into the cgroup of a box that may be running. The spec on disk is
   * already the new one, so the next start applies it whatever happens here.
   * @throws DriverError `insufficient_resources` when the kernel refuses (a memory limit below
   * what the box uses now), naming the file and the error.
   */
  private async updateRunningLimits(id: string, spec: WorkspaceSpec): Promise<void> {
    // Without usable cgroups no box can be running under limits (start refuses with
    // `unavailable`), so there is nothing to update and nothing to report.
    const cgroup = await this.cgroup(id).catch(() => undefined);
    if (!cgroup || !(await cgroup.exists())) return;
    try {
      await cgroup.applyLimits(spec.resources);
    } catch (err) {
      const cause = (err instanceof DriverError ? err.cause : err) as NodeJS.ErrnoException | undefined;
      throw new DriverError({
        reason: 'insufficient_resources',
        userMessage:
          `The running workspace could not take its new resource limits (${cause?.code ?? 'error'} on ` +
          `${cause?.path ?? 'its cgroup'}; a memory limit below what it uses now is refused). ` +
          'Stop and start it to run with the new limits.',
        cause: err,
      });
    }
  }

  private async stopLocked(id: string, graceSeconds: number): Promise<void> {
    await (await this.box(id)).terminate(graceSeconds);
  }

  /** The box's view of its runtime files and cgroup; without usable cgroups, of its files only. */
  private async box(id: string, cgroup?: BoxCgroup): Promise<LocalBox> {
    return new LocalBox(this.paths(id), cgroup ?? (await this.cgroup(id).catch(() => undefined)));
  }

  private async ensureVolumes(paths: BoxPaths, uid: number, spec: UnixWorkspaceSpec): Promise<void> {
    await ensureOwnedDir(paths.workspace, uid);
    await ensureOwnedDir(paths.home, uid);
    await ensureOwnedDir(spec.agentSocketDir, uid);
  }

  /** Fresh per-run files: the previous run's status is cleared and its log kept as agent.log.1. */
  private async writeLaunchFiles(paths: BoxPaths, record: BoxRecord): Promise<void> {
    for (const stale of [paths.pid, paths.exit, paths.status, paths.stopRequested])
      await rm(stale, { force: true });
    // There is no previous log before the first run.
    await rename(paths.log, paths.previousLog).catch(() => undefined);
    const etc = sandboxFiles(record.uid, record.uid);
    await writePrivate(paths.passwd, etc.passwd);
    await writePrivate(paths.group, etc.group);
    await writePrivate(paths.hosts, etc.hosts);
    this.layout ??= hostLayout();
    const args = bwrapArgs({
      uid: record.uid,
      gid: record.uid,
      withClaude: this.config.claudePath !== undefined,
      env: record.spec.env,
      layout: await this.layout,
    });
    await writePrivate(paths.args, `${args.join('\0')}\0`);
  }

  /**
   * Still as root, the box's bind sources are staged where its uid can reach them (boxStage.ts);
   * then setpriv drops root for the workspace uid (no groups, no capabilities, no new
   * privileges) and runs bwrap.
   */
  private argv(record: BoxRecord): string[] {
    const uid = String(record.uid);
    const paths = this.paths(record.workspaceId);
    const entries: StageEntry[] = [
      { name: 'workspace', kind: 'dir', source: paths.workspace },
      { name: 'home', kind: 'dir', source: paths.home },
      { name: 'agent-socket', kind: 'dir', source: record.spec.agentSocketDir },
      { name: 'node', kind: 'file', source: this.config.nodePath },
      { name: 'agent', kind: 'dir', source: this.config.agentDir },
    ];
    if (this.config.claudePath)
      entries.push({ name: 'claude', kind: 'file', source: this.config.claudePath });
    return stageArgv(entries, [
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      '--no-new-privs',
      '--bounding-set=-all',
      '--inh-caps=-all',
      '--',
      this.config.bwrapPath,
      '--args',
      String(BOX_FDS.args),
      '--json-status-fd',
      String(BOX_FDS.status),
      '--',
      ...(record.spec.command ?? AGENT_COMMAND),
    ]);
  }

  private cgroup(id: string): Promise<BoxCgroup> {
    return openBoxCgroup(this.config.cgroupRoot, this.config.cgroupParent, id, this.config.workspacesCpu);
  }

  private paths(id: string): BoxPaths {
    return boxPaths(this.config.dataDir, id);
  }

  /** Refs may come from the store; only a safe id is ever turned into a path. */
  private idOf(ref: RuntimeRef): string | undefined {
    return typeof ref.workspaceId === 'string' && WORKSPACE_ID_PATTERN.test(ref.workspaceId)
      ? ref.workspaceId
      : undefined;
  }

  private ref(workspaceId: string, uid: number): RuntimeRef {
    return { kind: 'local', workspaceId, data: { uid } };
  }
}
