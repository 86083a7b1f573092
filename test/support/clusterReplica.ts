// TEST ONLY. One real control-plane replica as a process of its own, for the cluster tests
// (test/support/cluster.ts runs it as `node dist/test/support/clusterReplica.js`): the same
// startServer as `rclaude serve`, with the one difference that workspaces run on the shared host
// agent driver (sharedHostAgentDriver.ts), whose boxes outlive this process, so a test can
// `kill -9` it and watch the agents reconnect to the others. Its configuration comes as config
// flags in RC_TEST_REPLICA (JSON, checked below); nothing else of the environment is read.
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { loadConfig } from '../../server/config/loadConfig.js';
import { startServer } from '../../server/serve.js';
import { SharedHostAgentDriver } from './sharedHostAgentDriver.js';

export const ReplicaSpec = z.object({
  /** Config flags (dotted paths), as `loadConfig({ flags })` takes them. */
  flags: z.record(z.string(), z.unknown()),
  /** The shared box directory of the test. */
  boxes: z.string().min(1),
  /** RC_CLAUDE_PATH of the agents this replica starts. */
  claudePath: z.string().min(1).optional(),
});
export type ReplicaSpec = z.infer<typeof ReplicaSpec>;

/** The line a replica prints once it listens (startServer's own), which cluster.ts waits for. */
export const LISTENING = 'Remote Claude is listening on';

async function main(): Promise<void> {
  const spec = ReplicaSpec.parse(JSON.parse(process.env.RC_TEST_REPLICA ?? 'null'));
  const config = loadConfig({ env: {}, flags: spec.flags });
  const driver = new SharedHostAgentDriver({
    root: spec.boxes,
    ...(spec.claudePath ? { claudePath: spec.claudePath } : {}),
  });
  const server = await startServer(config, { driver });
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    // Bounded: a clean stop that hangs must not keep a test waiting.
    setTimeout(() => process.exit(1), 10_000).unref();
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`replica close failed: ${(err as Error).stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    process.stderr.write(`replica failed to start: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
