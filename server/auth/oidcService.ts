// OpenID Connect sign-in: authorization code flow with PKCE, state and nonce, through the
// certified `openid-client` library. This class speaks to the provider; the routes in
// server/http/routes/oidcRoutes.ts keep the pending login in a signed cookie and decide who the
// claims belong to.
import * as client from 'openid-client';

export interface OidcOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  scopes: string[];
  allowInsecureHttp: boolean;
  /** The URL users reach this server at; the callback is below it. Read when needed. */
  publicUrl: () => string;
}

/** What the browser must bring back to the callback: kept in a signed, short-lived cookie. */
export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string | undefined;
  emailVerified: boolean | undefined;
  name: string | undefined;
}

/** Why a sign-in was refused; the sign-in page has a sentence for each (web/pages/SignIn). */
export type OidcErrorCode =
  | 'oidc_provider_error'
  | 'oidc_state_mismatch'
  | 'oidc_email_missing'
  | 'oidc_domain_not_allowed'
  | 'oidc_email_unverified'
  | 'oidc_exchange_failed'
  | 'account_disabled';

/** A sign-in the provider or the checks refused; `code` is shown to the user as ?error=code. */
export class OidcError extends Error {
  constructor(
    readonly code: OidcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OidcError';
  }
}

export class OidcService {
  private configuration: client.Configuration | undefined;

  constructor(private readonly opts: OidcOptions) {}

  get redirectUri(): string {
    return `${this.opts.publicUrl().replace(/\/+$/, '')}/api/v1/auth/oidc/callback`;
  }

  /**
   * Fetch the issuer's metadata. Called at startup so a wrong issuer stops the server with a
   * clear message instead of failing at the first sign-in. Throws naming auth.oidc.issuer.
   */
  async discover(): Promise<void> {
    const { issuer, clientId, clientSecret, allowInsecureHttp } = this.opts;
    try {
      this.configuration = await client.discovery(
        new URL(issuer),
        clientId,
        clientSecret ? { client_secret: clientSecret } : undefined,
        clientSecret ? client.ClientSecretPost(clientSecret) : client.None(),
        { timeout: 10, ...(allowInsecureHttp ? { execute: [client.allowInsecureRequests] } : {}) },
      );
    } catch (err) {
      throw new Error(
        `auth.oidc.issuer: cannot read the OpenID configuration of ${issuer}: ${(err as Error).message}`,
      );
    }
  }

  /** The provider URL to send the browser to, and what the callback must be checked against. */
  async start(returnTo: string): Promise<{ url: string; pending: PendingLogin }> {
    const config = await this.config();
    const pending: PendingLogin = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnTo,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.opts.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /**
   * Exchange the code from the callback's query string for verified ID-token claims. Throws
   * OidcError when the provider reports an error or any check (state, nonce, PKCE, signature,
   * audience, expiry) fails.
   */
  async finish(query: string, pending: PendingLogin): Promise<OidcIdentity> {
    const config = await this.config();
    const callback = new URL(this.redirectUri);
    callback.search = query;
    let claims: client.IDToken | undefined;
    let profile: Record<string, unknown> = {};
    try {
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      if (!claims) throw new Error('the provider returned no ID token');
      profile = claims;
      // Conformant providers may keep email and name out of the ID token and serve them from
      // the userinfo endpoint instead; ask there when the token lacks them.
      if (typeof claims.email !== 'string' && config.serverMetadata().userinfo_endpoint) {
        profile = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      }
    } catch (err) {
      throw new OidcError(
        'oidc_exchange_failed',
        `The sign-in could not be completed: ${(err as Error).message}`,
      );
    }
    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: typeof profile.email === 'string' ? profile.email.toLowerCase() : undefined,
      emailVerified: typeof profile.email_verified === 'boolean' ? profile.email_verified : undefined,
      name: typeof profile.name === 'string' ? profile.name : undefined,
    };
  }

  private async config(): Promise<client.Configuration> {
    if (!this.configuration) await this.discover();
    return this.configuration as client.Configuration;
  }
}
