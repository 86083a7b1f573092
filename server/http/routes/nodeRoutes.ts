import { NodeList } from '../../../sdk/nodeWire.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import { nodeReport } from '../../workspaces/nodeReport.js';
import type { App } from '../app.js';
import { ensureCaller, ensureCan } from '../guard.js';

export function nodeRoutes(app: App, s: Services): void {
  app.get(
    '/api/v1/nodes',
    {
      schema: {
        tags: ['nodes'],
        summary: 'The hosts workspaces run on: health, capacity and what the workspaces reserve (admins).',
        response: { 200: NodeList, 401: ErrorEnvelope, 403: ErrorEnvelope },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'node.read', { kind: 'org' });
      return { items: await nodeReport(s.runtime.driver, s.workspaces) };
    },
  );
}
