import type { FastifyInstance, RouteOptions } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
  /** The route answers WebSocket handshakes (it has a `wsHandler`). */
  websocket: boolean;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/**
 * Starts recording every route added to `app` from now on, hidden ones included, so checks that
 * must hold for every route (tests that walk them all) need no hand-kept list. Fastify has no
 * public way to list its routes with their options once they are registered.
 */
export function recordRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route: RouteOptions & { wsHandler?: unknown }) => {
    for (const method of [route.method].flat()) {
      table.push({ method, url: route.url, websocket: typeof route.wsHandler === 'function' });
    }
  });
}

/** Every route recorded on `app` (empty when `recordRoutes` was not called). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}
