// A real OpenID Connect provider (npm oidc-provider) in the test process, on loopback. Its
// login and consent step is answered programmatically: the next browser to arrive is signed in
// as whichever account the test chose with `signInAs`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  email?: string;
  emailVerified?: boolean;
  name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Register the control plane's callback once its port is known. */
  setRedirectUri(uri: string): void;
  /** The account (subject → claims) the next sign-in completes as. */
  signInAs(subject: string, account: TestAccount): void;
  close(): Promise<void>;
}

export async function startOidcProvider(): Promise<TestOidcProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'remote-claude-test';
  const clientSecret = 'test-client-secret-value';
  const accounts = new Map<string, TestAccount>();
  let next: string | undefined;
  let provider: Provider | undefined;

  function build(redirectUri: string): Provider {
    const p = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      async findAccount(_ctx, sub) {
        const account = accounts.get(sub);
        if (!account) return undefined;
        return {
          accountId: sub,
          async claims() {
            return {
              sub,
              ...(account.email !== undefined ? { email: account.email } : {}),
              ...(account.emailVerified !== undefined ? { email_verified: account.emailVerified } : {}),
              ...(account.name !== undefined ? { name: account.name } : {}),
            };
          },
        };
      },
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      cookies: { keys: ['oidc-test-cookie-key'] },
      // Every sign-in logs in afresh, so one browser can become several accounts in turn.
      ttl: { Session: 1 },
    });
    // The provider refuses plain http issuers unless told it is behind a proxy on loopback.
    p.proxy = true;
    return p;
  }

  server.on('request', async (req, res) => {
    try {
      if (!provider) {
        res.statusCode = 503;
        res.end('provider not ready');
        return;
      }
      if (req.url?.startsWith('/interaction/')) {
        const details = await provider.interactionDetails(req, res);
        if (!next) throw new Error('test did not call signInAs');
        const grant = new provider.Grant({ accountId: next, clientId: String(details.params.client_id) });
        grant.addOIDCScope(String(details.params.scope));
        const grantId = await grant.save();
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: next }, consent: { grantId } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      provider.callback()(req, res);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });

  return {
    issuer,
    clientId,
    clientSecret,
    setRedirectUri(uri) {
      provider = build(uri);
    },
    signInAs(subject, account) {
      accounts.set(subject, account);
      next = subject;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The control plane's settings for signing in through `idp` (domain example.test allowed). */
export function oidcTestFlags(idp: TestOidcProvider): Record<string, unknown> {
  return {
    'auth.oidc': {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      allowInsecureHttp: true,
      label: 'Sign in with TestID',
    },
    'security.allowedDomains': ['example.test'],
  };
}
