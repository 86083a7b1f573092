// Pubsub over PostgreSQL LISTEN/NOTIFY. Publishing is `select pg_notify(…)` on the store's pool;
// receiving needs one connection that stays LISTENing, so it has its own client outside the pool
// (a pooled connection goes back to the pool, and its LISTENs with it).
// https://www.postgresql.org/docs/current/sql-listen.html
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { ensureChannel, ensurePayload, type Pubsub, PubsubError, type SubscribeOptions } from './pubsub.js';

export const POOLER_SENTENCE =
  'LISTEN/NOTIFY does not reach this server: DATABASE_URL probably goes through a pooler in transaction mode; point it at PostgreSQL directly or at a session-mode pool.';

interface Notification {
  channel: string;
  payload?: string | undefined;
}

/** What PgPubsub needs of its LISTEN connection; a pg.Client is one. */
export interface ListenConnection {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  on(event: 'notification', listener: (msg: Notification) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  end(): Promise<void>;
}

export interface PgPubsubDeps {
  /** A new, not yet connected connection outside the pool, used for LISTEN only. */
  newConnection(): ListenConnection;
  /** NOTIFY through the pool. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Prefix of every channel name on the server. NOTIFY channels belong to the database, not to a
   * schema, so installations (and test runs) sharing a database in different schemas must differ.
   */
  namespace: string;
  log: Logger;
  /** How long the startup self-test waits for its own notification. */
  selfTestTimeoutMs?: number;
  /** Reconnect delays double from `initialMs` up to `maxMs`, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
}

interface Subscriber {
  handler: (payload: string) => void;
  onResync: (() => void) | undefined;
}

const NOOP = () => {};

/** PostgreSQL identifiers are cut at 63 bytes; longer LISTEN names would not match their NOTIFYs. */
const MAX_IDENTIFIER_BYTES = 63;

export class PgPubsub implements Pubsub {
  /** Subscribers by channel name without the namespace. */
  private readonly channels = new Map<string, Set<Subscriber>>();
  /** The self-test's waiter, by full channel name. */
  private readonly probes = new Map<string, (payload: string) => void>();
  private conn: ListenConnection | undefined;
  private started = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** Statements on the LISTEN connection run one after another (pg deprecates overlapping ones). */
  private statements: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PgPubsubDeps) {
    if (!/^[a-z][a-z0-9_]{0,22}$/.test(deps.namespace))
      throw new PubsubError(`Pubsub namespace "${deps.namespace}" is not valid.`);
  }

  /** The pubsub of a PostgreSQL store; `overrides` replace parts of it (tests). */
  static forDb(db: Db, log: Logger, overrides: Partial<PgPubsubDeps> = {}): PgPubsub {
    return new PgPubsub({ ...pgPubsubDeps(db, log), ...overrides });
  }

  async start(): Promise<void> {
    if (this.closed) throw new PubsubError('This pubsub is closed.');
    if (this.started) return;
    const conn = await this.connectAndListen();
    try {
      await this.selfTest(conn);
    } catch (err) {
      this.conn = undefined;
      await conn.end().catch(NOOP);
      throw err;
    }
    this.started = true;
  }

  async publish(channel: string, payload: string): Promise<void> {
    ensureChannel(channel);
    ensurePayload(channel, payload);
    await this.deps.notify(this.full(channel), payload);
  }

  subscribe(channel: string, handler: (payload: string) => void, opts: SubscribeOptions = {}): () => void {
    ensureChannel(channel);
    const sub: Subscriber = { handler, onResync: opts.onResync };
    let subs = this.channels.get(channel);
    if (!subs) {
      subs = new Set();
      this.channels.set(channel, subs);
      // A failure here means the connection is going away; the reconnect LISTENs every channel.
      if (this.conn) this.run(this.conn, `LISTEN ${ident(this.full(channel))}`).catch(NOOP);
    }
    subs.add(sub);
    return () => {
      const current = this.channels.get(channel);
      if (!current?.delete(sub) || current.size > 0) return;
      this.channels.delete(channel);
      if (this.conn) this.run(this.conn, `UNLISTEN ${ident(this.full(channel))}`).catch(NOOP);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.channels.clear();
    const conn = this.conn;
    this.conn = undefined;
    await conn?.end().catch(NOOP);
  }

  private full(channel: string): string {
    const name = `${this.deps.namespace}${channel}`;
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES)
      throw new PubsubError(`Pubsub channel "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes.`);
    return name;
  }

  private run(conn: ListenConnection, text: string): Promise<unknown> {
    const next = this.statements.then(() => conn.query(text));
    this.statements = next.catch(NOOP);
    return next;
  }

  /** A new connection, current from the start, LISTENing every subscribed channel. */
  private async connectAndListen(): Promise<ListenConnection> {
    const conn = this.deps.newConnection();
    this.conn = conn;
    conn.on('notification', (msg) => this.dispatch(msg));
    conn.on('error', (err) => this.lost(conn, err));
    conn.on('end', () => this.lost(conn));
    await conn.connect();
    for (const channel of this.channels.keys()) await this.run(conn, `LISTEN ${ident(this.full(channel))}`);
    return conn;
  }

  /**
   * Behind PgBouncer in transaction mode, LISTEN "succeeds" on whichever server connection the
   * statement borrowed, and notifications never come back to us. The only sure test is to send
   * one and wait for it.
   */
  private async selfTest(conn: ListenConnection): Promise<void> {
    const channel = this.full(`selftest_${randomBytes(6).toString('hex')}`);
    const token = randomBytes(16).toString('hex');
    let timer: NodeJS.Timeout | undefined;
    const received = new Promise<boolean>((resolve) => {
      this.probes.set(channel, (payload) => payload === token && resolve(true));
      timer = setTimeout(() => resolve(false), this.deps.selfTestTimeoutMs ?? 3_000);
    });
    try {
      await this.run(conn, `LISTEN ${ident(channel)}`);
      await this.deps.notify(channel, token);
      if (!(await received)) throw new PubsubError(POOLER_SENTENCE);
    } finally {
      clearTimeout(timer);
      this.probes.delete(channel);
      await this.run(conn, `UNLISTEN ${ident(channel)}`).catch(NOOP);
    }
  }

  private dispatch(msg: Notification): void {
    const payload = msg.payload ?? '';
    const probe = this.probes.get(msg.channel);
    if (probe) {
      probe(payload);
      return;
    }
    if (!msg.channel.startsWith(this.deps.namespace)) return;
    const channel = msg.channel.slice(this.deps.namespace.length);
    for (const sub of [...(this.channels.get(channel) ?? [])]) {
      try {
        sub.handler(payload);
      } catch (err) {
        this.deps.log.error({ err, channel }, 'a pubsub subscriber failed');
      }
    }
  }

  private lost(conn: ListenConnection, err?: Error): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    conn.end().catch(NOOP);
    if (this.closed || !this.started) return;
    this.deps.log.warn({ err }, 'the LISTEN connection to PostgreSQL was lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    const { initialMs, maxMs } = this.deps.backoff ?? { initialMs: 250, maxMs: 10_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay).unref();
  }

  private async reconnect(): Promise<void> {
    let conn: ListenConnection;
    try {
      conn = await this.connectAndListen();
    } catch (err) {
      // connectAndListen made its connection current; unless 'error' or 'end' already dropped it.
      const failed = this.conn;
      this.conn = undefined;
      await failed?.end().catch(NOOP);
      this.deps.log.warn({ err, attempt: this.attempt }, 'reconnecting to PostgreSQL for LISTEN failed');
      this.scheduleReconnect();
      return;
    }
    if (this.closed) {
      await conn.end().catch(NOOP);
      return;
    }
    this.attempt = 0;
    this.deps.log.info('the LISTEN connection to PostgreSQL is back; subscribers resynchronise');
    for (const subs of [...this.channels.values()])
      for (const sub of [...subs]) {
        try {
          sub.onResync?.();
        } catch (err) {
          this.deps.log.error({ err }, 'a pubsub resync handler failed');
        }
      }
  }
}

/** The store's pool publishes; a dedicated client outside it listens. */
export function pgPubsubDeps(db: Db, log: Logger): PgPubsubDeps {
  const newClient = db.dedicatedClient;
  if (db.dialect !== 'postgres' || !newClient) throw new Error('PgPubsub needs a PostgreSQL store');
  return {
    newConnection: () => newClient('rclaude-listen'),
    notify: async (channel, payload) => {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db.kysely);
    },
    namespace: namespaceFor(db.schema),
    log,
  };
}

/** Channels of the default schema start with "rc_"; a named schema adds a short hash of its name. */
export function namespaceFor(schema: string | undefined): string {
  if (!schema) return 'rc_';
  return `rc_${createHash('sha256').update(schema).digest('hex').slice(0, 12)}_`;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
