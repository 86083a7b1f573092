// An optional part of the runtime driver contract: drivers that place workspaces on several
// nodes say how each node is doing. GET /api/v1/nodes shows it; a driver without it is shown as
// one node (server/workspaces/nodeReport.ts).
import type { NodeItem } from '../../sdk/nodeWire.js';
import type { RuntimeDriver } from './runtimeDriver.js';

export interface NodeReporter {
  /**
   * Every configured node with its health (checked now, with a timeout), its capacity and what
   * the installation's workspaces on it reserve. Called by GET /api/v1/nodes (admins).
   * Never throws for an unreachable node: that node is reported `healthy: false` with `error`.
   */
  nodes(): Promise<NodeItem[]>;
}

export function isNodeReporter(driver: RuntimeDriver): driver is RuntimeDriver & NodeReporter {
  return typeof (driver as Partial<NodeReporter>).nodes === 'function';
}
