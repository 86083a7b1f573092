// Runs once around the whole suite. Before: dist/ (the CLI the tests run) and the agent bundle
// that workspaces run (dist/agent) must match the sources under test. After: no test workspace outlives the run, even one whose test
// crashed before removing it (test apps put every box under the cgroup parent swept here).
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from '../scripts/bundleAgent.mjs';
import { ensureBuilt } from './support/ensureBuilt.js';

const PARENT = `rc-test-${process.pid}`;
const CONTROLLERS = ['pids', 'memory', 'cpu', 'cpuacct', 'cpu,cpuacct', ''];

export default async function setup(): Promise<() => Promise<void>> {
  // Workers inherit this (test/support/testApp.ts reads it).
  process.env.RC_TEST_CGROUP_PARENT = PARENT;
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

async function sweep(): Promise<void> {
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
