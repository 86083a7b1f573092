import {
  type AgentTransport,
  DriverError,
  type UnixWorkspaceSpec,
  type WorkspaceSpec,
} from './runtimeDriver.js';

/** Workspace ids end up in host paths and cgroup names, so only a safe alphabet is accepted. */
export const WORKSPACE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Below this not even a shell and the sandbox helper fit. */
const MIN_MEMORY_BYTES = 4 * 1024 * 1024;
/** 1 PiB: anything larger is a unit mistake, not a wish. */
const MAX_MEMORY_BYTES = 2 ** 50;
/** The kernel's pid_max ceiling. */
const MAX_PIDS = 4_194_304;
/** The CFS scheduler's smallest quota is 1 ms per 100 ms period. */
const MIN_CPU = 0.01;
const MAX_CPU = 1024;

/**
 * Checks what every driver relies on before it touches the host: a safe workspace id, sane
 * positive limits, an environment that can be passed through argv-like channels (no NUL) and,
 * for a `unix` driver, the agent socket directory to bind. Driver-neutral; every driver and the
 * fakes use it.
 * @throws DriverError `invalid_spec` naming the first bad field.
 */
export function ensureValidSpec(spec: WorkspaceSpec, transport: 'unix'): asserts spec is UnixWorkspaceSpec;
export function ensureValidSpec(spec: WorkspaceSpec, transport: AgentTransport): void;
export function ensureValidSpec(spec: WorkspaceSpec, transport: AgentTransport): void {
  const bad = (field: string, rule: string): never => {
    throw new DriverError({
      reason: 'invalid_spec',
      userMessage: `The workspace spec is invalid: ${field} ${rule}.`,
    });
  };
  if (typeof spec.workspaceId !== 'string' || !WORKSPACE_ID_PATTERN.test(spec.workspaceId)) {
    bad('workspaceId', 'must be 1 to 64 letters, digits, "_" or "-"');
  }
  const { cpu, memoryBytes, pids } = spec.resources ?? ({} as WorkspaceSpec['resources']);
  if (!Number.isFinite(cpu) || cpu < MIN_CPU || cpu > MAX_CPU) {
    bad('resources.cpu', `must be a number of cores between ${MIN_CPU} and ${MAX_CPU}`);
  }
  if (
    !Number.isSafeInteger(memoryBytes) ||
    memoryBytes < MIN_MEMORY_BYTES ||
    memoryBytes > MAX_MEMORY_BYTES
  ) {
    bad('resources.memoryBytes', `must be a whole number of bytes between ${MIN_MEMORY_BYTES} and 2^50`);
  }
  if (!Number.isSafeInteger(pids) || pids < 1 || pids > MAX_PIDS) {
    bad('resources.pids', `must be a whole number between 1 and ${MAX_PIDS}`);
  }
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME_PATTERN.test(name)) bad(`env.${name}`, 'is not a valid variable name');
    if (typeof value !== 'string' || value.includes('\0')) bad(`env.${name}`, 'must be a string without NUL');
  }
  if (
    (transport === 'unix' || spec.agentSocketDir !== undefined) &&
    (typeof spec.agentSocketDir !== 'string' ||
      !spec.agentSocketDir.startsWith('/') ||
      spec.agentSocketDir.includes('\0'))
  ) {
    bad('agentSocketDir', 'must be an absolute host path');
  }
  if (transport === 'network' && !spec.env?.RC_AGENT_URL) {
    bad('env.RC_AGENT_URL', 'must be set: the agent dials the control plane over the network');
  }
  if (spec.command !== undefined) {
    if (!Array.isArray(spec.command) || spec.command.length === 0) bad('command', 'must be a non-empty list');
    for (const arg of spec.command ?? []) {
      if (typeof arg !== 'string' || arg.includes('\0')) bad('command', 'must hold strings without NUL');
    }
  }
}

/** The ref's workspace id when it is a safe one (refs may come from the store); else undefined. */
export function safeWorkspaceId(ref: { workspaceId?: unknown }): string | undefined {
  return typeof ref.workspaceId === 'string' && WORKSPACE_ID_PATTERN.test(ref.workspaceId)
    ? ref.workspaceId
    : undefined;
}
