// The pure manifests: settings that only some installations use (a RuntimeClass, another uid, a
// storage class) and names for ids outside Kubernetes' alphabet.
import { describe, expect, it } from 'vitest';
import type { WorkspaceSpec } from '../runtimeDriver.js';
import {
  objectName,
  type PodSettings,
  podManifest,
  pvcManifest,
  secretManifest,
  workspaceLabel,
} from './podSpec.js';

const settings: PodSettings = {
  installation: 'prod',
  namespace: 'ws',
  image: 'registry.example.com/rc/workspace:1',
  imagePullPolicy: 'Always',
  uid: 4242,
  volumeSize: '20Gi',
  tmpSize: '1Gi',
  runtimeClassName: 'gvisor',
  controlPlane: [],
};
const spec: WorkspaceSpec = {
  workspaceId: '3f2a0000-aaaa-bbbb-cccc-000000000001',
  resources: { cpu: 2, memoryBytes: 4 * 2 ** 30, pids: 512 },
  env: {
    RC_AGENT_URL: 'ws://10.0.0.5:8080/api/v1/agent',
    RC_AGENT_TOKEN: 't'.repeat(43),
    HOME: '/elsewhere',
  },
};

describe('podSpec', () => {
  it('puts the RuntimeClass, the uid, the image policy and the limits on the pod', () => {
    const secret = secretManifest(settings, spec);
    const pod = podManifest(settings, { ...secret, data: secret.stringData }, { resources: spec.resources });
    expect(pod.spec?.runtimeClassName).toBe('gvisor');
    expect(pod.spec?.securityContext).toMatchObject({ runAsUser: 4242, runAsGroup: 4242, fsGroup: 4242 });
    const c = pod.spec?.containers[0];
    expect(c).toMatchObject({
      image: settings.image,
      imagePullPolicy: 'Always',
      securityContext: { runAsUser: 4242 },
    });
    expect(c?.resources?.limits).toEqual({ cpu: '2000m', memory: String(4 * 2 ** 30) });
    expect(pod.spec?.restartPolicy).toBe('Always');
    expect(pod.spec?.volumes?.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit).toBe('1Gi');
    // The platform's HOME wins over the spec's, as on every driver (boxEnv).
    expect(c?.env?.filter((e) => e.name === 'HOME')).toEqual([{ name: 'HOME', value: '/home/user' }]);
  });

  it('leaves runtimeClassName and storageClassName out when unset', () => {
    const plain = { ...settings, runtimeClassName: undefined, storageClass: undefined };
    const secret = secretManifest(plain, spec);
    expect(
      podManifest(plain, { ...secret, data: secret.stringData }, { resources: spec.resources }).spec,
    ).not.toHaveProperty('runtimeClassName');
    expect(pvcManifest(plain, spec.workspaceId).spec).not.toHaveProperty('storageClassName');
    expect(pvcManifest({ ...plain, storageClass: 'fast' }, spec.workspaceId).spec?.storageClassName).toBe(
      'fast',
    );
  });

  it('names objects within Kubernetes’ rules, whatever the id', () => {
    expect(objectName('prod', spec.workspaceId)).toBe(`rc-prod-${spec.workspaceId}`);
    for (const id of ['Upper_Case', 'x'.repeat(64), 'ends-']) {
      const name = objectName('prod', id);
      expect(name, id).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
      expect(workspaceLabel(id), id).toMatch(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/);
    }
    expect(objectName('prod', 'Upper_Case')).not.toBe(objectName('prod', 'upper-case'));
  });
});
