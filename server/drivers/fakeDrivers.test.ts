import { describe, expect, it } from 'vitest';
import { runDriverContract } from './driverContract.js';
import { FailingDriver, NeverStartingDriver, SlowDriver } from './fakeDrivers.js';
import { DriverError, type WorkspaceSpec } from './runtimeDriver.js';

runDriverContract('SlowDriver', (dataDir) => new SlowDriver({ dataDir, delayMs: 20 }));
runDriverContract('NeverStartingDriver', (dataDir) => new NeverStartingDriver({ dataDir }));

const spec = (workspaceId: string): WorkspaceSpec => ({
  workspaceId,
  resources: { cpu: 1, memoryBytes: 64 * 1024 * 1024, pids: 64 },
  env: {},
  agentSocketDir: '/tmp/unused',
});

describe('SlowDriver', () => {
  it('reports the box stopped until the delay has passed, and shares one start between callers', async () => {
    let release = () => {};
    const driver = new SlowDriver({ sleep: () => new Promise<void>((resolve) => (release = resolve)) });
    const ref = await driver.create(spec('w1'));
    const first = driver.start(ref);
    const second = driver.start(ref);
    await Promise.resolve();
    expect((await driver.inspect(ref)).status).toBe('stopped');
    release();
    await Promise.all([first, second]);
    expect((await driver.inspect(ref)).status).toBe('running');
    expect(driver.calls).toEqual(['create w1', 'start w1', 'start w1']);
  });
});

describe('NeverStartingDriver', () => {
  it('says running at once', async () => {
    const driver = new NeverStartingDriver();
    const ref = await driver.start(await driver.create(spec('w1')));
    expect(await driver.inspect(ref)).toEqual({ status: 'running' });
  });
});

describe('FailingDriver', () => {
  it('fails every start with start_failed and reports the failure as the stop reason', async () => {
    const driver = new FailingDriver({ userMessage: 'No room on this node.' });
    const ref = await driver.create(spec('w1'));
    const err = await driver.start(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ reason: 'start_failed', userMessage: 'No room on this node.' });
    expect(await driver.inspect(ref)).toEqual({ status: 'stopped', reason: 'No room on this node.' });
    await driver.remove(ref);
    expect(await driver.inspect(ref)).toEqual({ status: 'missing' });
  });
});

describe('fakes on one data dir', () => {
  it('share boxes, like a restarted control plane finding its boxes', async () => {
    const first = new NeverStartingDriver({ dataDir: '/fake/shared' });
    await first.start(await first.create(spec('w9')));
    const second = new NeverStartingDriver({ dataDir: '/fake/shared' });
    expect((await second.list()).map((r) => r.workspaceId)).toEqual(['w9']);
    await second.remove({ kind: 'local', workspaceId: 'w9', data: {} });
  });
});

describe('agent transport', () => {
  it('a unix fake needs the socket directory; a network one needs RC_AGENT_URL instead', async () => {
    const { agentSocketDir: _dir, ...bare } = spec('w1');
    const invalid = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: DriverError) => e.userMessage,
      );
    expect(await invalid(new NeverStartingDriver().create(bare))).toMatch(/agentSocketDir must be/);
    const network = new NeverStartingDriver({ agentTransport: 'network' });
    expect(network.agentTransport).toBe('network');
    expect(await invalid(network.create(bare))).toMatch(/env\.RC_AGENT_URL must be set/);
    const ref = await network.create({ ...bare, env: { RC_AGENT_URL: 'wss://rc.example/api/v1/agent' } });
    expect(ref.workspaceId).toBe('w1');
  });
});
