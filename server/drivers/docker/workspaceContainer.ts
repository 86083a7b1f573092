// One workspace's container on one node: the Docker calls behind the driver's create, start, stop
// and remove, and the sentences for what can go wrong with them.
import type Docker from 'dockerode';
import { realDeadline } from '../../clock.js';
import { DriverError } from '../runtimeDriver.js';
import { containerName, volumeLabels, volumeNames } from './containerSpec.js';
import { demuxLogs, stopReason } from './containerState.js';
import { dockerMessage, isNotFound, statusOf } from './dockerCall.js';
import type { DockerNode } from './dockerNodes.js';
import { unknownRuntimeError } from './runtimeCheck.js';

const START_WATCH_POLL_MS = 50;

export class WorkspaceContainer {
  readonly name: string;
  private readonly volumes: { workspace: string; home: string };

  constructor(
    readonly node: DockerNode,
    private readonly installation: string,
    readonly workspaceId: string,
    private readonly callTimeoutMs: number,
  ) {
    this.name = containerName(installation, workspaceId);
    this.volumes = volumeNames(installation, workspaceId);
  }

  /** `docker inspect`; undefined when the node has no such container. */
  inspect(): Promise<Docker.ContainerInspectInfo | undefined> {
    return this.node
      .call((d, abortSignal) => d.getContainer(this.name).inspect({ abortSignal }))
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
  }

  /** Makes the two volumes (idempotent: Docker returns an existing one) and the container. */
  async create(options: Docker.ContainerCreateOptions, image: string): Promise<void> {
    const labels = volumeLabels(this.installation, this.workspaceId);
    for (const volume of Object.values(this.volumes)) {
      await this.node.call((d, abortSignal) => d.createVolume({ Name: volume, Labels: labels, abortSignal }));
    }
    try {
      await this.node.call((d, abortSignal) => d.createContainer({ ...options, abortSignal }), { image });
    } catch (err) {
      // Docker copies the image's files into an empty volume at create: a volume whose files
      // were deleted on disk fails here already.
      throw (
        this.volumeLost(err) ??
        (await unknownRuntimeError(err, this.node, options.HostConfig?.Runtime)) ??
        err
      );
    }
  }

  /**
   * `docker start`; resolves true when it started, false when it already ran.
   * @throws DriverError `start_failed` with Docker's reason, `not_found` when the container is gone.
   */
  async start(notFound: DriverError): Promise<boolean> {
    try {
      await this.node.call((d, abortSignal) => d.getContainer(this.name).start({ abortSignal }));
      return true;
    } catch (err) {
      if (statusOf(err) === 304) return false;
      if (isNotFound(err) && !/volume/i.test(dockerMessage(causageOf(err)))) throw notFound;
      throw this.startFailure(err);
    }
  }

  /** `docker stop -t grace`; a stopped or missing container resolves. */
  async stop(graceSeconds: number): Promise<void> {
    await this.node
      .call((d, abortSignal) => d.getContainer(this.name).stop({ t: graceSeconds, abortSignal }), {
        ms: graceSeconds * 1000 + this.callTimeoutMs,
      })
      .catch((err: unknown) => {
        // 304: already stopped; 404: already gone.
        if (statusOf(err) !== 304 && !isNotFound(err)) throw err;
      });
  }

  /** Stops (with `graceSeconds`) and removes the container; its named volumes stay. */
  async remove(graceSeconds: number): Promise<void> {
    await this.stop(graceSeconds);
    await this.node
      .call((d, abortSignal) => d.getContainer(this.name).remove({ force: true, abortSignal }))
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }

  /** Removes both volumes; missing ones are fine. */
  async removeVolumes(): Promise<void> {
    for (const volume of Object.values(this.volumes)) {
      await this.node
        .call((d, abortSignal) => d.getVolume(volume).remove({ abortSignal }))
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
  }

  /**
   * Watches a just-started workspace container for `watchMs`: one whose agent died (stopped, or
   * restarting under its policy) is stopped and reported with its last log lines.
   * @throws DriverError `start_failed`.
   */
  async ensureStayedUp(watchMs: number): Promise<void> {
    const deadline = realDeadline(watchMs);
    let info: Docker.ContainerInspectInfo | undefined;
    for (;;) {
      info = await this.inspect();
      if (!info?.State.Running || info.State.Restarting || info.RestartCount > 0) break;
      if (deadline.passed()) return;
      await new Promise((resolve) => setTimeout(resolve, START_WATCH_POLL_MS));
    }
    const logs = await this.lastLogLines();
    // The container already stopped itself (that is why we are here); the start_failed below is
    // what the user must see either way.
    await this.stop(0).catch(() => {});
    const why = info
      ? (stopReason(info.State) ?? `exit code ${info.State.ExitCode}`)
      : 'the container disappeared';
    throw new DriverError({
      reason: 'start_failed',
      userMessage: `The workspace container on node ${this.node.name} stopped right after it started (${why})${logs ? `: ${logs}` : '.'}`,
    });
  }

  private async lastLogLines(lines = 5): Promise<string> {
    const raw = await this.node
      .call((d, abortSignal) =>
        d.getContainer(this.name).logs({
          stdout: true,
          stderr: true,
          tail: lines,
          follow: false,
          abortSignal,
        } as {
          follow: false;
        }),
      )
      // Only decoration for an error already being reported.
      .catch(() => undefined);
    return raw ? demuxLogs(Buffer.from(raw)).trim().split('\n').slice(-lines).join(' | ').slice(0, 800) : '';
  }

  private startFailure(err: unknown): DriverError {
    if (err instanceof DriverError && err.reason === 'unavailable') return err;
    const lost = this.volumeLost(err);
    if (lost) return lost;
    return new DriverError({
      reason: 'start_failed',
      userMessage: `The workspace container on node ${this.node.name} could not start: ${dockerMessage(causageOf(err))}.`,
      cause: causageOf(err),
    });
  }

  /**
   * A `start_failed` saying the workspace's files are gone, when Docker failed because a volume's
   * directory no longer exists on the node (deleted behind Docker's back); else undefined.
   */
  private volumeLost(err: unknown): DriverError | undefined {
    const message = dockerMessage(causageOf(err));
    const volume = Object.values(this.volumes).find((n) => message.includes(n));
    if (!volume || !/no such file or directory/i.test(message)) return undefined;
    return new DriverError({
      reason: 'start_failed',
      userMessage: `The workspace's files are missing on node ${this.node.name}: Docker cannot mount its volume ${volume} (${message}). Delete the workspace and create it again.`,
      cause: causageOf(err),
    });
  }
}

/** The dockerode error under a DriverError made by dockerCall. */
function causageOf(err: unknown): unknown {
  return err instanceof DriverError ? err.cause : err;
}
