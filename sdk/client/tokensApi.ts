// Your API tokens (server/http/routes/tokenRoutes.ts).
import type { CreateTokenBody } from '../wire.js';
import { seg, type Transport } from './transport.js';

export class TokensApi {
  constructor(private readonly t: Transport) {}

  list() {
    return this.t.call('GET', '/api/v1/tokens', 'TokenList');
  }

  /** Mints a token; its secret is in the answer and never again. */
  create(body: CreateTokenBody) {
    return this.t.call('POST', '/api/v1/tokens', 'CreatedToken', body);
  }

  revoke(id: string) {
    return this.t.callVoid('DELETE', `/api/v1/tokens/${seg(id)}`);
  }
}
