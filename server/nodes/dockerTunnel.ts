// A unix socket on the control plane's host per remote node, `<dataDir>/run/nodes/<name>.sock`:
// the docker driver's dockerode dials it like any local daemon, and each connection is piped over
// the node channel to the node's own Docker socket (`docker.open`). Docker's hijacked streams
// (attach, exec) work too: they are bytes on the same connection.
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

export class DockerTunnel {
  private server: Server | undefined;
  private listening: Promise<void> | undefined;

  constructor(
    readonly socketPath: string,
    /** A fresh stream to the node's Docker socket; rejects when the node is not connected. */
    private readonly open: () => Promise<Duplex>,
    private readonly log: Logger,
  ) {}

  /** Listens (once); later calls resolve at once. */
  ensureListening(): Promise<void> {
    this.listening ??= this.listen().catch((err) => {
      this.listening = undefined;
      throw err;
    });
    return this.listening;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listening = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    await rm(this.socketPath, { force: true });
  }

  private async listen(): Promise<void> {
    await mkdir(this.socketPath.slice(0, this.socketPath.lastIndexOf('/')), { recursive: true, mode: 0o700 });
    await rm(this.socketPath, { force: true });
    const server = createServer((sock) => this.relay(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private relay(sock: Socket): void {
    // Nothing is read from the client until the node's end is up: its bytes wait in the socket.
    sock.pause();
    sock.on('error', () => {});
    this.open().then(
      (remote) => {
        remote.on('error', () => sock.destroy());
        sock.on('error', () => remote.destroy());
        sock.on('close', () => remote.destroy());
        remote.on('close', () => sock.destroy());
        sock.pipe(remote);
        remote.pipe(sock);
        sock.resume();
      },
      (err: Error) => {
        this.log.debug({ err: err.message, socket: this.socketPath }, 'docker tunnel refused');
        sock.destroy();
      },
    );
  }
}
