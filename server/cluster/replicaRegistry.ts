// The control-plane replicas sharing one database (DESIGN §9): each registers at startup, beats
// every few seconds, and counts as dead after three missed beats; whoever sees a dead row removes
// it. On SQLite only one process may use the data dir (dataDirLock.ts), so the registry holds just
// this one. Liveness compares heartbeats written by one replica's clock with another's: replicas
// are expected to keep their clocks in sync (NTP) to well under the three beats.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { CancelTimer, Clock } from '../clock.js';
import type { Config } from '../config/configSchema.js';
import type { AgentConnectionStore } from '../store/agentConnectionStore.js';
import type { Db } from '../store/db.js';
import { iso, type ReplicasTable } from '../store/schema.js';
import { ensureSchemaKnown, SCHEMA_VERSION } from './schemaVersion.js';

/** Missed heartbeats after which a replica counts as dead. */
export const MISSED_BEATS = 3;

export interface Replica {
  id: string;
  /** Where the other replicas reach this one (server.replicaUrl, or derived from the listen address). */
  address: string;
  version: string;
  schemaVersion: string;
  /** Agent connections the replica holds, as of its last heartbeat. */
  agents: number;
  startedAt: string;
  heartbeatAt: string;
  alive: boolean;
}

/**
 * Called after this replica's row is written (at start, and again after another replica had
 * removed it as dead, which took its agent_connections rows with it): whoever holds agents here
 * claims them again, so the others can find them.
 */
export type OnRegistered = () => Promise<void>;

export interface ReplicaRegistryOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  /** This binary's version (package.json). */
  version: string;
  heartbeatMs: number;
  /** How many agent connections this process holds; published with every heartbeat. */
  agents: () => number;
  /** Whose rows go with a replica the registry removes (dead, or this one stopping). */
  agentConnections: AgentConnectionStore;
  /** See OnRegistered. */
  onRegistered?: OnRegistered;
}

/**
 * The address other replicas reach this one at: `server.replicaUrl`, else the listen address,
 * with the machine's host name in place of a wildcard address (0.0.0.0 or ::).
 */
export function replicaAddress(config: Config, port: number): string {
  if (config.server.replicaUrl) return config.server.replicaUrl;
  const host = config.server.host;
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

export class ReplicaRegistry {
  readonly id = randomUUID();
  private address = '';
  private startedAt: string | undefined;
  private stopBeating: CancelTimer | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: ReplicaRegistryOptions) {}

  get deadAfterMs(): number {
    return MISSED_BEATS * this.o.heartbeatMs;
  }

  /** This process as the registry shows it; `alive` until `stop`. */
  get self(): Replica {
    const now = this.o.clock.now().toISOString();
    return {
      id: this.id,
      address: this.address,
      version: this.o.version,
      schemaVersion: SCHEMA_VERSION,
      agents: this.o.agents(),
      startedAt: this.startedAt ?? now,
      heartbeatAt: now,
      alive: this.startedAt !== undefined && !this.stopped,
    };
  }

  /**
   * Registers this process at `address` and beats every `heartbeatMs` until `stop`. Call once
   * the server listens (the address needs the port).
   * @throws Error, before registering, when the database has a newer schema than this binary
   * knows (schemaVersion.ts); or when the database cannot be written.
   */
  async start(address: string): Promise<void> {
    await ensureSchemaKnown(this.o.db);
    this.address = address;
    this.startedAt = this.o.clock.now().toISOString();
    const { kysely, dialect } = this.o.db;
    // One process per SQLite data dir (dataDirLock.ts): any row there is left by one that died.
    if (dialect === 'sqlite') await kysely.deleteFrom('replicas').execute();
    await this.insertSelf();
    await this.registered();
    this.stopBeating = this.o.clock.every(this.o.heartbeatMs, () => {
      void this.beat().catch((err) => this.o.log.warn({ err }, 'replica heartbeat failed'));
    });
    await this.removeDead();
  }

  /**
   * One heartbeat now (the timer calls this): publishes the time and the agent count, registers
   * again if another replica removed this one as dead (the process stalled), removes dead rows.
   */
  beat(): Promise<void> {
    this.beating ??= this.writeBeat().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  /** Every registered replica, oldest first, with `alive` by heartbeat; the dead ones it saw are removed. */
  async list(): Promise<Replica[]> {
    const rows = await this.o.db.kysely.selectFrom('replicas').selectAll().orderBy('started_at').execute();
    const cutoff = this.cutoff();
    const replicas = rows.map((r) => toReplica(r, iso(r.heartbeat_at) >= cutoff));
    const dead = replicas.filter((r) => !r.alive).map((r) => r.id);
    if (dead.length) await this.removeDead(dead);
    return replicas;
  }

  /** The replicas whose heartbeat is recent enough. */
  async live(): Promise<Replica[]> {
    return (await this.list()).filter((r) => r.alive);
  }

  /** Stops beating and deregisters (clean shutdown). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopBeating?.();
    await this.beating?.catch(() => undefined);
    if (this.startedAt !== undefined) {
      await this.o.db.kysely.deleteFrom('replicas').where('id', '=', this.id).execute();
      await this.o.agentConnections.removeOrphans();
    }
  }

  /** The oldest heartbeat (ISO time) a live replica can have now. */
  liveSince(): string {
    return this.cutoff();
  }

  private async writeBeat(): Promise<void> {
    if (this.stopped || this.startedAt === undefined) return;
    const res = await this.o.db.kysely
      .updateTable('replicas')
      .set({ heartbeat_at: this.o.clock.now().toISOString(), agents: this.o.agents() })
      .where('id', '=', this.id)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      this.o.log.warn({ replica: this.id }, 'this replica had been removed as dead; registering again');
      await this.insertSelf();
      await this.registered();
    }
    await this.removeDead();
  }

  private async registered(): Promise<void> {
    await this.o
      .onRegistered?.()
      .catch((err) => this.o.log.error({ err }, 'could not claim this replica’s agent connections again'));
  }

  private async insertSelf(): Promise<void> {
    const self = this.self;
    await this.o.db.kysely
      .insertInto('replicas')
      .values({
        id: self.id,
        address: self.address,
        version: self.version,
        schema_version: self.schemaVersion,
        agents: self.agents,
        started_at: self.startedAt,
        heartbeat_at: self.heartbeatAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  /** Deletes rows whose heartbeat is older than the cutoff (only `ids` when given); safe to race. */
  private async removeDead(ids?: string[]): Promise<void> {
    let q = this.o.db.kysely.deleteFrom('replicas').where('heartbeat_at', '<', this.cutoff());
    if (ids) q = q.where('id', 'in', ids);
    const res = await q.executeTakeFirst();
    const removed = Number(res.numDeletedRows);
    if (removed) this.o.log.info({ removed }, 'removed dead replicas from the registry');
    // Every time, not only after a removal here: another replica may have removed the row and
    // died before removing the agent rows with it.
    const orphans = await this.o.agentConnections.removeOrphans();
    if (orphans) this.o.log.info({ orphans }, 'removed the agent connections of dead replicas');
  }

  private cutoff(): string {
    return new Date(this.o.clock.now().getTime() - this.deadAfterMs).toISOString();
  }
}

function toReplica(r: ReplicasTable, alive: boolean): Replica {
  return {
    id: r.id,
    address: r.address,
    version: r.version,
    schemaVersion: r.schema_version,
    agents: r.agents,
    startedAt: iso(r.started_at),
    heartbeatAt: iso(r.heartbeat_at),
    alive,
  };
}
