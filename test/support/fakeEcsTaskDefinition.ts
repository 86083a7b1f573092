// What the fake ECS endpoint refuses in RegisterTaskDefinition, as ECS does: a bad family, a
// container without name or image, Fargate without awsvpc or with a size Fargate does not sell,
// fields Fargate does not support, EC2 task CPU below 128 units, IAM-authorised EFS without
// transit encryption. Test support only.

import type { FakeTaskDefinition } from './fakeEcsTasks.js';
import { AwsError, type Json } from './fakeEfs.js';

const FARGATE_SIZES: Record<string, number[]> = {
  '256': [512, 1024, 2048],
  '512': [1024, 2048, 3072, 4096],
  '1024': [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  '2048': Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  '4096': Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
  '8192': Array.from({ length: 12 }, (_, i) => 16384 + i * 4096),
  '16384': Array.from({ length: 12 }, (_, i) => 32768 + i * 8192),
};

/** The family of a task definition ECS would register. @throws AwsError ClientException. */
export function validateTaskDefinition(b: Json): string {
  const family = String(b.family ?? '');
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(family))
    throw new AwsError('ClientException', 'Family contains invalid characters.');
  const body = b as Json & FakeTaskDefinition;
  const containers = body.containerDefinitions ?? [];
  if (containers.length === 0 || containers.some((c) => !c.name || !c.image)) {
    throw new AwsError('ClientException', 'Container definitions need a name and an image.');
  }
  if (b.networkMode !== 'awsvpc' && has(b.requiresCompatibilities, 'FARGATE')) {
    throw new AwsError('ClientException', 'Fargate requires task definition to have networkMode awsvpc.');
  }
  if (has(b.requiresCompatibilities, 'FARGATE')) {
    const mem = FARGATE_SIZES[String(b.cpu)];
    if (!mem?.includes(Number(b.memory))) {
      throw new AwsError(
        'ClientException',
        `No Fargate configuration exists for given values: ${b.cpu} CPU, ${b.memory} memory.`,
      );
    }
    for (const c of containers) {
      if (c.privileged !== undefined)
        throw new AwsError('ClientException', 'privileged is not supported on Fargate.');
      if (c.dockerSecurityOptions)
        throw new AwsError('ClientException', 'dockerSecurityOptions is not supported on Fargate.');
      if (c.linuxParameters?.maxSwap !== undefined)
        throw new AwsError('ClientException', 'maxSwap is not supported on Fargate.');
    }
  } else if (Number(b.cpu) < 128) {
    throw new AwsError('ClientException', 'Invalid CPU value: the task CPU must be at least 128 units.');
  }
  for (const v of body.volumes ?? []) {
    const efs = v.efsVolumeConfiguration as Json | undefined;
    if (
      efs &&
      (efs as { transitEncryption?: string }).transitEncryption !== 'ENABLED' &&
      (efs.authorizationConfig as Json | undefined)?.iam === 'ENABLED'
    ) {
      throw new AwsError(
        'ClientException',
        'Transit encryption must be enabled when IAM authorization is used.',
      );
    }
  }
  return family;
}

function has(list: unknown, value: string): boolean {
  return Array.isArray(list) && list.includes(value);
}
