// A `network` runtime driver for tests: each "box" is the real agent bundle (dist/agent/agent.js)
// run as a plain host process with the spec's environment, so it dials the control plane at the
// spec's RC_AGENT_URL as a Kubernetes or ECS agent would. No isolation at all; tests only.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureValidSpec } from '../../server/drivers/ensureValidSpec.js';
import {
  DriverError,
  type RuntimeDriver,
  type RuntimeRef,
  type RuntimeState,
  type WorkspaceSpec,
} from '../../server/drivers/runtimeDriver.js';
import { defaultAgentDir } from '../../server/workspaces/workspaceRuntime.js';

interface HostBox {
  spec: WorkspaceSpec;
  dir: string;
  child?: ChildProcess;
  /** The agent's log lines (stderr), for tests that check what it did. */
  logs: string[];
}

export class HostAgentDriver implements RuntimeDriver {
  readonly kind = 'kubernetes' as const;
  readonly agentTransport = 'network' as const;
  private readonly boxes = new Map<string, HostBox>();

  /** The agent's log lines so far. */
  logs(workspaceId: string): string[] {
    return this.boxes.get(workspaceId)?.logs ?? [];
  }

  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    ensureValidSpec(spec, this.agentTransport);
    const box = this.boxes.get(spec.workspaceId);
    if (box) box.spec = spec;
    else
      this.boxes.set(spec.workspaceId, {
        spec,
        dir: mkdtempSync(join(tmpdir(), 'rc-host-agent-')),
        logs: [],
      });
    return this.ref(spec.workspaceId);
  }

  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    const box = this.boxes.get(ref.workspaceId);
    if (!box) throw new DriverError({ reason: 'not_found', userMessage: `No box for ${ref.workspaceId}.` });
    if (isAlive(box.child)) return ref;
    const workspace = join(box.dir, 'workspace');
    const home = join(box.dir, 'home');
    mkdirSync(workspace, { recursive: true });
    mkdirSync(home, { recursive: true });
    const child = spawn(process.execPath, [join(defaultAgentDir(), 'agent.js')], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        LANG: 'C.UTF-8',
        ...box.spec.env,
        RC_WORKSPACE_DIR: workspace,
        RC_AGENT_FORWARDER_PORT: '0',
        RC_AGENT_MODEL_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => box.logs.push(...text.split('\n').filter(Boolean)));
    box.child = child;
    return ref;
  }

  async stop(ref: RuntimeRef): Promise<void> {
    const child = this.boxes.get(ref.workspaceId)?.child;
    if (!child || !isAlive(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async remove(ref: RuntimeRef): Promise<void> {
    await this.stop(ref);
    const box = this.boxes.get(ref.workspaceId);
    if (box) rmSync(box.dir, { recursive: true, force: true });
    this.boxes.delete(ref.workspaceId);
  }

  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    const box = this.boxes.get(ref.workspaceId);
    if (!box) return { status: 'missing' };
    return { status: isAlive(box.child) ? 'running' : 'stopped' };
  }

  async list(): Promise<RuntimeRef[]> {
    return [...this.boxes.keys()].map((id) => this.ref(id));
  }

  /** Kills every agent and removes its directory (the end of a test file). */
  async removeAll(): Promise<void> {
    for (const id of [...this.boxes.keys()]) await this.remove(this.ref(id));
  }

  private ref(workspaceId: string): RuntimeRef {
    return { kind: this.kind, workspaceId, data: {} };
  }
}

function isAlive(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}
