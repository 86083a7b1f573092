// Runs once before the whole suite: the agent bundle that workspaces run (dist/agent) must match
// the sources under test.
import { bundleAgent } from '../scripts/bundleAgent.mjs';

export default async function setup(): Promise<void> {
  await bundleAgent();
}
