import { ReplicaList } from '../../../sdk/replicaWire.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { ensureCaller, ensureCan } from '../guard.js';

export function replicaRoutes(app: App, s: Services): void {
  app.get(
    '/api/v1/replicas',
    {
      schema: {
        tags: ['replicas'],
        summary:
          'The control-plane replicas sharing the database: address, version, heartbeat and agents held (admins).',
        response: { 200: ReplicaList, 401: ErrorEnvelope, 403: ErrorEnvelope },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'replica.read', { kind: 'org' });
      const replicas = await s.replicas.list();
      return { items: replicas.map((r) => ({ ...r, self: r.id === s.replicas.id })) };
    },
  );
}
