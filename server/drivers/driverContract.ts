// The runtime driver contract as a test suite (DESIGN §6). Every driver runs it from its own test
// file, e.g. `runDriverContract('local', (dataDir) => new LocalDriver({ dataDir, … }), { runsCommands: true })`.
// It only uses `spec.command`, never the agent, so it says nothing about what a box may see: the
// isolation tests do that per driver.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDeadline } from '../clock.js';
import {
  DriverError,
  type RuntimeDriver,
  type RuntimeRef,
  type RuntimeState,
  type WorkspaceSpec,
} from './runtimeDriver.js';

export interface DriverContractOptions {
  /**
   * The driver really runs `spec.command` and reports exit codes, so the suite also checks that
   * a command's exit ends the box and that files it writes survive `remove({ keepVolume })`.
   * Fakes leave it off.
   */
  runsCommands?: boolean;
  /** Limits for the suite's boxes (default: 1 CPU, 256 MiB, 128 processes). */
  resources?: WorkspaceSpec['resources'];
  /** How long to wait for a box to reach a state (default 15 s). */
  waitMs?: number;
}

type MakeDriver = (dataDir: string) => RuntimeDriver | Promise<RuntimeDriver>;

const SLEEP = ['/bin/sh', '-c', 'sleep 600'];

export function runDriverContract(
  name: string,
  makeDriver: MakeDriver,
  options: DriverContractOptions = {},
): void {
  const resources = options.resources ?? { cpu: 1, memoryBytes: 256 * 1024 * 1024, pids: 128 };
  const waitMs = options.waitMs ?? 15_000;
  // Box names may be host-global (cgroups, container names): keep them unique per run.
  const prefix = `ct${randomBytes(3).toString('hex')}`;
  let dataDir: string;
  let driver: RuntimeDriver;
  let count = 0;
  const made: RuntimeRef[] = [];

  const spec = async (command: string[] | undefined = SLEEP): Promise<WorkspaceSpec> => {
    const workspaceId = `${prefix}-${++count}`;
    if (driver.agentTransport === 'network') {
      // Nothing answers there: the contract's boxes run `command`, not the agent.
      const env = { RC_CONTRACT: '1', RC_AGENT_URL: 'ws://127.0.0.1:9/api/v1/agent' };
      return { workspaceId, resources, env, command };
    }
    const agentSocketDir = join(dataDir, 's', workspaceId);
    await mkdir(agentSocketDir, { recursive: true });
    return { workspaceId, resources, env: { RC_CONTRACT: '1' }, agentSocketDir, command };
  };
  const create = async (s: WorkspaceSpec, d = driver): Promise<RuntimeRef> => {
    const ref = await d.create(s);
    made.push(ref);
    return ref;
  };
  const waitFor = async (
    d: RuntimeDriver,
    ref: RuntimeRef,
    status: RuntimeState['status'],
  ): Promise<RuntimeState> => {
    const deadline = realDeadline(waitMs);
    for (;;) {
      const state = await d.inspect(ref);
      if (state.status === status || deadline.passed()) return state;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const expectDriverError = async (p: Promise<unknown>, reason: DriverError['reason']) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).reason).toBe(reason);
  };

  describe(`${name} driver contract`, () => {
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'rc-dc-'));
      driver = await makeDriver(dataDir);
    });

    afterAll(async () => {
      const cleaner = await makeDriver(dataDir);
      for (const ref of made) await cleaner.remove(ref, { keepVolume: false });
      await cleaner.close?.();
      await driver.close?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('creates a stopped box and returns a ref to it; create again returns the same box', async () => {
      const s = await spec();
      const ref = await create(s);
      expect(ref).toMatchObject({ kind: driver.kind, workspaceId: s.workspaceId });
      expect((await driver.inspect(ref)).status).toBe('stopped');
      const again = await create({ ...s, resources: { ...resources, cpu: resources.cpu / 2 } });
      expect(again.workspaceId).toBe(ref.workspaceId);
      expect((await driver.list()).filter((r) => r.workspaceId === s.workspaceId)).toHaveLength(1);
    });

    it('starts a box, and starting a running box does nothing', async () => {
      const ref = await create(await spec());
      const started = await driver.start(ref);
      expect(started.workspaceId).toBe(ref.workspaceId);
      expect((await driver.inspect(ref)).status).toBe('running');
      await driver.start(started);
      expect((await driver.inspect(started)).status).toBe('running');
      await driver.stop(started, { graceSeconds: 5 });
    });

    it('stops a box, stops a stopped box, and starts it again', async () => {
      const ref = await driver.start(await create(await spec()));
      await driver.stop(ref, { graceSeconds: 5 });
      expect((await driver.inspect(ref)).status).toBe('stopped');
      await driver.stop(ref, { graceSeconds: 5 });
      expect((await driver.inspect(ref)).status).toBe('stopped');
      await driver.start(ref);
      expect((await driver.inspect(ref)).status).toBe('running');
      await driver.stop(ref, { graceSeconds: 5 });
    });

    it.runIf(options.runsCommands)(
      'reports a box whose command exited as stopped, with its exit code',
      async () => {
        const ref = await driver.start(await create(await spec(['/bin/sh', '-c', 'exit 3'])));
        const state = await waitFor(driver, ref, 'stopped');
        expect(state.status).toBe('stopped');
        expect(state.exitCode).toBe(3);
      },
    );

    it('removes a box: missing afterwards, gone from list(), and removing again resolves', async () => {
      const ref = await driver.start(await create(await spec()));
      await driver.remove(ref);
      expect((await driver.inspect(ref)).status).toBe('missing');
      expect((await driver.list()).map((r) => r.workspaceId)).not.toContain(ref.workspaceId);
      await driver.remove(ref);
      await driver.stop(ref);
      expect((await driver.inspect(ref)).status).toBe('missing');
    });

    it('refuses to start a box that was never created, and calls it missing', async () => {
      const ghost: RuntimeRef = { kind: driver.kind, workspaceId: `${prefix}-ghost`, data: {} };
      expect((await driver.inspect(ghost)).status).toBe('missing');
      await expectDriverError(driver.start(ghost), 'not_found');
      await driver.stop(ghost);
      await driver.remove(ghost);
    });

    it('lists every created box, running or not', async () => {
      const stopped = await create(await spec());
      const running = await driver.start(await create(await spec()));
      const ids = (await driver.list()).map((r) => r.workspaceId);
      expect(ids).toEqual(expect.arrayContaining([stopped.workspaceId, running.workspaceId]));
      await driver.stop(running, { graceSeconds: 5 });
    });

    it('lets a fresh driver on the same data dir see and stop a box the first one started', async () => {
      const ref = await driver.start(await create(await spec()));
      const restarted = await makeDriver(dataDir);
      expect((await restarted.list()).map((r) => r.workspaceId)).toContain(ref.workspaceId);
      expect((await restarted.inspect(ref)).status).toBe('running');
      await restarted.stop(ref, { graceSeconds: 5 });
      expect((await driver.inspect(ref)).status).toBe('stopped');
      await restarted.close?.();
    });

    it.runIf(options.runsCommands)(
      'keeps the workspace files through remove({ keepVolume: true })',
      async () => {
        const s = await spec(['/bin/sh', '-c', 'echo hi > /workspace/f']);
        const ref = await driver.start(await create(s));
        expect((await waitFor(driver, ref, 'stopped')).exitCode).toBe(0);
        await driver.remove(ref, { keepVolume: true });
        expect((await driver.inspect(ref)).status).toBe('missing');
        const check = ['/bin/sh', '-c', 'test "$(cat /workspace/f)" = hi || exit 7'];
        await driver.start(await create({ ...s, command: check }));
        expect((await waitFor(driver, ref, 'stopped')).exitCode).toBe(0);
        await driver.remove(ref);
        await driver.start(await create({ ...s, command: check }));
        expect((await waitFor(driver, ref, 'stopped')).exitCode).toBe(7);
      },
    );

    it('refuses an invalid spec with invalid_spec', async () => {
      const good = await spec();
      await expectDriverError(driver.create({ ...good, workspaceId: '../escape' }), 'invalid_spec');
      await expectDriverError(driver.create({ ...good, workspaceId: '' }), 'invalid_spec');
      await expectDriverError(
        driver.create({ ...good, resources: { ...resources, cpu: 0 } }),
        'invalid_spec',
      );
      await expectDriverError(
        driver.create({ ...good, resources: { ...resources, memoryBytes: -1 } }),
        'invalid_spec',
      );
      await expectDriverError(
        driver.create({ ...good, resources: { ...resources, pids: 0 } }),
        'invalid_spec',
      );
      expect((await driver.list()).map((r) => r.workspaceId)).not.toContain(good.workspaceId);
    });
  });
}
