// A refusal sent before the body was read closes the connection, so the server does not go on
// reading (and throwing away) a body it has already refused. Raw sockets: the client promises
// 50 MB, sends the headers and 1 KB, then waits to see whether the server hangs up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from '../../test/support/rawHttp.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';

const PROMISED = 50 * 1024 * 1024;

describe('a refused body closes the connection', () => {
  let t: TestApp;
  let port: number;
  let auth: string;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { flags: { 'workspaces.fileSizeLimit': '1M' } });
    auth = await t.bearer(await t.user('member'));
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(url).port);
  });
  afterAll(() => t.close());

  const promise = (method: string, path: string, headers: string, length = PROMISED) =>
    rawExchange(
      port,
      `${method} ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(1024)}`,
      5000,
    );

  it.each([
    ['no credentials → 401', '', 401, 'unauthorized', 512 * 1024],
    ['larger than workspaces.fileSizeLimit → 413', 'AUTH', 413, 'too_large', PROMISED],
    ['an unknown workspace → 404', 'AUTH', 404, 'not_found', 512 * 1024],
  ])('PUT …/files/*: %s, then the connection closes', async (_name, who, status, code, length) => {
    const headers = who === 'AUTH' ? `Authorization: ${auth}\r\n` : '';
    const res = await promise('PUT', '/api/v1/workspaces/nope/files/big.bin', headers, length);
    expect(res.status, res.text).toBe(status);
    expect(res.json).toMatchObject({ error: { code } });
    expect(res.headers.connection).toBe('close');
    expect(res.closedByServer).toBe(true);
    expect(res.elapsedMs).toBeLessThan(3000);
  });

  it('JSON routes too: a body of the wrong type (415) or over server.bodyLimitBytes (413)', async () => {
    const wrongType = await promise('POST', '/api/v1/teams', `Authorization: ${auth}\r\n`);
    expect(wrongType.status).toBe(415);
    const tooBig = await rawExchange(
      port,
      `POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${PROMISED}\r\n\r\n{"name":"`,
      5000,
    );
    expect(tooBig.status).toBe(413);
    for (const res of [wrongType, tooBig]) {
      expect(res.closedByServer).toBe(true);
      expect(res.elapsedMs).toBeLessThan(3000);
    }
  });

  it('a request whose body was read keeps its connection alive', async () => {
    const res = await rawExchange(
      port,
      'POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      1500,
    );
    expect(res.status).toBe(400);
    expect(res.headers.connection).toBe('keep-alive');
    expect(res.closedByServer).toBe(false);
  });
});
