// TEST ONLY. A `network` runtime driver whose boxes outlive any control-plane replica, for the
// cluster tests that run several real `rclaude serve` processes (test/support/cluster.ts). Like
// hostAgentDriver.ts, each "box" is the real agent bundle (dist/agent/agent.js) run as a plain
// host process with no isolation at all, dialling the spec's RC_AGENT_URL. Unlike it, the box
// state lives on disk in a directory every replica of the test shares, and the agent runs in a
// process group of its own, not tied to the replica that spawned it: `kill -9` of that replica
// leaves the agent running, and any replica can inspect, stop or remove any box.
//
//   <root>/<workspaceId>/spec.json   the spec (0600: its env holds the agent token)
//                        pid         the agent's pid, written after each spawn
//                        starts.log  one line per spawn (tests count them: "started once")
//                        agent.log   the agent's stderr
//                        workspace/, home/
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

export interface SharedHostAgentDriverOptions {
  /** The directory every replica of the test shares. */
  root: string;
  /** The claude binary the agents run tasks with (RC_CLAUDE_PATH). */
  claudePath?: string;
}

/** Whether `pid` is a live (not zombie) process. */
export function isLivePid(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export class SharedHostAgentDriver implements RuntimeDriver {
  readonly kind = 'kubernetes' as const;
  readonly agentTransport = 'network' as const;

  constructor(private readonly o: SharedHostAgentDriverOptions) {
    mkdirSync(o.root, { recursive: true });
  }

  /** The box's directory (its files are under `workspace/`). */
  boxDir(workspaceId: string): string {
    return join(this.o.root, workspaceId);
  }

  private dir(workspaceId: string): string {
    return this.boxDir(workspaceId);
  }

  /** The agent's log so far (its stderr), for failure messages. */
  logs(workspaceId: string): string {
    try {
      return readFileSync(join(this.dir(workspaceId), 'agent.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** How many times an agent process was spawned for the workspace. */
  starts(workspaceId: string): number {
    try {
      return readFileSync(join(this.dir(workspaceId), 'starts.log'), 'utf8')
        .split('\n')
        .filter(Boolean).length;
    } catch {
      return 0;
    }
  }

  /** The agent's pid while it runs. */
  pid(workspaceId: string): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir(workspaceId), 'pid'), 'utf8'));
      // A pid the kernel gave to another process since is not our agent.
      const ours = () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.js');
      return Number.isInteger(pid) && pid > 0 && isLivePid(pid) && ours() ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The pids of every agent running now. */
  livePids(): number[] {
    return readdirSync(this.o.root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => this.pid(e.name))
      .filter((p): p is number => p !== undefined);
  }

  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    ensureValidSpec(spec, this.agentTransport);
    const dir = this.dir(spec.workspaceId);
    mkdirSync(join(dir, 'workspace'), { recursive: true });
    mkdirSync(join(dir, 'home'), { recursive: true });
    // Atomic: another replica may read it at any moment.
    const tmp = join(dir, `spec.json.${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, JSON.stringify(spec), { mode: 0o600 });
    renameSync(tmp, join(dir, 'spec.json'));
    return this.ref(spec.workspaceId);
  }

  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    const dir = this.dir(ref.workspaceId);
    let spec: WorkspaceSpec;
    try {
      spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as WorkspaceSpec;
    } catch {
      throw new DriverError({ reason: 'not_found', userMessage: `No box for ${ref.workspaceId}.` });
    }
    if (this.pid(ref.workspaceId) !== undefined) return ref;
    const log = openSync(join(dir, 'agent.log'), 'a');
    try {
      const child = spawn(process.execPath, [join(defaultAgentDir(), 'agent.js')], {
        env: {
          PATH: process.env.PATH,
          HOME: join(dir, 'home'),
          LANG: 'C.UTF-8',
          ...spec.env,
          RC_WORKSPACE_DIR: join(dir, 'workspace'),
          RC_AGENT_FORWARDER_PORT: '0',
          RC_AGENT_MODEL_PORT: '0',
          ...(this.o.claudePath ? { RC_CLAUDE_PATH: this.o.claudePath } : {}),
        },
        cwd: join(dir, 'workspace'),
        // A process group of its own, no pipe to the replica: the replica's death is not the agent's.
        detached: true,
        stdio: ['ignore', 'ignore', log],
      });
      child.unref();
      if (child.pid === undefined)
        throw new DriverError({ reason: 'start_failed', userMessage: 'The agent did not spawn.' });
      writeFileSync(join(dir, 'pid'), String(child.pid));
      appendFileSync(join(dir, 'starts.log'), `${new Date().toISOString()} ${process.pid} ${child.pid}\n`);
    } finally {
      closeSync(log);
    }
    return ref;
  }

  async stop(ref: RuntimeRef): Promise<void> {
    const pid = this.pid(ref.workspaceId);
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
    // Reaped by its parent, or by init once that parent is dead: a zombie counts as stopped.
    const deadline = Date.now() + 5_000;
    while (isLivePid(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  async remove(ref: RuntimeRef): Promise<void> {
    await this.stop(ref);
    rmSync(this.dir(ref.workspaceId), { recursive: true, force: true });
  }

  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    if (!existsSync(join(this.dir(ref.workspaceId), 'spec.json'))) return { status: 'missing' };
    return { status: this.pid(ref.workspaceId) !== undefined ? 'running' : 'stopped' };
  }

  async list(): Promise<RuntimeRef[]> {
    return readdirSync(this.o.root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(this.o.root, e.name, 'spec.json')))
      .map((e) => this.ref(e.name));
  }

  /**
   * Kills every agent under `root` with its process group (the claude it runs, shells), end of a
   * test or leftovers of a killed run; resolves once they are gone (bounded).
   */
  static async killAll(root: string): Promise<void> {
    if (!existsSync(root)) return;
    const killed: number[] = [];
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      try {
        const pid = Number(readFileSync(join(root, e.name, 'pid'), 'utf8'));
        if (pid > 0 && isLivePid(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.js')) {
          process.kill(-pid, 'SIGKILL');
          killed.push(pid);
        }
      } catch {
        // No pid file, or gone.
      }
    }
    const deadline = Date.now() + 5_000;
    while (killed.some(isLivePid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private ref(workspaceId: string): RuntimeRef {
    return { kind: this.kind, workspaceId, data: {} };
  }
}
