import net from 'node:net';
import type { RpcPeer } from '../sdk/rpcPeer.js';
import { log } from './log.js';

const UNAVAILABLE_BODY = 'The workspace agent is not connected to the control plane; try again shortly.\n';
const UNAVAILABLE = [
  'HTTP/1.1 503 Service Unavailable',
  'Content-Type: text/plain; charset=utf-8',
  `Content-Length: ${Buffer.byteLength(UNAVAILABLE_BODY)}`,
  'Connection: close',
  '',
  UNAVAILABLE_BODY,
].join('\r\n');

/** Where a forwarder's tunnels lead on the control plane's side. */
export type ForwarderTarget = 'egress' | 'model';

/**
 * A loopback forwarder: HTTP_PROXY and HTTPS_PROXY inside the workspace point at the `egress`
 * one (port 3128), Claude Code's ANTHROPIC_BASE_URL at the `model` one (port 3129); the workspace
 * has no other network. Each TCP connection becomes one channel to the control plane, which runs
 * the real egress proxy or model gateway on the other end, so the bytes are relayed untouched and
 * HTTP is not parsed here.
 */
export function startForwarder(
  port: number,
  currentPeer: () => RpcPeer | undefined,
  target: ForwarderTarget = 'egress',
): Promise<net.Server> {
  // allowHalfOpen: a client that finished sending may still be waiting for the answer.
  const server = net.createServer(
    { allowHalfOpen: true },
    (socket) => void relay(socket, currentPeer(), target),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (err) => log('forwarder.error', { error: err.message }));
      const address = server.address() as net.AddressInfo;
      log('forwarder.listening', { target, port: address.port });
      resolve(server);
    });
  });
}

async function relay(socket: net.Socket, peer: RpcPeer | undefined, target: ForwarderTarget): Promise<void> {
  socket.on('error', () => socket.destroy());
  if (!peer) {
    socket.end(UNAVAILABLE);
    return;
  }
  // Hold the client's first bytes in the kernel until the control plane has accepted the tunnel.
  socket.pause();
  const ch = peer.openChannel();
  try {
    await peer.request('tunnel.open', { channel: ch.id, target }, { timeoutMs: 10_000 });
  } catch (err) {
    log('forwarder.tunnel_refused', { target, error: (err as Error).message });
    ch.destroy();
    if (!socket.destroyed) socket.end(UNAVAILABLE);
    return;
  }
  socket.pipe(ch);
  ch.pipe(socket);
  // Either side failing tears down both; each side ending normally ends only its direction.
  socket.once('close', () => {
    if (!ch.writableEnded) ch.destroy();
  });
  ch.once('error', () => socket.destroy());
  ch.once('close', () => {
    if (!socket.writableEnded) socket.destroy();
  });
  socket.resume();
}
