// The fake EFS half of the fake AWS endpoint (fakeEcs.ts): one file system, its access points
// (REST-JSON under /2015-02-01/), and where their files live on the host — a directory per file
// system whose subdirectories are the access points' root directories, so deleting an access
// point keeps its files, as EFS does. Test support only.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FakeAccessPoint } from './fakeEcsTasks.js';

export const ACCOUNT = '123456789012';
export type Json = Record<string, unknown>;

/** An AWS error answer: its code (x-amzn-errortype, __type / ErrorCode) and HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class FakeEfs {
  private readonly accessPoints = new Map<string, FakeAccessPoint & Json>();

  constructor(
    private readonly region: string,
    readonly fileSystemId: string,
    /** Host directory holding every file system's files. */
    readonly root: string,
  ) {}

  accessPoint(id: string): (FakeAccessPoint & Json) | undefined {
    return this.accessPoints.get(id);
  }

  /** The host directory holding an access point's files. */
  dir(id: string): string | undefined {
    const ap = this.accessPoints.get(id);
    return ap ? join(this.root, ap.FileSystemId, ap.RootDirectory?.Path ?? '/') : undefined;
  }

  list(): (FakeAccessPoint & Json)[] {
    return [...this.accessPoints.values()];
  }

  async handle(method: string, url: URL, raw: string): Promise<Json | undefined> {
    const path = url.pathname;
    const q = url.searchParams;
    if (method === 'GET' && path === '/2015-02-01/file-systems') {
      const id = q.get('FileSystemId');
      if (id && id !== this.fileSystemId)
        throw new AwsError('FileSystemNotFound', 'File system does not exist.', 404);
      return {
        FileSystems: [{ FileSystemId: this.fileSystemId, LifeCycleState: 'available', Encrypted: true }],
      };
    }
    if (method === 'POST' && path === '/2015-02-01/access-points') {
      const b = JSON.parse(raw) as Json & FakeAccessPoint & { ClientToken?: string; Tags?: Json[] };
      if (b.FileSystemId !== this.fileSystemId)
        throw new AwsError('FileSystemNotFound', 'File system does not exist.', 404);
      const same = [...this.accessPoints.values()].find((a) => a.ClientToken === b.ClientToken);
      if (same) return same;
      const id = `fsap-${randomBytes(8).toString('hex')}`;
      const ap = {
        ...b,
        AccessPointId: id,
        AccessPointArn: `arn:aws:elasticfilesystem:${this.region}:${ACCOUNT}:access-point/${id}`,
        LifeCycleState: 'creating',
        OwnerId: ACCOUNT,
        Tags: b.Tags ?? [],
      };
      this.accessPoints.set(id, ap);
      // EFS makes access points available a moment later: the driver must wait for it.
      setTimeout(() => {
        if (this.accessPoints.get(id) === ap) ap.LifeCycleState = 'available';
      }, 30);
      return ap;
    }
    if (method === 'GET' && path === '/2015-02-01/access-points') {
      const id = q.get('AccessPointId');
      if (id) {
        const ap = this.accessPoints.get(id);
        if (!ap) throw new AwsError('AccessPointNotFound', `Access point ${id} does not exist.`, 404);
        return { AccessPoints: [ap] };
      }
      const all = [...this.accessPoints.values()].filter((a) => a.FileSystemId === q.get('FileSystemId'));
      const max = Number(q.get('MaxResults') ?? 100);
      const from = Number(q.get('NextToken') ?? 0);
      const page = all.slice(from, from + max);
      return { AccessPoints: page, ...(from + max < all.length ? { NextToken: String(from + max) } : {}) };
    }
    const del = /^\/2015-02-01\/access-points\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && del) {
      const id = decodeURIComponent(del[1] as string);
      if (!this.accessPoints.delete(id))
        throw new AwsError('AccessPointNotFound', `Access point ${id} does not exist.`, 404);
      return undefined;
    }
    throw new AwsError('BadRequest', `fake EFS does not implement ${method} ${path}`);
  }
}
