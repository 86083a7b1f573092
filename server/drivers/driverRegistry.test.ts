import { describe, expect, it } from 'vitest';
import { DockerDriver } from './docker/dockerDriver.js';
import { createDriver, type DriverContext, drivers } from './driverRegistry.js';
import { KubernetesDriver } from './kubernetes/kubernetesDriver.js';
import { LocalDriver } from './local/localDriver.js';
import { DriverError } from './runtimeDriver.js';

const ctx: DriverContext = {
  local: { dataDir: '/tmp/rc-registry', nodePath: process.execPath, agentDir: '/tmp/rc-registry-agent' },
  docker: {
    image: 'remote-claude/workspace:latest',
    installation: 'registry',
    nodes: [{ name: 'local', docker: { socketPath: '/var/run/docker.sock' } }],
  },
  kubernetes: {
    namespace: 'remote-claude',
    installation: 'registry',
    image: 'remote-claude/workspace:latest',
  },
};

describe('createDriver', () => {
  it('builds the local driver from its part of the context', () => {
    const driver = createDriver('local', ctx);
    expect(driver).toBeInstanceOf(LocalDriver);
    expect(driver.kind).toBe('local');
  });

  it('builds the docker driver from its part of the context, without dialling the daemon', () => {
    const driver = createDriver('docker', ctx);
    expect(driver).toBeInstanceOf(DockerDriver);
    expect(driver.kind).toBe('docker');
  });

  it('builds the kubernetes driver from its part of the context, without dialling the API', () => {
    const driver = createDriver('kubernetes', ctx);
    expect(driver).toBeInstanceOf(KubernetesDriver);
    expect(driver.kind).toBe('kubernetes');
    expect(driver.agentTransport).toBe('network');
  });

  it.each(['ecs'])('refuses %s, which this build does not ship, saying what to use', (kind) => {
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
      userMessage: `The ${kind} runtime driver is not part of this build yet; use RC_RUNTIME=local, docker or kubernetes.`,
    });
  });

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
