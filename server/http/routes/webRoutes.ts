// Serves the web UI (web/, built by Vite into dist/web) on the API's own origin and port. Hashed
// assets are cached for a year; index.html is served, never cached, at every path the UI routes
// on the client, so a reload or a shared link opens the right page. Other paths keep their 404.
// The files are the app's shell and hold no data: every call they make is authorised by the API.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Services } from '../../services.js';
import type { App } from '../app.js';

/** The client-side routes of web/app/App.tsx; each serves index.html. */
export const WEB_ROUTES = [
  '/',
  '/tasks/:id',
  '/workspaces',
  '/workspaces/:id',
  '/monitor',
  '/admin',
  '/settings',
];

// Monaco and Mantine set inline styles; Monaco runs its worker from a same-origin script. Nothing
// is loaded from another origin.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** dist/web beside the compiled server, whether this runs from dist/ or from the sources. */
export function defaultWebDir(): string {
  const up = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  return basename(up) === 'dist' ? join(up, 'web') : join(up, 'dist', 'web');
}

export async function webRoutes(app: App, s: Services): Promise<void> {
  const dir = s.config.server.webDir ?? defaultWebDir();
  const built = existsSync(join(dir, 'index.html'));
  if (!built && s.config.server.webDir)
    app.log.warn({ webDir: dir }, 'server.webDir has no index.html; the pages say how to build the UI');
  if (built) {
    const assets = join(dir, 'assets') + sep;
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      // Files are looked up per request, so a rebuild while the server runs is served at once; a
      // missing one falls through to the API's 404 envelope.
      wildcard: true,
      index: false,
      serveDotFiles: false,
      setHeaders(res, path) {
        res.header('x-content-type-options', 'nosniff');
        res.header(
          'cache-control',
          path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }
  for (const url of WEB_ROUTES) {
    app.get(url, { schema: { hide: true } }, async (_req, reply) => {
      reply
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin')
        .header('cache-control', 'no-cache');
      if (built) return reply.sendFile('index.html');
      return reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><meta charset="utf-8"><title>Remote Claude</title><p>The web UI is not built. ' +
            'Run <code>npm run build</code> (or <code>npm start</code>), then reload. The API is at ' +
            '<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>',
        );
    });
  }
}
