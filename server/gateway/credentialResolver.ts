// Which Anthropic key the gateway uses for a request: the user's own when they saved one (their
// usage is then billed to them by Anthropic), else the organisation's `claude.apiKey`.
import { ANTHROPIC_API_KEY_SECRET } from '../../sdk/secretWire.js';
import { type SecretStore, SecretUnreadableError } from '../store/secretStore.js';
import { GatewayRefusal } from './gatewayErrors.js';
import type { GatewayAttribution } from './modelGateway.js';

export interface CredentialResolverOptions {
  secrets: Pick<SecretStore, 'get'>;
  /** `claude.apiKey`. */
  orgApiKey?: string | undefined;
}

/** A `resolveCredential` for ModelGateway. */
export function createCredentialResolver(
  opts: CredentialResolverOptions,
): (attr: GatewayAttribution) => Promise<string | undefined> {
  return async (attr) => {
    try {
      const own = await opts.secrets.get(attr.userId, ANTHROPIC_API_KEY_SECRET);
      if (own) return own;
    } catch (err) {
      // Falling back to the organisation's key would bill the organisation for a user who chose
      // to pay themselves; tell them instead.
      if (err instanceof SecretUnreadableError) {
        throw new GatewayRefusal(
          401,
          'authentication_error',
          "Remote Claude cannot decrypt your saved Anthropic API key (the server's encryption key has changed): save it again (PUT /api/v1/me/secrets/anthropic-api-key).",
        );
      }
      throw err;
    }
    return opts.orgApiKey;
  };
}
