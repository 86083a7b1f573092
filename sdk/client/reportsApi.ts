// What admins watch: the nodes that run workspaces (nodeRoutes.ts) and usage (usageRoutes.ts).
import type { UsageQuery } from '../usageWire.js';
import { queryString, type Transport } from './transport.js';

export class ReportsApi {
  constructor(private readonly t: Transport) {}

  nodes() {
    return this.t.call('GET', '/api/v1/nodes', 'NodeList');
  }

  usage(query: Partial<UsageQuery> = {}) {
    return this.t.call('GET', `/api/v1/usage${queryString(query)}`, 'UsageReport');
  }
}
