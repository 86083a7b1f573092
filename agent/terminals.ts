import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { NotificationOf } from '../sdk/agentProtocol.js';
import { opError, type RpcPeer } from '../sdk/rpcPeer.js';
import { defineHandler, type Handlers } from './defineHandler.js';
import { log } from './log.js';
import { Terminal } from './terminal.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

const MAX_TERMINALS = 64;

type NodePty = typeof import('node-pty');
let nodePty: Promise<NodePty> | undefined;

/**
 * The workspace's terminals. They belong to the agent, not to a connection, so they survive a
 * reconnect; `notify` sends on whichever connection is current (a `pty.exit` sent while
 * disconnected is lost, and the control plane sees the terminal missing from `pty.list`).
 */
export class TerminalService {
  private readonly terminals = new Map<string, Terminal>();

  constructor(
    private readonly root: WorkspaceRoot,
    private readonly notify: (method: 'pty.exit', params: NotificationOf<'pty.exit'>) => void,
  ) {}

  handlers(peer: RpcPeer): Handlers {
    return {
      ...defineHandler('pty.open', async ({ terminalId, channel, command, cols, rows }) => {
        const ch = peer.channel(channel);
        // node-pty loads a native addon; only workspaces that open a terminal pay for it.
        nodePty ??= import('node-pty');
        const pty = await nodePty;
        if (this.terminals.has(terminalId)) throw opError('exists', `Terminal ${terminalId} already exists.`);
        if (this.terminals.size >= MAX_TERMINALS) {
          throw opError('busy', `This workspace already has ${MAX_TERMINALS} terminals open.`);
        }
        const [file, ...args] = command ?? defaultShell();
        if (!isExecutable(file as string, this.root.dir))
          throw opError('spawn_failed', `${file}: command not found.`);
        let proc: ReturnType<NodePty['spawn']>;
        try {
          proc = pty.spawn(file as string, args, {
            name: 'xterm-256color',
            cols,
            rows,
            cwd: this.root.dir,
            env: { ...process.env, TERM: 'xterm-256color' },
            encoding: null,
          });
        } catch (err) {
          throw opError('spawn_failed', `${file} could not be started: ${(err as Error).message}`);
        }
        const terminal = new Terminal(terminalId, proc, cols, rows, (exitCode, signal) => {
          this.terminals.delete(terminalId);
          log('pty.exit', { terminalId, exitCode: exitCode ?? undefined, signal: signal ?? undefined });
          this.notify('pty.exit', { terminalId, exitCode, signal });
        });
        this.terminals.set(terminalId, terminal);
        terminal.bind(ch);
        log('pty.open', { terminalId, pid: proc.pid });
        return { pid: proc.pid };
      }),

      ...defineHandler('pty.attach', async ({ terminalId, channel }) => {
        this.get(terminalId).bind(peer.channel(channel));
        return {};
      }),

      ...defineHandler('pty.resize', async ({ terminalId, cols, rows }) => {
        this.get(terminalId).resize(cols, rows);
        return {};
      }),

      ...defineHandler('pty.close', async ({ terminalId }) => {
        this.get(terminalId).close();
        return {};
      }),

      ...defineHandler('pty.list', async () => ({
        terminals: [...this.terminals.values()].map((t) => ({
          terminalId: t.id,
          cols: t.cols,
          rows: t.rows,
          pid: t.pid,
        })),
      })),
    };
  }

  private get(terminalId: string): Terminal {
    const terminal = this.terminals.get(terminalId);
    if (!terminal) throw opError('not_found', `Terminal ${terminalId} does not exist (it may have exited).`);
    return terminal;
  }
}

function defaultShell(): string[] {
  return isExecutable('/bin/bash') ? ['/bin/bash', '-l'] : ['/bin/sh'];
}

/**
 * Whether `file` (a path, or a name looked up in PATH) can be run. node-pty reports a failed
 * exec only as exit code 1 after the fork, so we check first to answer spawn_failed instead.
 */
function isExecutable(file: string, cwd = '/'): boolean {
  const candidates = file.includes('/')
    ? [path.resolve(cwd, file)]
    : (process.env.PATH ?? '/usr/bin:/bin').split(':').map((dir) => path.join(dir || '.', file));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
