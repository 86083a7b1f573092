// A task row (and its workspace row) straight in the store, for tests of the task routes that
// need a task to exist but no workspace to run.
import { randomUUID } from 'node:crypto';
import type { TestApp } from './testApp.js';

export async function createTaskRow(t: TestApp, ownerId: string): Promise<string> {
  const workspaceId = randomUUID();
  const repository = 'https://example.test/repo';
  await t.services.workspaces.createOrGet({
    id: workspaceId,
    ownerId,
    repository,
    name: 'repo',
    driver: 'local',
    cpu: 1,
    memoryBytes: 1024 ** 3,
    pids: 256,
  });
  const task = await t.services.tasks.create({
    ownerId,
    workspaceId,
    repository,
    prompt: 'hello',
    permissionMode: 'default',
  });
  return task.id;
}
