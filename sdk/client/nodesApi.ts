// Join tokens of `rclaude node` daemons (server/http/routes/nodeJoinTokenRoutes.ts), for admins.
import type { CreateNodeJoinTokenBody } from '../nodeWire.js';
import { seg, type Transport } from './transport.js';

export class NodesApi {
  constructor(private readonly t: Transport) {}

  list() {
    return this.t.call('GET', '/api/v1/nodes', 'NodeList');
  }

  joinTokens() {
    return this.t.call('GET', '/api/v1/nodes/join-tokens', 'NodeJoinTokenList');
  }

  /** Mints a join token; its secret is in the answer and never again. */
  createJoinToken(body: CreateNodeJoinTokenBody) {
    return this.t.call('POST', '/api/v1/nodes/join-tokens', 'CreatedNodeJoinToken', body);
  }

  revokeJoinToken(id: string) {
    return this.t.callVoid('DELETE', `/api/v1/nodes/join-tokens/${seg(id)}`);
  }
}
