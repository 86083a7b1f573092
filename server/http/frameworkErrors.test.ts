// Errors raised by Fastify's router and by Node's HTTP parser, before any route runs, get the
// same envelope as every other failure. The malformed requests go over raw sockets (node:net):
// no HTTP client will send them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from '../../test/support/rawHttp.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';

type Envelope = { error: { code: string; message: string } };

function expectEnvelope(json: unknown, code: string): Envelope['error'] {
  const error = (json as Envelope | undefined)?.error;
  expect(error?.code).toBe(code);
  expect(error?.message.length).toBeGreaterThan(10);
  return error as Envelope['error'];
}

describe('framework errors in the envelope', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(url).port);
  });
  afterAll(() => t.close());

  it('a bad percent-encoding in a path → 400 bad_url', async () => {
    for (const url of ['/api/v1/users/%E0%A4%A', '/api/v1/teams/%zz', '/api/v1/users/%C0%AF']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expectEnvelope(res.json(), 'bad_url');
      expect(res.headers['x-request-id']).toBeTruthy();
    }
  });

  it('an overlong path parameter → 414 uri_too_long; long file paths are not parameters', async () => {
    for (const [method, url] of [
      ['PATCH', '/api/v1/users/'],
      ['DELETE', '/api/v1/teams/'],
    ] as const) {
      const res = await t.app.inject({ method, url: url + 'a'.repeat(500), payload: {} });
      expect(res.statusCode, method).toBe(414);
      expectEnvelope(res.json(), 'uri_too_long');
    }
    // A GET falls through to the web UI's catch-all, which knows no /api route of that shape.
    const get = await t.app.inject({ url: `/api/v1/users/${'a'.repeat(500)}` });
    expect(get.statusCode).toBe(404);
    expectEnvelope(get.json(), 'route_not_found');
    // The files API's wildcard has no such limit: this reaches the route (and its 401).
    const file = await t.app.inject({ url: `/api/v1/workspaces/w/files/${'dir/'.repeat(200)}f.txt` });
    expect(file.statusCode).toBe(401);
  });

  it('a 20 KB header → 431 headers_too_large', async () => {
    const res = await rawExchange(
      port,
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(res.status, res.text).toBe(431);
    expect(res.headers['content-type']).toBe('application/json');
    expectEnvelope(res.json, 'headers_too_large');
    expect(res.closedByServer).toBe(true);
  });

  it('malformed HTTP → 400 malformed_http naming what is wrong, and the connection closed', async () => {
    const cases: [string, string, RegExp][] = [
      ['bare LF', 'GET /healthz HTTP/1.1\nHost: x\n\n', /CRLF/],
      ['bare CR', 'GET /healthz HTTP/1.1\rHost: x\r\n\r\n', /CRLF|CR/],
      ['bare LF in a header', 'GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n', /./],
      [
        'Content-Length with Transfer-Encoding',
        'POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        /Transfer-Encoding/,
      ],
      [
        'two Content-Lengths',
        'POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
        /./,
      ],
      ['an unknown method', 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', /method/i],
      [
        'a bad chunk size',
        'POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        /./,
      ],
      ['not HTTP at all', '\u0016\u0003\u0001\u0002\u0000\u0001\r\n\r\n', /./],
    ];
    for (const [name, data, why] of cases) {
      const res = await rawExchange(port, data);
      expect(res.status, `${name}: ${res.text}`).toBe(400);
      const error = expectEnvelope(res.json, 'malformed_http');
      expect(error.message, name).toMatch(why);
      expect(res.closedByServer, name).toBe(true);
    }
  });

  it('a well-formed request on the same kind of connection still works', async () => {
    const res = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
  });
});
