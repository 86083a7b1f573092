import type { RpcPeer } from '../sdk/rpcPeer.js';
import { cloneHandlers } from './clone.js';
import type { Handlers } from './defineHandler.js';
import { execHandlers } from './exec.js';
import { fileHandlers } from './files.js';
import { FileWatcher } from './fileWatcher.js';
import type { TerminalService } from './terminals.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

/**
 * Every request the agent answers, for one connection. Watches belong to the connection and end
 * with it; terminals belong to the agent and outlive it.
 */
export function agentHandlers(peer: RpcPeer, root: WorkspaceRoot, terminals: TerminalService): Handlers {
  const watcher = new FileWatcher(root, (params) => peer.notify('files.changed', params));
  peer.ws.once('close', () => watcher.closeAll());
  return {
    ...fileHandlers(peer, root, watcher),
    ...terminals.handlers(peer),
    ...execHandlers(root),
    ...cloneHandlers(peer, root),
  };
}
