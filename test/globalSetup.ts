// Runs once around the whole suite. Before: dist/ (the CLI the tests run) and the agent bundle
// that workspaces run (dist/agent) must match the sources under test. After: no test workspace outlives the run, even one whose test
// crashed before removing it (test apps put every box under the cgroup parent swept here).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from '../scripts/bundleAgent.mjs';
import { ensureBuilt } from './support/ensureBuilt.js';

const PARENT = `rc-test-${process.pid}`;
/** Docker test kits name their installation after this, so the sweep can find what they left. */
const RUN_ID = `t${process.pid}`;
/**
 * Every hierarchy a test cgroup can be in: the local driver's controllers, and on cgroup v1 every
 * other one too, where runc makes Docker test containers' cgroups under the same parent.
 */
const CONTROLLERS = [
  '',
  ...readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter(
      (e) =>
        e.isDirectory() &&
        (e.name === 'unified' || !existsSync(join('/sys/fs/cgroup', e.name, 'cgroup.controllers'))),
    )
    .map((e) => e.name),
];

export default async function setup(): Promise<() => Promise<void>> {
  // Workers inherit this (test/support/testApp.ts reads it).
  process.env.RC_TEST_CGROUP_PARENT = PARENT;
  process.env.RC_TEST_RUN_ID = RUN_ID;
  // Build dist/ once here: several test files run the built CLI, and parallel builds from their
  // workers would race on the same output files.
  await ensureBuilt();
  await bundleAgent();
  return sweep;
}

/** Every workspace cgroup directory under this run's parent, in every controller. */
function testCgroups(): string[] {
  const dirs: string[] = [];
  for (const controller of CONTROLLERS) {
    const dir = join('/sys/fs/cgroup', controller, PARENT);
    if (!existsSync(dir)) continue;
    for (const child of readdirSync(dir, { withFileTypes: true })) {
      if (child.isDirectory()) dirs.push(join(dir, child.name));
    }
  }
  return dirs;
}

/** Containers and volumes a crashed Docker test left behind (labelled with this run's installations). */
function sweepDocker(): void {
  const docker = (args: string[]) => {
    try {
      return execFileSync('docker', args, {
        encoding: 'utf8',
        timeout: 30_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      return '';
    }
  };
  const ours = (labels: string) => new RegExp(`remote-claude\\.installation=${RUN_ID}x`).test(labels);
  const containers = docker([
    'ps',
    '-a',
    '--filter',
    'label=remote-claude.installation',
    '--format',
    '{{.ID}}\t{{.Labels}}',
  ])
    .split('\n')
    .filter((l) => ours(l))
    .map((l) => l.split('\t')[0] as string);
  if (containers.length) docker(['rm', '-f', '-v', ...containers]);
  const volumes = docker([
    'volume',
    'ls',
    '--filter',
    'label=remote-claude.installation',
    '--format',
    '{{.Name}}\t{{.Labels}}',
  ])
    .split('\n')
    .filter((l) => ours(l))
    .map((l) => l.split('\t')[0] as string);
  if (volumes.length) docker(['volume', 'rm', '-f', ...volumes]);
}

async function sweep(): Promise<void> {
  sweepDocker();
  for (const dir of testCgroups()) {
    const procs = join(dir, 'cgroup.procs');
    for (const pid of existsSync(procs) ? readFileSync(procs, 'utf8').split('\n').filter(Boolean) : []) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  }
  // Give the kernel a moment to reap, then drop the empty cgroups.
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    let left = 0;
    for (const dir of testCgroups()) {
      try {
        rmdirSync(dir);
      } catch {
        left += 1;
      }
    }
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const controller of CONTROLLERS) {
    try {
      rmdirSync(join('/sys/fs/cgroup', controller, PARENT));
    } catch {}
  }
}
