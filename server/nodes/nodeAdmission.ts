// Who may open the node channel (`GET /api/v1/nodes/connect`): a supported protocol version, a
// join token that is neither unknown, revoked nor expired, and a node name that is the one the
// token admits and one the `nodes` config reaches through a node daemon. Every refusal is audited.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { NODE_NAME_HEADER, NodeName, SUPPORTED_NODE_PROTOCOL_VERSIONS } from '../../sdk/nodeProtocol.js';
import { hashSecret, safeEqual } from '../auth/secrets.js';
import type { AuditStore } from '../store/auditStore.js';
import type { NodeJoinTokenStore } from '../store/nodeJoinTokenStore.js';

export interface NodeHandshake {
  url: string | undefined;
  headers: IncomingHttpHeaders;
  ip?: string;
}

export interface NodeRefusal {
  status: 401 | 403 | 426;
  reason: 'protocol_version' | 'bad_token' | 'wrong_node' | 'not_configured';
  message: string;
}

export type NodeAdmitted = { node: string; tokenId: string };

export async function admitNode(
  h: NodeHandshake,
  deps: { tokens: NodeJoinTokenStore; audit: AuditStore; log: Logger; configured: ReadonlySet<string> },
): Promise<NodeAdmitted | NodeRefusal> {
  const claimed = h.headers[NODE_NAME_HEADER];
  const node = typeof claimed === 'string' && NodeName.safeParse(claimed).success ? claimed : undefined;
  const refuse = async (r: NodeRefusal): Promise<NodeRefusal> => {
    deps.log.warn({ node, reason: r.reason }, 'node connection refused');
    await deps.audit
      .append({
        actorId: null,
        actorEmail: null,
        action: 'node.connect',
        targetType: 'node',
        targetId: node ?? null,
        result: 'denied',
        statusCode: r.status,
        ...(h.ip ? { ip: h.ip } : {}),
        detail: { reason: r.reason },
      })
      .catch((err) => deps.log.error({ err }, 'could not audit a refused node'));
    return r;
  };
  const version = Number(new URL(h.url ?? '/', 'http://node').searchParams.get('v'));
  if (!SUPPORTED_NODE_PROTOCOL_VERSIONS.includes(version)) {
    return refuse({
      status: 426,
      reason: 'protocol_version',
      message: `This control plane speaks node protocol version ${SUPPORTED_NODE_PROTOCOL_VERSIONS.join(', ')}; upgrade rclaude on the node.`,
    });
  }
  const token = /^Bearer (.+)$/.exec(h.headers.authorization ?? '')?.[1];
  const row = token ? await deps.tokens.byHash(hashSecret(token)) : undefined;
  if (!row || !token || !safeEqual(row.token_hash, hashSecret(token)) || !deps.tokens.isUsable(row)) {
    return refuse({ status: 401, reason: 'bad_token', message: 'The join token is not valid.' });
  }
  if (node === undefined || node !== row.node) {
    return refuse({
      status: 401,
      reason: 'wrong_node',
      message: `The join token admits node ${row.node}, not ${node ?? 'an unnamed one'}.`,
    });
  }
  if (!deps.configured.has(node)) {
    return refuse({
      status: 403,
      reason: 'not_configured',
      message: `No entry of the control plane's \`nodes\` config is reached through node ${node} (docker: {node: ${node}}).`,
    });
  }
  await deps.tokens.touch(row.id);
  return { node, tokenId: row.id };
}
