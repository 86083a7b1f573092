import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/loadConfig.js';
import { kubernetesDriverConfig } from './kubernetesDriverConfig.js';

describe('kubernetesDriverConfig', () => {
  it('defaults to the in-cluster service account in namespace remote-claude', () => {
    expect(kubernetesDriverConfig(loadConfig({ env: { RC_RUNTIME: 'kubernetes' } }))).toEqual({
      kubeconfig: undefined,
      context: undefined,
      namespace: 'remote-claude',
      installation: 'default',
      image: 'remote-claude/workspace:latest',
      imagePullPolicy: 'IfNotPresent',
      uid: 1000,
      storageClass: undefined,
      volumeSize: '10Gi',
      tmpSize: '512Mi',
      runtimeClassName: undefined,
      controlPlane: [],
      watchTimeoutSeconds: 300,
      podStartTimeoutMs: 300_000,
      callTimeoutMs: 30_000,
      agentUrl: undefined,
    });
  });

  it('passes the agent URL when the config says it, for preflight to check', () => {
    const at = (server: Record<string, unknown>) =>
      kubernetesDriverConfig(loadConfig({ flags: { server } })).agentUrl;
    expect(at({ publicUrl: 'https://rc.example.com' })).toBe('wss://rc.example.com/api/v1/agent');
    expect(at({ publicUrl: 'https://rc.example.com', agentUrl: 'ws://10.0.0.5:8080/api/v1/agent' })).toBe(
      'ws://10.0.0.5:8080/api/v1/agent',
    );
  });

  it('maps the file and environment keys, control-plane peers as NetworkPolicy peers', () => {
    const config = loadConfig({
      flags: {
        'runtime.kubernetes': {
          kubeconfig: '/etc/rc/kubeconfig',
          context: 'prod',
          namespace: 'ws',
          storageClass: 'fast',
          watchTimeout: '2m',
          controlPlane: [
            { cidr: '10.0.0.5/32' },
            { podSelector: { app: 'rc' }, namespaceSelector: { team: 'x' } },
          ],
        },
      },
    });
    expect(kubernetesDriverConfig(config)).toMatchObject({
      kubeconfig: '/etc/rc/kubeconfig',
      context: 'prod',
      namespace: 'ws',
      storageClass: 'fast',
      watchTimeoutSeconds: 120,
      controlPlane: [
        { ipBlock: { cidr: '10.0.0.5/32' } },
        { podSelector: { matchLabels: { app: 'rc' } }, namespaceSelector: { matchLabels: { team: 'x' } } },
      ],
    });
  });

  it('takes RC_RUNTIME__KUBERNETES__* from the environment', () => {
    const config = loadConfig({ env: { RC_RUNTIME__KUBERNETES__RUNTIME_CLASS_NAME: 'gvisor' } });
    expect(kubernetesDriverConfig(config).runtimeClassName).toBe('gvisor');
  });

  it('refuses keys that could not take effect, naming them', () => {
    const bad = (kubernetes: Record<string, unknown>) => () =>
      loadConfig({ flags: { 'runtime.kubernetes': kubernetes } });
    expect(bad({ context: 'prod' })).toThrow(/runtime\.kubernetes\.context: context needs kubeconfig/);
    expect(bad({ namespace: 'Bad_NS' })).toThrow(/runtime\.kubernetes\.namespace: must be a Kubernetes name/);
    expect(bad({ controlPlane: [{}] })).toThrow(/runtime\.kubernetes\.controlPlane/);
    expect(bad({ volumeSize: '10GB' })).toThrow(
      /runtime\.kubernetes\.volumeSize: must be a Kubernetes quantity/,
    );
    expect(bad({ uid: 0 })).toThrow(/runtime\.kubernetes\.uid/);
  });
});
