import { describe, expect, it } from 'vitest';
import { createDriver, type DriverContext, drivers } from './driverRegistry.js';
import { LocalDriver } from './local/localDriver.js';
import { DriverError } from './runtimeDriver.js';

const ctx: DriverContext = {
  local: { dataDir: '/tmp/rc-registry', nodePath: process.execPath, agentDir: '/tmp/rc-registry-agent' },
};

describe('createDriver', () => {
  it('builds the local driver from its part of the context', () => {
    const driver = createDriver('local', ctx);
    expect(driver).toBeInstanceOf(LocalDriver);
    expect(driver.kind).toBe('local');
  });

  it.each(['docker', 'kubernetes', 'ecs'])(
    'refuses %s, which this build does not ship, saying what to use',
    (kind) => {
      const err = (() => {
        try {
          createDriver(kind, ctx);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(DriverError);
      expect(err).toMatchObject({
        reason: 'unavailable',
        userMessage: `The ${kind} runtime driver is not part of this build yet; use RC_RUNTIME=local.`,
      });
    },
  );

  it('refuses an unknown kind, listing the valid ones', () => {
    expect(() => createDriver('podman', ctx)).toThrow(
      'Unknown runtime driver "podman"; valid drivers: local, docker, kubernetes, ecs.',
    );
    expect(() => createDriver('toString', ctx)).toThrow(/Unknown runtime driver/);
  });

  it('has a factory for every driver kind', () => {
    expect(Object.keys(drivers).sort()).toEqual(['docker', 'ecs', 'kubernetes', 'local']);
  });
});
