// What this process still has to do before it should get traffic. `/readyz` answers 200 only once
// every step is done, so a load balancer or an orchestrator never sends a request to a replica
// that would answer it wrongly (a sign-in before the first administrator exists, a workspace
// request before reconcile has re-adopted the boxes that kept running).
//
// Per process on purpose: readiness is a fact about this replica, not about the installation.

export const READINESS_STEPS = ['store', 'bootstrap', 'reconcile'] as const;
export type ReadinessStep = (typeof READINESS_STEPS)[number];

const WHAT: Record<ReadinessStep, string> = {
  store: 'opening the store and running its migrations',
  bootstrap: 'creating the first administrator',
  reconcile: "reconciling the workspaces' boxes for the first time",
};

export class Readiness {
  private readonly done = new Set<ReadinessStep>();
  private readonly failures = new Map<ReadinessStep, string>();

  /** Marks a step done (idempotent) and forgets its last failure. */
  mark(step: ReadinessStep): void {
    this.done.add(step);
    this.failures.delete(step);
  }

  /** Records why a step has not succeeded yet (it is retried by its owner). */
  failed(step: ReadinessStep, reason: string): void {
    this.failures.set(step, reason);
  }

  isReady(): boolean {
    return READINESS_STEPS.every((s) => this.done.has(s));
  }

  /** A sentence saying what is still pending, for the 503 answer; undefined when ready. */
  pendingSentence(): string | undefined {
    const pending = READINESS_STEPS.filter((s) => !this.done.has(s));
    if (!pending.length) return undefined;
    const parts = pending.map((s) => {
      const why = this.failures.get(s);
      return why ? `${WHAT[s]} (last attempt failed: ${why})` : WHAT[s];
    });
    return `The server is still starting: ${parts.join('; ')}.`;
  }
}
