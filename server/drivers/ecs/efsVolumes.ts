// A workspace's files on EFS: two access points (its /workspace and its home), each rooted at the
// workspace's own directory and entering it as uid 1000, so a task mounting one sees that
// directory and nothing else of the file system. Deleting an access point keeps the files under
// it (EFS does); the driver empties them with a task first (EcsDriver.remove).
import { randomUUID } from 'node:crypto';
import {
  type AccessPointDescription,
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  type EFSClient,
} from '@aws-sdk/client-efs';
import { realDeadline } from '../../clock.js';
import { DriverError } from '../runtimeDriver.js';
import { type AccessPoints, accessPointPath, TAG, type VolumeRole, WORKSPACE_UID } from './taskDefinition.js';
import { apiError } from './taskState.js';

const ROLES: VolumeRole[] = ['workspace', 'home'];

export class EfsVolumes {
  constructor(
    private readonly efs: EFSClient,
    private readonly fileSystemId: string,
    private readonly installation: string,
    private readonly pollMs: number,
  ) {}

  /** The workspace's access points, by their tags; a role without one is missing from the result. */
  async find(workspaceId: string): Promise<Partial<AccessPoints>> {
    const found: Partial<AccessPoints> = {};
    let NextToken: string | undefined;
    do {
      const page = await this.call('DescribeAccessPoints', () =>
        this.efs.send(
          new DescribeAccessPointsCommand({ FileSystemId: this.fileSystemId, MaxResults: 100, NextToken }),
        ),
      );
      for (const ap of page.AccessPoints ?? []) {
        const role = this.roleOf(ap, workspaceId);
        if (role && ap.AccessPointId && ap.LifeCycleState !== 'deleting' && ap.LifeCycleState !== 'deleted')
          found[role] = ap.AccessPointId;
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return found;
  }

  /**
   * The workspace's two access points, created where missing, once EFS says they are available.
   * Each create has its own client token, so the SDK's retry of a call that timed out does not
   * make a second one (a start of one workspace runs on one replica at a time: the server holds
   * `workspace-start/<id>`).
   */
  async ensure(workspaceId: string): Promise<AccessPoints> {
    const found = await this.find(workspaceId);
    // Both at once: each takes EFS a moment to make available.
    const [workspace, home] = await Promise.all(
      ROLES.map(async (role) => {
        const known = found[role];
        if (known) return known;
        const created = await this.call('CreateAccessPoint', () =>
          this.efs.send(
            new CreateAccessPointCommand({
              FileSystemId: this.fileSystemId,
              ClientToken: randomUUID(),
              PosixUser: { Uid: WORKSPACE_UID, Gid: WORKSPACE_UID },
              RootDirectory: {
                Path: accessPointPath(this.installation, workspaceId, role),
                // EFS makes the directory on first mount, owned by the workspace user, 0750.
                CreationInfo: { OwnerUid: WORKSPACE_UID, OwnerGid: WORKSPACE_UID, Permissions: '0750' },
              },
              Tags: [
                { Key: 'Name', Value: `rc-${this.installation}-${workspaceId}-${role}` },
                { Key: TAG.installation, Value: this.installation },
                { Key: TAG.workspace, Value: workspaceId },
                { Key: TAG.volume, Value: role },
              ],
            }),
          ),
        );
        if (!created.AccessPointId)
          throw apiError(new Error('no AccessPointId in the answer'), 'CreateAccessPoint');
        if (created.LifeCycleState !== 'available') await this.waitAvailable(created.AccessPointId);
        return created.AccessPointId;
      }),
    );
    return { workspace: workspace as string, home: home as string };
  }

  /** Deletes the access points (not the files under them). Idempotent. */
  async delete(points: Partial<AccessPoints>): Promise<void> {
    for (const id of Object.values(points)) {
      await this.call('DeleteAccessPoint', () =>
        this.efs.send(new DeleteAccessPointCommand({ AccessPointId: id })),
      ).catch((err: unknown) => {
        if (!(err instanceof DriverError && /AccessPointNotFound/.test(String(err.cause)))) throw err;
      });
    }
  }

  private async waitAvailable(id: string): Promise<void> {
    const deadline = realDeadline(60_000);
    for (let delay = 25; ; delay = Math.min(delay * 2, this.pollMs)) {
      await new Promise((r) => setTimeout(r, Math.min(delay, this.pollMs)));
      const page = await this.call('DescribeAccessPoints', () =>
        this.efs.send(new DescribeAccessPointsCommand({ AccessPointId: id })),
      );
      const state = page.AccessPoints?.[0]?.LifeCycleState;
      if (state === 'available') return;
      if (state === 'error' || deadline.passed()) {
        throw new DriverError({
          reason: 'unavailable',
          userMessage: `EFS did not make the workspace's access point ${id} available (its state: ${state ?? 'gone'}).`,
        });
      }
    }
  }

  private roleOf(ap: AccessPointDescription, workspaceId: string): VolumeRole | undefined {
    const tag = (key: string) => ap.Tags?.find((t) => t.Key === key)?.Value;
    if (tag(TAG.installation) !== this.installation || tag(TAG.workspace) !== workspaceId) return undefined;
    const role = tag(TAG.volume);
    return role === 'workspace' || role === 'home' ? role : undefined;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw apiError(err, `EFS ${what}`);
    }
  }
}
