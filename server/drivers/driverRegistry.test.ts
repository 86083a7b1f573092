import { describe, expect, it } from 'vitest';
import { DockerDriver } from './docker/dockerDriver.js';
import { createDriver, type DriverContext, drivers } from './driverRegistry.js';
import { EcsDriver } from './ecs/ecsDriver.js';
import { KubernetesDriver } from './kubernetes/kubernetesDriver.js';
import { LocalDriver } from './local/localDriver.js';

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
  ecs: () => ({
    region: 'eu-west-1',
    cluster: 'registry',
    capacityProviders: [{ name: 'FARGATE' }],
    subnets: ['subnet-0123456789abcdef0'],
    securityGroups: ['sg-0123456789abcdef0'],
    image: 'remote-claude/workspace:latest',
    taskRoleArn: 'arn:aws:iam::123456789012:role/workspace',
    efsFileSystemId: 'fs-0123456789abcdef0',
    installation: 'registry',
  }),
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

  it('builds the ecs driver from its part of the context, without calling AWS', () => {
    const driver = createDriver('ecs', ctx);
    expect(driver).toBeInstanceOf(EcsDriver);
    expect(driver.agentTransport).toBe('network');
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
