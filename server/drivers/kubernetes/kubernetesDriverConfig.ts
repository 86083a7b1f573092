import type { V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { Config } from '../../config/configSchema.js';
import { agentEndpointUrl } from '../../workspaces/agentEndpoint.js';
import type { KubernetesDriverConfig } from './kubernetesDriver.js';

/** The kubernetes driver's part of the process config (`runtime.kubernetes`). */
export function kubernetesDriverConfig(config: Config): KubernetesDriverConfig {
  const k = config.runtime.kubernetes;
  const controlPlane: V1NetworkPolicyPeer[] = k.controlPlane.map((p) =>
    'cidr' in p
      ? { ipBlock: { cidr: p.cidr } }
      : {
          ...(p.podSelector ? { podSelector: { matchLabels: p.podSelector } } : {}),
          ...(p.namespaceSelector ? { namespaceSelector: { matchLabels: p.namespaceSelector } } : {}),
        },
  );
  return {
    kubeconfig: k.kubeconfig,
    context: k.context,
    namespace: k.namespace,
    installation: k.installation,
    image: k.image,
    imagePullPolicy: k.imagePullPolicy,
    uid: k.uid,
    storageClass: k.storageClass,
    volumeSize: k.volumeSize,
    tmpSize: k.tmpSize,
    runtimeClassName: k.runtimeClassName,
    controlPlane,
    watchTimeoutSeconds: k.watchTimeout,
    podStartTimeoutMs: k.podStartTimeout * 1000,
    callTimeoutMs: k.callTimeout * 1000,
    // Known at startup only when configured; otherwise from the address the server listens on.
    agentUrl:
      config.server.agentUrl ??
      (config.server.publicUrl ? agentEndpointUrl(undefined, config.server.publicUrl) : undefined),
  };
}
