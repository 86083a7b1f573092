// Prometheus metrics of the cluster part (DESIGN §9), beside the HTTP ones (http/metrics.ts):
// relayed agent calls and streams by kind and outcome with their latency, pubsub lag, and agent
// connections, this replica's and each live replica's as the registry last heard them.
//
// Pubsub lag is measured by a probe: every PROBE_MS this replica publishes its own timestamp on
// `pubsub_probe` and times the message's round trip through the database (only its own: the
// clocks of two machines are not compared). Per process by nature: each replica reports itself.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { CancelTimer, Clock } from '../clock.js';
import type { Pubsub } from './pubsub.js';
import type { ReplicaRegistry } from './replicaRegistry.js';

export type RelayKind = 'request' | 'socket' | 'stream' | 'list';
export type RelayOutcome = 'ok' | 'not_connected' | 'error';

const PROBE_CHANNEL = 'pubsub_probe';
const PROBE_MS = 10_000;

/** What AgentRelay records; created before the app and its registry, registered by `register`. */
export class RelayMetrics {
  readonly duration = new Histogram({
    name: 'rc_relay_duration_seconds',
    help: 'Agent calls and streams relayed to the replica holding the agent: time to the answer (calls) or to the open socket (streams), by kind and outcome.',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });

  /** Starts timing one relay; call the result with how it ended. */
  start(kind: RelayKind): (outcome: RelayOutcome) => void {
    const end = this.duration.startTimer({ kind });
    return (outcome) => {
      end({ outcome });
    };
  }
}

export interface ClusterMetricsOptions {
  relay: RelayMetrics;
  pubsub: Pubsub;
  registry: ReplicaRegistry;
  /** Agent connections this replica holds now. */
  agents: () => number;
  clock: Clock;
  log: Logger;
}

/** The probe and the gauges; `register` adds them to an app's registry. */
export class ClusterMetrics {
  readonly pubsubLag = new Histogram({
    name: 'rc_pubsub_lag_seconds',
    help: 'Round trip of this replica’s own probe message through the pubsub (LISTEN/NOTIFY on PostgreSQL).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
  private readonly sent = new Map<string, number>();
  private stopProbe: CancelTimer | undefined;
  private seq = 0;

  constructor(private readonly o: ClusterMetricsOptions) {
    // Subscribed at construction, before the pubsub starts, so the first probe is heard.
    o.pubsub.subscribe(PROBE_CHANNEL, (payload) => this.heard(payload));
  }

  /** Probes now and every PROBE_MS until `stop`. */
  start(): void {
    this.stopProbe ??= this.o.clock.every(PROBE_MS, () => void this.probe());
    void this.probe();
  }

  stop(): void {
    this.stopProbe?.();
    this.stopProbe = undefined;
  }

  /** Publishes one probe; resolves once it is handed to the pubsub. */
  async probe(): Promise<void> {
    const key = `${this.o.registry.id} ${++this.seq}`;
    this.sent.set(key, performance.now());
    // A probe lost (the LISTEN connection dropping) must not pile up.
    if (this.sent.size > 10) this.sent.delete(this.sent.keys().next().value as string);
    await this.o.pubsub
      .publish(PROBE_CHANNEL, key)
      .catch((err) => this.o.log.warn({ err }, 'could not publish a pubsub probe'));
  }

  register(into: Registry): void {
    into.registerMetric(this.o.relay.duration);
    into.registerMetric(this.pubsubLag);
    const agents = this.o.agents;
    into.registerMetric(
      new Gauge({
        name: 'rc_agent_connections',
        help: 'Agent connections this replica holds.',
        registers: [],
        collect() {
          this.set(agents());
        },
      }),
    );
    const registry = this.o.registry;
    const log = this.o.log;
    into.registerMetric(
      new Gauge({
        name: 'rc_cluster_agent_connections',
        help: 'Agent connections each live replica holds, as of its last heartbeat.',
        labelNames: ['replica'] as const,
        registers: [],
        async collect() {
          this.reset();
          try {
            for (const r of await registry.live()) this.set({ replica: r.id }, r.agents);
          } catch (err) {
            log.warn({ err }, 'could not read the replica registry for metrics');
          }
        },
      }),
    );
  }

  private heard(payload: string): void {
    const at = this.sent.get(payload);
    if (at === undefined) return;
    this.sent.delete(payload);
    this.pubsubLag.observe((performance.now() - at) / 1000);
  }
}
