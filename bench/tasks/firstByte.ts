// Time to the first streamed body byte of `POST /v1/messages`, one request at a time over one
// kept-alive loopback connection, so connection setup is not in the figure.
import http from 'node:http';

export interface FirstByteClient {
  /** Milliseconds from sending the request to the first body byte; the body is read to its end. */
  time(body: string): Promise<number>;
  close(): void;
}

/** `apiKey`: the real key straight to the stub, a placeholder through the gateway (which swaps it). */
export function firstByteClient(port: number, apiKey: string): FirstByteClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    time: (body) =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/messages',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'anthropic-version': '2023-06-01',
            'x-api-key': apiKey,
          },
        });
        req.on('response', (res) => {
          let first: number | undefined;
          res.on('data', () => {
            first ??= performance.now() - t0;
          });
          res.on('end', () => {
            if (res.statusCode !== 200 || first === undefined)
              reject(new Error(`POST /v1/messages on port ${port} answered ${res.statusCode}`));
            else resolve(first);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
