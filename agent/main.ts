// The agent: the program inside every workspace (DESIGN §3–4). It dials the control plane, serves
// files, terminals, commands, clones and Claude Code tasks over that one connection, reports
// heartbeats, and runs the loopback forwarders (egress and model) that are the workspace's only
// way out.
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  AGENT_FORWARDER_PORT,
  AGENT_MODEL_PORT,
  AGENT_UNIX_URL_IN_WORKSPACE,
  AgentEnv,
} from '../sdk/agentProtocol.js';
import { AgentConnection } from './agentConnection.js';
import { agentHandlers } from './agentHandlers.js';
import { DiskUsage } from './diskUsage.js';
import { startForwarder } from './forwarder.js';
import { UsageSampler } from './heartbeat.js';
import { log } from './log.js';
import { DEFAULT_CLAUDE_PATH } from './tasks/claudeCommand.js';
import { TaskService } from './tasks/taskService.js';
import { TerminalService } from './terminals.js';
import { WorkspaceRoot } from './workspaceRoot.js';

const Env = AgentEnv.extend({
  RC_AGENT_URL: z
    .string()
    .refine(isAgentUrl, { error: 'must be a ws://, wss:// or ws+unix:// URL' })
    .default(AGENT_UNIX_URL_IN_WORKSPACE),
  /** Port of the loopback forwarder; tests pass 0 for any free port. */
  RC_AGENT_FORWARDER_PORT: z.coerce.number().int().min(0).max(65535).default(AGENT_FORWARDER_PORT),
  /** Port of the model forwarder (Claude Code's ANTHROPIC_BASE_URL); tests pass 0. */
  RC_AGENT_MODEL_PORT: z.coerce.number().int().min(0).max(65535).default(AGENT_MODEL_PORT),
  /** The claude binary tasks run; drivers put it here, tests point elsewhere. */
  RC_CLAUDE_PATH: z.string().min(1).default(DEFAULT_CLAUDE_PATH),
});

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  // Children (shells, Claude Code, git) inherit process.env: the token must not reach them.
  delete process.env.RC_AGENT_TOKEN;
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      process.stderr.write(`rc-agent: bad environment: ${issue.path.join('.')}: ${issue.message}\n`);
    }
    process.exit(2);
  }
  const env = parsed.data;
  let root: WorkspaceRoot;
  try {
    root = await WorkspaceRoot.open(env.RC_WORKSPACE_DIR);
  } catch {
    process.stderr.write(
      `rc-agent: bad environment: RC_WORKSPACE_DIR: ${env.RC_WORKSPACE_DIR} does not exist\n`,
    );
    process.exit(2);
  }

  const disk = new DiskUsage([root.dir, os.homedir()]);
  void disk.refresh();
  const usage = new UsageSampler(disk);
  // pty.exit goes out on whichever connection is up when the terminal exits (never before this
  // function has returned, so `connection` is initialised by then).
  const terminals = new TerminalService(root, (method, params) => connection.current?.notify(method, params));
  // Constructed first so the forwarders' callbacks can see it; the handlers reach `tasks` only
  // once it runs (connection.start() below).
  const connection = new AgentConnection({
    url: env.RC_AGENT_URL,
    token: env.RC_AGENT_TOKEN,
    workspaceId: env.RC_WORKSPACE_ID,
    heartbeatMs: env.RC_AGENT_HEARTBEAT_MS,
    handlers: (peer) => agentHandlers(peer, root, terminals, tasks),
    onNotification: (method, params) => tasks.onNotification(method, params),
    usage: () => usage.sample(),
  });
  const modelForwarder = startForwarder(env.RC_AGENT_MODEL_PORT, () => connection.current, 'model');
  const modelPort = modelForwarder.then((server) => (server.address() as net.AddressInfo).port);
  modelPort.catch(() => {}); // logged below; task.start reports it
  const tasks = new TaskService({
    tasksDir: path.join(os.homedir(), '.remote-claude', 'tasks'),
    workspaceDir: root.dir,
    claudePath: env.RC_CLAUDE_PATH,
    modelPort,
    env: process.env,
  });
  // Queues a previous agent left behind are resent on the first connection, so load them first.
  await tasks.load();
  connection.start();
  startForwarder(env.RC_AGENT_FORWARDER_PORT, () => connection.current).catch((err: Error) =>
    // Files and terminals still work without egress, so a taken port is not fatal.
    log('forwarder.failed', { port: env.RC_AGENT_FORWARDER_PORT, error: err.message }),
  );
  modelForwarder.catch((err: Error) =>
    // Nor is a taken model port: only tasks need it, and task.start then says why it fails.
    log('forwarder.failed', { port: env.RC_AGENT_MODEL_PORT, error: err.message }),
  );

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log('agent.stopping', { signal });
      tasks.terminateAll();
      connection.stop();
      // Give the close frame a moment to leave; the box is going away either way.
      setTimeout(() => process.exit(0), 200).unref();
    });
  }
  process.on('unhandledRejection', (err) => log('agent.unhandled_rejection', { error: String(err) }));
}

function isAgentUrl(url: string): boolean {
  try {
    return ['ws:', 'wss:', 'ws+unix:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

void main();
