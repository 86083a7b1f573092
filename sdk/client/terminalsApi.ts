// A workspace's terminals (server/http/routes/terminalRoutes.ts has the WebSocket protocol).
import { queryString, type Transport } from './transport.js';
import { workspacePath } from './workspacesApi.js';

/** Open a new terminal of this size, or attach to a running one. */
export type TerminalTarget = { cols: number; rows: number } | { terminalId: string };

export class TerminalsApi {
  constructor(private readonly t: Transport) {}

  /** The terminals running in the workspace, to attach to. */
  list(id: string) {
    return this.t.call('GET', `${workspacePath(id)}/terminals`, 'TerminalList');
  }

  /** The WebSocket URL of a new terminal of a size, or of one to attach to. */
  url(id: string, target: TerminalTarget): string {
    const query =
      'terminalId' in target ? { terminalId: target.terminalId } : { cols: target.cols, rows: target.rows };
    return this.t.socketUrl(`${workspacePath(id)}/terminals${queryString(query)}`);
  }
}
