// Compares the store's workspaces with the boxes the driver has, on start and then periodically:
// re-adopts live boxes (listening on their agent sockets again so the agents reconnect), starts
// again boxes that should run but stopped (at most 3 times in 10 minutes), fails workspaces whose
// box vanished or keeps stopping, finishes stops that were cut short, and removes orphan boxes that
// no workspace owns.
import type { Logger } from 'pino';
import type { CancelTimer, Clock } from '../clock.js';
import type { Exclusive } from '../cluster/leaderLock.js';
import type { RuntimeDriver, RuntimeRef, RuntimeState } from '../drivers/runtimeDriver.js';
import type { WorkspaceStore } from '../store/workspaceStore.js';
import type { AgentHub } from './agentHub.js';
import { parseRef, type WorkspaceService } from './workspaceService.js';

const RESTART_LIMIT = 3;
const RESTART_WINDOW_MS = 10 * 60_000;

export interface ReconcileReport {
  /** false: another replica leads reconciling (server/cluster/leaderLock.ts), so this one ran no pass. */
  ran: boolean;
  adopted: string[];
  /** Boxes that should run but had stopped, started again. */
  restarted: string[];
  failed: string[];
  stopped: string[];
  orphansRemoved: string[];
}

export class Reconciler {
  private stopTimer: CancelTimer | undefined;
  /** When each workspace's box was last restarted by reconcile, to stop a crash loop. */
  private readonly restarts = new Map<string, number[]>();
  private running: Promise<ReconcileReport> | undefined;

  constructor(
    private readonly o: {
      store: WorkspaceStore;
      driver: RuntimeDriver;
      hub: AgentHub;
      service: WorkspaceService;
      log: Logger;
      /** Paces the periodic passes and measures the restart window. */
      clock: Clock;
      /**
       * Runs a pass only while this replica leads (one reconciler at a time across replicas);
       * without it every pass runs.
       */
      exclusive?: (pass: () => Promise<ReconcileReport>) => Promise<Exclusive<ReconcileReport>>;
    },
  ) {}

  /** Runs now and then every `intervalMs`. */
  start(intervalMs: number): Promise<ReconcileReport> {
    const first = this.runOnce();
    this.stopTimer?.();
    this.stopTimer = this.o.clock.every(
      intervalMs,
      () => void this.runOnce().catch((err) => this.o.log.error({ err }, 'reconcile pass failed')),
    );
    return first;
  }

  /** Stops the periodic passes and waits for one in flight, so a leader hands over only between passes. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** At most RESTART_LIMIT restarts per workspace within RESTART_WINDOW_MS. */
  private mayRestart(id: string): boolean {
    const now = this.o.clock.now().getTime();
    const recent = (this.restarts.get(id) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
    if (recent.length >= RESTART_LIMIT) return false;
    this.restarts.set(id, [...recent, now]);
    return true;
  }

  /** One pass, or none when another replica leads; concurrent calls share the pass in flight. */
  runOnce(): Promise<ReconcileReport> {
    this.running ??= this.passIfLeading().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async passIfLeading(): Promise<ReconcileReport> {
    if (!this.o.exclusive) return this.pass();
    const outcome = await this.o.exclusive(() => this.pass());
    return outcome.ran ? outcome.value : { ...emptyReport(), ran: false };
  }

  private async pass(): Promise<ReconcileReport> {
    const { store, driver, hub, service, log } = this.o;
    const report = emptyReport();
    const rows = await store.list();
    const boxes = await driver.list();
    const boxById = new Map(boxes.map((b) => [b.workspaceId, b]));
    const known = new Set(rows.map((r) => r.id));

    for (const row of rows) {
      if (service.isBusy(row.id)) continue;
      // A start in flight on another replica: its box may not exist yet, or not run yet.
      if (row.status === 'starting' && !(await service.isFree('start', row.id))) continue;
      // A stop in flight on another replica, still in its grace period: not one cut short.
      if (row.status === 'stopping' && !(await service.isFree('stop', row.id))) continue;
      const ref: RuntimeRef | undefined = parseRef(row) ?? boxById.get(row.id);
      let state: RuntimeState;
      try {
        state = ref ? await driver.inspect(ref) : { status: 'missing' };
      } catch (err) {
        // The box's host does not answer (a Docker daemon restarting): that is not "missing", so
        // the workspace keeps its status until a later pass can see the box again.
        log.warn({ err, workspaceId: row.id }, 'could not inspect workspace box');
        continue;
      }
      const alive = state.status === 'running';
      if (row.status === 'stopping' || (alive && (row.status === 'stopped' || row.status === 'pending'))) {
        if (ref) await driver.stop(ref, { graceSeconds: 0 });
        await hub.unlisten(row.id);
        // A stop's reason (a lifecycle limit's, server/scheduler/) stays; a user's stop has none.
        if (row.status === 'stopping')
          await store.transition(row.id, ['stopping'], 'stopped', { status_reason: row.status_reason });
        report.stopped.push(row.id);
        continue;
      }
      if (row.status !== 'starting' && row.status !== 'running') continue;
      if (alive) {
        if (!hub.isListening(row.id)) {
          await hub.listen(row.id);
          report.adopted.push(row.id);
          if (row.status === 'starting') service.resumeStart(row.id);
        }
        continue;
      }
      // A box that should run but stopped (killed, crashed, its host restarted) is started again,
      // unless it keeps stopping: then the workspace fails with the reason.
      if (state.status === 'stopped' && ref && this.mayRestart(row.id)) {
        try {
          await hub.listen(row.id);
          await driver.start(ref);
          log.info(
            { workspaceId: row.id, reason: state.reason },
            'restarted a workspace box that had stopped',
          );
          report.restarted.push(row.id);
          if (row.status === 'starting') service.resumeStart(row.id);
          continue;
        } catch (err) {
          log.warn({ err, workspaceId: row.id }, 'could not restart a stopped workspace box');
        }
      }
      const why =
        state.reason ??
        (state.status === 'missing'
          ? 'The workspace sandbox disappeared.'
          : `The workspace stopped unexpectedly${state.exitCode === undefined ? '' : ` (exit code ${state.exitCode})`}.`);
      if (await store.transition(row.id, ['starting', 'running'], 'failed', { status_reason: why })) {
        service.events.emit('failed', row.id);
      }
      await hub.unlisten(row.id);
      report.failed.push(row.id);
    }

    for (const box of boxes) {
      if (known.has(box.workspaceId)) continue;
      await driver
        .remove(box)
        .catch((err) => log.warn({ err, workspaceId: box.workspaceId }, 'could not remove orphan'));
      report.orphansRemoved.push(box.workspaceId);
    }
    if (
      report.adopted.length +
        report.restarted.length +
        report.failed.length +
        report.stopped.length +
        report.orphansRemoved.length >
      0
    ) {
      log.info(report, 'reconciled workspaces');
    }
    return report;
  }
}

function emptyReport(): ReconcileReport {
  return { ran: true, adopted: [], restarted: [], failed: [], stopped: [], orphansRemoved: [] };
}
