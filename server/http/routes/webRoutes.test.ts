import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { WEB_ROUTES } from './webRoutes.js';

describe('the web UI routes', () => {
  let t: TestApp;
  const dir = mkdtempSync('/tmp/rc-web-');
  beforeAll(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    t = await createTestApp('sqlite', { flags: { 'server.webDir': dir } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves index.html, never cached and with a same-origin CSP, at every client-side route', async () => {
    for (const route of WEB_ROUTES) {
      const url = route.replace(':id', '3f2a');
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain('<div id="root">');
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });

  it('serves hashed assets as immutable and other files as revalidated', async () => {
    const asset = await t.app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.headers['x-content-type-options']).toBe('nosniff');
    const icon = await t.app.inject({ url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('serves files of a rebuild made while it runs', async () => {
    writeFileSync(join(dir, 'assets', 'index-new456.js'), 'console.log(2)');
    const res = await t.app.inject({ url: '/assets/index-new456.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log(2)');
  });

  it('keeps the 404 envelope for unknown paths and the API for API paths', async () => {
    for (const url of [
      '/nope',
      '/assets/missing.js',
      '/tasks',
      '/tasks/1/2',
      '/../etc/passwd',
      '/index.html/x',
    ]) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('route_not_found');
    }
    const api = await t.app.inject({ url: '/api/v1/me' });
    expect(api.statusCode).toBe(401);
    expect(api.json().error.code).toBe('unauthorized');
  });
});

describe('the web UI routes before the UI is built', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { flags: { 'server.webDir': mkdtempSync('/tmp/rc-web-none-') } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('says how to build it', async () => {
    const res = await t.app.inject({ url: '/tasks/1' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('npm run build');
  });
});
