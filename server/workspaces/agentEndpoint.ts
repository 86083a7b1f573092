/** Path of the control plane's network agent endpoint (http/routes/agentRoutes.ts). */
export const AGENT_ENDPOINT_PATH = '/api/v1/agent';

/**
 * The URL a network-transport agent dials (its RC_AGENT_URL): `server.agentUrl` when set, else
 * the public URL (any path prefix kept) with ws:// for http and wss:// for https.
 */
export function agentEndpointUrl(agentUrl: string | undefined, publicUrl: string): string {
  if (agentUrl) return agentUrl;
  const url = new URL(`${publicUrl.replace(/\/+$/, '')}${AGENT_ENDPOINT_PATH}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.toString();
}
