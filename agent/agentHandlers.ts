import type { RpcPeer } from '../sdk/rpcPeer.js';
import { cloneHandlers } from './clone.js';
import type { Handlers } from './defineHandler.js';
import { execHandlers } from './exec.js';
import { fileHandlers } from './files.js';
import { FileWatcher } from './fileWatcher.js';
import { taskHandlers } from './tasks/taskHandlers.js';
import type { TaskService } from './tasks/taskService.js';
import type { TerminalService } from './terminals.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

/**
 * Every request the agent answers, for one connection. Watches belong to the connection and end
 * with it; terminals and tasks belong to the agent and outlive it (each new connection gets the
 * tasks' unacknowledged events again).
 */
export function agentHandlers(
  peer: RpcPeer,
  root: WorkspaceRoot,
  terminals: TerminalService,
  tasks: TaskService,
): Handlers {
  const watcher = new FileWatcher(root, (params) => peer.notify('files.changed', params));
  peer.ws.once('close', () => watcher.closeAll());
  tasks.attach(peer);
  return {
    ...taskHandlers(tasks),
    ...fileHandlers(peer, root, watcher),
    ...terminals.handlers(peer),
    ...execHandlers(root),
    ...cloneHandlers(peer, root),
  };
}
