// Fake runtime drivers for server tests, after JupyterHub's SlowSpawner / NeverSpawner /
// BadSpawner: a box that takes its time to start, one that "runs" but whose agent never connects,
// and one that cannot start. They keep boxes in memory and honour the contract's idempotency, so
// they pass runDriverContract (bar the checks that need real commands).
import { ensureValidSpec } from './ensureValidSpec.js';
import {
  type AgentTransport,
  DriverError,
  type DriverKind,
  type RuntimeDriver,
  type RuntimeRef,
  type RuntimeState,
  type WorkspaceSpec,
} from './runtimeDriver.js';

interface FakeBox {
  spec: WorkspaceSpec;
  status: 'running' | 'stopped';
  /** Set while a start is under way, so concurrent starts share it. */
  starting?: Promise<void>;
  /** The last start failure, reported by inspect. */
  failure?: string;
}

/**
 * Boxes per data dir, shared by every fake created with that dir: a "restarted control plane"
 * (a new fake on the same dir) sees the boxes of the old one, as it would with a real driver.
 */
const worlds = new Map<string, Map<string, FakeBox>>();

export interface FakeDriverOptions {
  /** Share boxes with other fakes on this dir; without it the fake has boxes of its own. */
  dataDir?: string;
  /** What the fake reports as its kind (default 'local'). */
  kind?: DriverKind;
  /** How its boxes would reach the agent channel (default 'unix'), so the spec is built to match. */
  agentTransport?: AgentTransport;
}

abstract class FakeDriver implements RuntimeDriver {
  readonly kind: DriverKind;
  readonly agentTransport: AgentTransport;
  /** Every call in order, as "<method> <workspaceId>", for tests that assert on what the server did. */
  readonly calls: string[] = [];
  protected readonly boxes: Map<string, FakeBox>;

  constructor(opts: FakeDriverOptions = {}) {
    this.kind = opts.kind ?? 'local';
    this.agentTransport = opts.agentTransport ?? 'unix';
    if (opts.dataDir === undefined) this.boxes = new Map();
    else {
      const world = worlds.get(opts.dataDir) ?? new Map<string, FakeBox>();
      worlds.set(opts.dataDir, world);
      this.boxes = world;
    }
  }

  /** The spec a box was last created with (tests check what the server asked for). */
  specOf(workspaceId: string): WorkspaceSpec | undefined {
    return this.boxes.get(workspaceId)?.spec;
  }

  /** Brings a box up; the subclass decides how (slowly, never really, or not at all). */
  protected abstract boot(box: FakeBox): Promise<void>;

  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    this.calls.push(`create ${spec.workspaceId}`);
    ensureValidSpec(spec, this.agentTransport);
    const box = this.boxes.get(spec.workspaceId);
    if (box) box.spec = spec;
    else this.boxes.set(spec.workspaceId, { spec, status: 'stopped' });
    return this.ref(spec.workspaceId);
  }

  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    this.calls.push(`start ${ref.workspaceId}`);
    const box = this.boxes.get(ref.workspaceId);
    if (!box)
      throw new DriverError({
        reason: 'not_found',
        userMessage: `Workspace ${ref.workspaceId} has no box to start.`,
      });
    if (box.status !== 'running') {
      box.starting ??= this.boot(box).finally(() => {
        box.starting = undefined;
      });
      await box.starting;
    }
    return this.ref(ref.workspaceId);
  }

  async stop(ref: RuntimeRef): Promise<void> {
    this.calls.push(`stop ${ref.workspaceId}`);
    const box = this.boxes.get(ref.workspaceId);
    if (box) box.status = 'stopped';
  }

  async remove(ref: RuntimeRef): Promise<void> {
    this.calls.push(`remove ${ref.workspaceId}`);
    this.boxes.delete(ref.workspaceId);
  }

  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    const box = this.boxes.get(ref.workspaceId);
    if (!box) return { status: 'missing' };
    return box.failure && box.status === 'stopped'
      ? { status: 'stopped', reason: box.failure }
      : { status: box.status };
  }

  async list(): Promise<RuntimeRef[]> {
    return [...this.boxes.keys()].map((id) => this.ref(id));
  }

  protected ref(workspaceId: string): RuntimeRef {
    return { kind: this.kind, workspaceId, data: { fake: true } };
  }
}

/** Starts boxes after `delayMs` (default 1 s); until then they are stopped. */
export class SlowDriver extends FakeDriver {
  private readonly delayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  /** @param opts.sleep how to wait (inject one that resolves on demand to control start order). */
  constructor(opts: FakeDriverOptions & { delayMs?: number; sleep?: (ms: number) => Promise<void> } = {}) {
    super(opts);
    this.delayMs = opts.delayMs ?? 1000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  protected async boot(box: FakeBox): Promise<void> {
    await this.sleep(this.delayMs);
    box.status = 'running';
    box.failure = undefined;
  }
}

/** Start resolves and inspect says running, but nothing runs: no agent ever connects. */
export class NeverStartingDriver extends FakeDriver {
  protected async boot(box: FakeBox): Promise<void> {
    box.status = 'running';
  }
}

/** Every start fails with `start_failed`; create, stop, remove and inspect work. */
export class FailingDriver extends FakeDriver {
  private readonly userMessage: string;

  constructor(opts: FakeDriverOptions & { userMessage?: string } = {}) {
    super(opts);
    this.userMessage = opts.userMessage ?? 'The workspace box failed to start: the fake driver always fails.';
  }

  protected async boot(box: FakeBox): Promise<void> {
    box.failure = this.userMessage;
    throw new DriverError({ reason: 'start_failed', userMessage: this.userMessage });
  }
}
