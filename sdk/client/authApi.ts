// Signing in and out, and who you are (server/http/routes/authRoutes.ts).
import type { LoginBody } from '../wire.js';
import { queryString, type Transport } from './transport.js';

export class AuthApi {
  constructor(private readonly t: Transport) {}

  /** Who the caller is; with a browser session, also its CSRF token. */
  me() {
    return this.t.call('GET', '/api/v1/me', 'Me');
  }

  /** Which ways of signing in the server offers (password, OIDC). */
  providers() {
    return this.t.call('GET', '/api/v1/auth/providers', 'AuthProviders');
  }

  /** Starts a session with a password; the cookie is set on the answer. */
  login(body: LoginBody) {
    return this.t.call('POST', '/api/v1/auth/login', 'Me', body);
  }

  /** Ends the session the request carries. */
  logout() {
    return this.t.callVoid('POST', '/api/v1/auth/logout');
  }

  /** Where a browser goes to sign in with the OIDC provider, coming back to `returnTo`. */
  oidcLoginUrl(returnTo: string): string {
    return this.t.url(`/api/v1/auth/oidc/login${queryString({ returnTo })}`);
  }
}
