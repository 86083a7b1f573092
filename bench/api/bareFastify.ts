// The baseline for `bench/api`: Fastify with nothing but a hello route, in its own process like
// the real server, so the ratio measures what our plugins, hooks, auth and store cost.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
// run.ts waits for this line to learn the port.
process.stdout.write(`bare fastify listening on http://127.0.0.1:${port}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
