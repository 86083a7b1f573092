import {
  AGENT_FORWARDER_PORT,
  AGENT_SOCKET_DIR_IN_WORKSPACE,
  WORKSPACE_DIR,
} from '../../../sdk/agentProtocol.js';
import { stagedPath } from './boxStage.js';
import { type HostLayout, SANDBOX_HOME, SANDBOX_HOSTNAME, SANDBOX_USER } from './sandboxFiles.js';

/** Where the host's node binary, Claude Code and the agent bundle appear inside every box. */
export const BOX_BIN_DIR = '/opt/remote-claude/bin';
export const BOX_NODE_PATH = `${BOX_BIN_DIR}/node`;
/** The agent's default RC_CLAUDE_PATH (agent/tasks/claudeCommand.ts). */
export const BOX_CLAUDE_PATH = `${BOX_BIN_DIR}/claude`;
export const BOX_AGENT_DIR = '/opt/remote-claude/agent';
const SKELETON_DIRS = ['/etc', '/home', '/opt', '/opt/remote-claude', '/opt/remote-claude/bin', '/run'];

/** What a box runs when the spec names no command. */
export const AGENT_COMMAND: readonly string[] = [BOX_NODE_PATH, `${BOX_AGENT_DIR}/agent.js`];

/**
 * File descriptors the launcher opens (as root) and hands to bwrap. Passing the generated /etc
 * files and the argument list through descriptors lets them live in the root-only runtime
 * directory even though bwrap itself runs as the workspace user; bwrap closes them before the
 * box's command starts.
 */
export const BOX_FDS = { status: 3, args: 4, passwd: 5, group: 6, hosts: 7 } as const;

/**
 * What bwrap binds besides the host's system directories. The sources are not named here: bwrap
 * binds them from where boxStage.ts staged them (workspace, home and agent socket dir read-write;
 * node, the agent dir and claude read-only under /opt/remote-claude).
 */
export interface BoxMounts {
  uid: number;
  gid: number;
  /** Whether a Claude Code binary was staged, to bind at /opt/remote-claude/bin/claude. */
  withClaude: boolean;
  /** The spec's environment (the agent's URL and token, …). */
  env: Record<string, string>;
  layout: HostLayout;
}

/**
 * The environment inside the box. The platform's values come last so a spec cannot point the
 * proxies elsewhere or move HOME; NO_PROXY is empty so every outbound request goes through the
 * agent's forwarder (the box has no other network). /opt/remote-claude/bin comes last on PATH, so
 * `claude` works in a terminal while the host's own tools keep their precedence.
 */
export function boxEnv(specEnv: Record<string, string>): Record<string, string> {
  const proxy = `http://127.0.0.1:${AGENT_FORWARDER_PORT}`;
  return {
    ...specEnv,
    HOME: SANDBOX_HOME,
    USER: SANDBOX_USER,
    PATH: `/usr/local/bin:/usr/bin:/bin:${BOX_BIN_DIR}`,
    LANG: 'C.UTF-8',
    TERM: 'xterm-256color',
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: '',
    no_proxy: '',
  };
}

/**
 * bubblewrap's options for one box (the command follows separately). They are written to a
 * root-only file and read by bwrap through `--args`, so the environment (which holds the agent
 * token) never shows up in a host-wide visible command line.
 *
 * The box: every namespace unshared (its only network is loopback), a fresh session (no
 * TIOCSTI into a terminal), an empty environment plus `boxEnv`, the host's /usr read-only, a
 * hand-picked read-only /etc, private /proc, /dev and /tmp, the workspace, home and agent socket
 * directory read-write, and finally /dev and the root itself remounted read-only. Writable in
 * the end: /workspace, the home, /tmp, /dev/shm and /run/remote-claude (and the device nodes).
 */
export function bwrapArgs(m: BoxMounts): string[] {
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--new-session',
    '--uid',
    String(m.uid),
    '--gid',
    String(m.gid),
    '--hostname',
    SANDBOX_HOSTNAME,
    '--clearenv',
  ];
  for (const [name, value] of Object.entries(boxEnv(m.env))) args.push('--setenv', name, value);
  args.push('--ro-bind', '/usr', '/usr');
  for (const entry of m.layout.topLevel) {
    if (entry.kind === 'symlink') args.push('--symlink', entry.target, `/${entry.name}`);
    else args.push('--ro-bind', `/${entry.name}`, `/${entry.name}`);
  }
  // bwrap 0.8 creates the parents of bind targets 0700; the box's skeleton should look normal.
  for (const dir of SKELETON_DIRS) args.push('--perms', '0755', '--dir', dir);
  for (const name of m.layout.etc) args.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);
  for (const [fd, file] of [
    [BOX_FDS.passwd, '/etc/passwd'],
    [BOX_FDS.group, '/etc/group'],
    [BOX_FDS.hosts, '/etc/hosts'],
  ] as const) {
    args.push('--perms', '0644', '--ro-bind-data', String(fd), file);
  }
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // POSIX shared memory (shm_open) needs a writable /dev/shm; the rest of /dev is made read-only.
    '--tmpfs',
    '/dev/shm',
    '--tmpfs',
    '/tmp',
    '--bind',
    stagedPath('workspace'),
    WORKSPACE_DIR,
    '--bind',
    stagedPath('home'),
    SANDBOX_HOME,
    '--bind',
    stagedPath('agent-socket'),
    AGENT_SOCKET_DIR_IN_WORKSPACE,
    '--ro-bind',
    stagedPath('node'),
    BOX_NODE_PATH,
    '--ro-bind',
    stagedPath('agent'),
    BOX_AGENT_DIR,
  );
  if (m.withClaude) args.push('--ro-bind', stagedPath('claude'), BOX_CLAUDE_PATH);
  args.push('--chdir', WORKSPACE_DIR, '--remount-ro', '/dev', '--remount-ro', '/');
  return args;
}
