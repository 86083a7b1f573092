// The dashboard's way to /api/v1: the sdk's typed client (sdk/client/apiClient.ts) on this page's
// origin, with the session cookie, and the CSRF token on every mutation. In development builds
// each answer is checked against the sdk's zod schemas, so a drifting server or a wrong type
// shows at once; production builds trust the server (whose routes serialise with the same
// schemas) and leave zod out of the bundle: Vite replaces import.meta.env.DEV with false there,
// and the dead branch takes the import with it.
import { ApiClient } from '../../sdk/client/apiClient.js';
import type { ResponseValidator } from '../../sdk/client/transport.js';

let csrfToken = '';

/** The session's CSRF token, from the sign-in response or GET /me. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token ?? '';
}

const devValidator: ResponseValidator | undefined = import.meta.env.DEV
  ? async (kind, json) => (await import('../../sdk/client/validateResponse.js')).validateResponse(kind, json)
  : undefined;

export const api = new ApiClient({ baseUrl: '', csrfToken: () => csrfToken, validate: devValidator });
