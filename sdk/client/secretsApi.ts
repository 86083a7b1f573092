// Your own secrets, e.g. an Anthropic API key (server/http/routes/secretRoutes.ts). Values go in
// and never come back out: the answers describe a secret without its value.
import type { SecretName } from '../secretWire.js';
import { seg, type Transport } from './transport.js';

export class SecretsApi {
  constructor(private readonly t: Transport) {}

  list() {
    return this.t.call('GET', '/api/v1/me/secrets', 'SecretList');
  }

  put(name: SecretName, value: string) {
    return this.t.call('PUT', `/api/v1/me/secrets/${seg(name)}`, 'SecretInfo', { value });
  }

  delete(name: SecretName) {
    return this.t.callVoid('DELETE', `/api/v1/me/secrets/${seg(name)}`);
  }
}
