// The agent channel's unix transport. Each workspace gets its own socket,
// `<dataDir>/run/<id>/agent.sock`; the driver binds that directory into the box, so the agent dials
// it with no network at all (DESIGN §4). The directory, not the socket file, is bound: a restarted
// control plane recreates the socket inside it and the running box sees the new one.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { AGENT_SOCKET_NAME, MAX_AGENT_FRAME_BYTES } from '../../../sdk/agentProtocol.js';
import type { AgentAdmission } from '../agentHub.js';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH = 107;

export class UnixAgentListener {
  private readonly servers = new Map<string, Server>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });

  constructor(
    private readonly runDir: string,
    /** Authenticates a handshake and takes the connection (AgentHub). */
    private readonly hub: AgentAdmission,
  ) {}

  socketDir(workspaceId: string): string {
    return join(this.runDir, workspaceId);
  }

  /** The socket path every workspace id would get (they all have the same length). */
  socketPath(workspaceId: string): string {
    return join(this.socketDir(workspaceId), AGENT_SOCKET_NAME);
  }

  isListening(workspaceId: string): boolean {
    return this.servers.has(workspaceId);
  }

  /** Listens on the workspace's socket (idempotent) and returns the directory to bind. */
  async listen(workspaceId: string): Promise<string> {
    const dir = this.socketDir(workspaceId);
    if (this.servers.has(workspaceId)) return dir;
    const path = this.socketPath(workspaceId);
    if (path.length > MAX_SOCKET_PATH) {
      throw new Error(
        `the agent socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter RC_DATA_DIR`,
      );
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await rm(path, { force: true });
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade to a WebSocket\n');
    });
    server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => {});
      void (async () => {
        const refusal = await this.hub.admit({
          transport: 'unix',
          workspaceId,
          url: req.url,
          headers: req.headers,
        });
        if (refusal) {
          socket.end(
            `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${refusal.message}\n`,
          );
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => this.hub.accept(workspaceId, ws, 'unix'));
      })();
    });
    this.servers.set(workspaceId, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The box's uid differs from ours; the directory (visible only inside that box) guards it.
    await chmod(path, 0o666);
    return dir;
  }

  /** Stops listening and removes the socket directory. */
  async unlisten(workspaceId: string): Promise<void> {
    const server = this.servers.get(workspaceId);
    this.servers.delete(workspaceId);
    if (server) await new Promise<void>((r) => server.close(() => r()));
    await rm(this.socketDir(workspaceId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
    this.wss.close();
  }
}
