// What a workspace container looks like: its name, labels, volumes and the hardened HostConfig
// (DESIGN §6 isolation profile). Pure functions, so the profile can be read (and tested) on one
// screen without a daemon.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { AGENT_SOCKET_DIR_IN_WORKSPACE, WORKSPACE_DIR } from '../../../sdk/agentProtocol.js';
import { boxEnv } from '../local/bwrapArgs.js';
import { SANDBOX_HOME, SANDBOX_HOSTNAME } from '../local/sandboxFiles.js';
import type { UnixWorkspaceSpec } from '../runtimeDriver.js';

/** Labels on every container and volume the driver makes; `list()` filters on the installation. */
export const LABEL = {
  installation: 'remote-claude.installation',
  workspace: 'remote-claude.workspace',
  /** `agent` for a workspace (a service that must keep running), `command` for a spec.command run. */
  role: 'remote-claude.role',
  /** The reserved resources, read back by placement without inspecting every container. */
  cpu: 'remote-claude.cpu',
  memoryBytes: 'remote-claude.memory-bytes',
  /** Hash of the create options: `create` replaces the container only when it changed. */
  spec: 'remote-claude.spec',
} as const;

/** The image's workspace user (uid and gid 1000 own /workspace and /home/user in the image). */
export const WORKSPACE_USER = '1000:1000';
/** Docker refuses memory limits below 6 MiB. */
export const DOCKER_MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export interface ContainerSettings {
  installation: string;
  image: string;
  /** OCI runtime (HostConfig.Runtime), e.g. "runsc"; unset: the daemon's default (runc). */
  runtime?: string | undefined;
  /** HostConfig.UsernsMode, e.g. "host" to opt out of a daemon's userns-remap. */
  usernsMode?: string | undefined;
  /** Size of the tmpfs at /tmp, in Docker's notation ("512m"). */
  tmpfsSize: string;
  /** Run Docker's init (tini) as PID 1 so zombies are reaped and signals reach the agent. */
  init: boolean;
}

export function containerName(installation: string, workspaceId: string): string {
  return `rc-${installation}-${workspaceId}`;
}

export function volumeNames(installation: string, workspaceId: string): { workspace: string; home: string } {
  const base = containerName(installation, workspaceId);
  return { workspace: `${base}-workspace`, home: `${base}-home` };
}

export function volumeLabels(installation: string, workspaceId: string): Record<string, string> {
  return { [LABEL.installation]: installation, [LABEL.workspace]: workspaceId };
}

/**
 * The container create body for a workspace. `hostCpus` caps NanoCpus at the node's CPU count,
 * which Docker requires (a cap above all cores means "all cores" anyway). `cgroupParent` puts the
 * container's cgroup under the one that holds every workspace on the node (see
 * `DockerDriver.cgroupParent`).
 */
export function containerOptions(
  spec: UnixWorkspaceSpec,
  s: ContainerSettings,
  hostCpus?: number,
  cgroupParent?: string,
): Docker.ContainerCreateOptions {
  const volumes = volumeNames(s.installation, spec.workspaceId);
  const cpu = Math.min(spec.resources.cpu, hostCpus ?? Number.POSITIVE_INFINITY);
  const body: Docker.ContainerCreateOptions = {
    name: containerName(s.installation, spec.workspaceId),
    Image: s.image,
    ...(spec.command ? { Cmd: spec.command } : {}),
    Env: Object.entries(boxEnv(spec.env)).map(([k, v]) => `${k}=${v}`),
    User: WORKSPACE_USER,
    WorkingDir: WORKSPACE_DIR,
    Hostname: SANDBOX_HOSTNAME,
    Labels: {
      ...volumeLabels(s.installation, spec.workspaceId),
      [LABEL.role]: spec.command ? 'command' : 'agent',
      [LABEL.cpu]: String(spec.resources.cpu),
      [LABEL.memoryBytes]: String(spec.resources.memoryBytes),
    },
    HostConfig: {
      // No interface but loopback: the agent reaches the control plane over the bound socket and
      // everything else goes through its forwarder (DESIGN §4, §5).
      NetworkMode: 'none',
      Mounts: [
        { Type: 'volume', Source: volumes.workspace, Target: WORKSPACE_DIR },
        { Type: 'volume', Source: volumes.home, Target: SANDBOX_HOME },
        { Type: 'bind', Source: spec.agentSocketDir, Target: AGENT_SOCKET_DIR_IN_WORKSPACE },
      ],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${s.tmpfsSize}` },
      Memory: spec.resources.memoryBytes,
      MemorySwap: spec.resources.memoryBytes,
      NanoCpus: Math.max(1, Math.round(cpu * 1e9)),
      PidsLimit: spec.resources.pids,
      ...(cgroupParent ? { CgroupParent: cgroupParent } : {}),
      // A workspace is a service: the daemon brings it back after a crash or its own restart.
      // A spec.command runs to completion, so restarting it would run it again.
      RestartPolicy: { Name: spec.command ? 'no' : 'unless-stopped' },
      Init: s.init,
      // Bounded, and readable by `docker logs` whatever the daemon's default log driver is.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
      ...(s.runtime ? { Runtime: s.runtime } : {}),
      ...(s.usernsMode ? { UsernsMode: s.usernsMode } : {}),
    },
  };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
  (body.Labels as Record<string, string>)[LABEL.spec] = hash;
  return body;
}
