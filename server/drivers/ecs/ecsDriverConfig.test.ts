import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/loadConfig.js';
import { DriverError } from '../runtimeDriver.js';
import { ecsDriverConfig } from './ecsDriverConfig.js';

const ECS = {
  region: 'eu-west-1',
  cluster: 'workspaces',
  capacityProviders: [{ name: 'FARGATE_SPOT', weight: 3 }, { name: 'FARGATE' }],
  subnets: ['subnet-0123456789abcdef0'],
  securityGroups: ['sg-0123456789abcdef0'],
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/remote-claude/workspace:1',
  taskRoleArn: 'arn:aws:iam::123456789012:role/rc-workspace',
  efsFileSystemId: 'fs-0123456789abcdef0',
};
const load = (ecs: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  loadConfig({ flags: { runtime: { driver: 'ecs', ecs }, ...extra } });
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('ecsDriverConfig', () => {
  it('maps runtime.ecs, with the stop grace as the task stopTimeout (at most 120 s)', () => {
    const c = ecsDriverConfig(load(ECS, { workspaces: { stopGrace: '5m' } }));
    expect(c).toMatchObject({
      ...ECS,
      capacityProviders: [
        { name: 'FARGATE_SPOT', weight: 3, base: 0 },
        { name: 'FARGATE', weight: 1, base: 0 },
      ],
      installation: 'default',
      assignPublicIp: false,
      stopTimeoutSeconds: 120,
      callTimeoutMs: 30_000,
      maxAttempts: 6,
      taskStartTimeoutMs: 300_000,
    });
    expect(c.credentials).toBeUndefined();
  });

  it.each([
    ['region', 'runtime.ecs.region must be set when runtime.driver is ecs (docs/ecs.md).'],
    ['cluster', 'runtime.ecs.cluster must be set when runtime.driver is ecs (docs/ecs.md).'],
    ['subnets', 'runtime.ecs.subnets must be set when runtime.driver is ecs (docs/ecs.md).'],
    ['efsFileSystemId', 'runtime.ecs.efsFileSystemId must be set when runtime.driver is ecs (docs/ecs.md).'],
  ])('refuses a config without %s, naming it', (key, sentence) => {
    const { [key]: _gone, ...rest } = ECS as Record<string, unknown>;
    const err = refusal(() => ecsDriverConfig(load(rest)));
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).userMessage).toBe(sentence);
  });

  it('refuses S3 snapshots (not built) and a strategy mixing Fargate and EC2', () => {
    expect(
      (refusal(() => ecsDriverConfig(load({ ...ECS, s3Snapshots: { bucket: 'b-snap' } }))) as DriverError)
        .userMessage,
    ).toMatch(/^runtime\.ecs\.s3Snapshots is not built yet/);
    expect(
      (
        refusal(() =>
          ecsDriverConfig(load({ ...ECS, capacityProviders: [{ name: 'FARGATE' }, { name: 'my-asg' }] })),
        ) as DriverError
      ).userMessage,
    ).toMatch(/mixes Fargate and EC2 providers/);
  });

  it('refuses bad values at load time with the key path', () => {
    for (const [ecs, path] of [
      [{ region: 'Europe' }, 'runtime.ecs.region'],
      [{ subnets: ['net-1'] }, 'runtime.ecs.subnets.0'],
      [{ taskRoleArn: 'role/x' }, 'runtime.ecs.taskRoleArn'],
      [{ installation: 'has_underscore' }, 'runtime.ecs.installation'],
      [{ capacityProviders: [{ name: 'FARGATE', weight: -1 }] }, 'runtime.ecs.capacityProviders.0.weight'],
      [{ surprise: 1 }, 'runtime.ecs.surprise'],
    ] as const) {
      const err = refusal(() => load({ ...ECS, ...ecs }));
      expect(err, path).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toContain(path);
    }
  });

  it('keeps static credentials out of the redacted config', async () => {
    const { redactConfig } = await import('../../config/loadConfig.js');
    const config = load({
      ...ECS,
      credentials: { accessKeyId: 'AKIA0123456789ABCDEF', secretAccessKey: 'super-secret-access-key-0' },
    });
    expect(JSON.stringify(redactConfig(config))).not.toContain('super-secret-access-key-0');
  });
});
