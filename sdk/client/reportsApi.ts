// What admins watch: the nodes that run workspaces (nodeRoutes.ts), the control-plane replicas
// (replicaRoutes.ts) and usage (usageRoutes.ts).
import type { UsageQuery } from '../usageWire.js';
import { queryString, type Transport } from './transport.js';

export class ReportsApi {
  constructor(private readonly t: Transport) {}

  nodes() {
    return this.t.call('GET', '/api/v1/nodes', 'NodeList');
  }

  replicas() {
    return this.t.call('GET', '/api/v1/replicas', 'ReplicaList');
  }

  usage(query: Partial<UsageQuery> = {}) {
    return this.t.call('GET', `/api/v1/usage${queryString(query)}`, 'UsageReport');
  }
}
