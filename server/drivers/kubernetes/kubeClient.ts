// How the driver reaches the Kubernetes API: a kubeconfig file, or the pod's own service account
// when the control plane runs in the cluster; and the sentences for what can go wrong.
import { CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { DriverError } from '../runtimeDriver.js';
import { statusOf } from './reflector.js';

/** Where Kubernetes mounts a pod's service account (its token is rotated in place). */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeAccess {
  /** A kubeconfig file; unset: the in-cluster service account. */
  kubeconfig?: string | undefined;
  /** The kubeconfig's context to use; unset: its current-context. */
  context?: string | undefined;
}

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  networking: NetworkingV1Api;
}

/**
 * Loads the cluster access. In the cluster it is the API service's DNS name with the mounted CA
 * and token, as client-node's loadFromCluster has them but without its reading of
 * KUBERNETES_SERVICE_HOST from the environment (drivers take typed config only).
 * @throws Error naming the file or context when the kubeconfig cannot be used.
 */
export function kubeClients(access: KubeAccess): KubeClients {
  const config = new KubeConfig();
  if (access.kubeconfig) {
    try {
      config.loadFromFile(access.kubeconfig);
    } catch (err) {
      throw new Error(
        `runtime.kubernetes.kubeconfig ${access.kubeconfig} cannot be read: ${(err as Error).message}`,
      );
    }
    if (access.context) {
      if (!config.getContextObject(access.context)) {
        throw new Error(`runtime.kubernetes.context ${access.context} is not in ${access.kubeconfig}.`);
      }
      config.setCurrentContext(access.context);
    }
  } else {
    config.loadFromClusterAndUser(
      {
        name: 'in-cluster',
        server: 'https://kubernetes.default.svc',
        caFile: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
        skipTLSVerify: false,
      },
      {
        name: 'service-account',
        authProvider: { name: 'tokenFile', config: { tokenFile: `${SERVICE_ACCOUNT_DIR}/token` } },
      },
    );
  }
  return { config, core: config.makeApiClient(CoreV1Api), networking: config.makeApiClient(NetworkingV1Api) };
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return statusOf(err) === 409;
}

/** The API's own message from a Status body, if it sent one. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {}
    return body.slice(0, 300);
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}

/**
 * A failed API call as the driver reports it: refused input is `invalid_spec`, a quota or
 * forbidden `insufficient_resources` / `unavailable`, anything else (no answer, 5xx) `unavailable`.
 */
export function apiFailure(what: string, err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const status = statusOf(err);
  const message = apiMessage(err);
  if (status === 422 || status === 400) {
    return new DriverError({
      reason: 'invalid_spec',
      userMessage: `Kubernetes refused the workspace's ${what}: ${message}`,
      cause: err,
    });
  }
  if (status === 403 && /exceeded quota/i.test(message)) {
    return new DriverError({
      reason: 'insufficient_resources',
      userMessage: `Kubernetes refused the workspace's ${what}: ${message}`,
      cause: err,
    });
  }
  if (status === 401 || status === 403) {
    return new DriverError({
      reason: 'unavailable',
      userMessage: `The control plane may not manage the workspace's ${what} on Kubernetes (${message}); apply deploy/kubernetes/rbac.yaml to its service account.`,
      cause: err,
    });
  }
  return new DriverError({
    reason: 'unavailable',
    userMessage: `The Kubernetes API did not handle the workspace's ${what}: ${message}`,
    cause: err,
  });
}

/**
 * One API call with a deadline (client-node's calls have none of their own); failures become
 * DriverErrors saying which object it was about.
 */
export async function withDeadline<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } catch (err) {
    throw apiFailure(what, err);
  } finally {
    clearTimeout(timer);
  }
}
