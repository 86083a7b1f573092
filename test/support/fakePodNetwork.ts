// The fake kubelet's pod network: a bridge this test creates on the host with one address (where
// the control plane listens), and per pod a veth pair whose one end is moved into the pod
// container's network namespace (the container itself has NetworkMode none). Bridge ports are
// isolated, so pods reach the host end only, never each other. The addresses (10.213.80.0/24) are
// the test's own and removed with the bridge; nothing else on the machine owns them. Needs root
// and iproute2. Unlike a cluster's CNI plugin it does not enforce NetworkPolicies: the driver's
// policy is asserted on the object instead (kubernetesDriver.fake.test.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FakePodNetwork {
  /** The bridge's (host's) address: what the control plane listens on and pods dial. */
  hostAddress: string;
  /** Moves a new veth end into the netns of process `pid` and returns the pod's address. */
  attach(pid: number, podKey: string): Promise<string>;
  /** Removes the bridge (veths in namespaces die with their containers). Idempotent. */
  remove(): Promise<void>;
}

const ip = (...args: string[]) => run('ip', args, { timeout: 10_000 });

/** `name` is short (the veths are `<name>-<n>`); `subnet` the first three octets, e.g. "10.213.80". */
export async function createFakePodNetwork(name: string, subnet = '10.213.80'): Promise<FakePodNetwork> {
  if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`Bad pod network name ${JSON.stringify(name)}.`);
  const bridge = `${name}br`;
  const hostAddress = `${subnet}.1`;
  const remove = async () => {
    await ip('link', 'del', bridge).catch(() => {});
  };
  await remove();
  await ip('link', 'add', bridge, 'type', 'bridge');
  await ip('addr', 'add', `${hostAddress}/24`, 'dev', bridge);
  await ip('link', 'set', bridge, 'up');
  let next = 2;
  return {
    hostAddress,
    async attach(pid: number) {
      const n = next++;
      if (n > 254) throw new Error('The fake pod network is out of addresses.');
      const host = `${name}h${n}`;
      const pod = `${name}p${n}`;
      const address = `${subnet}.${n}`;
      await ip('link', 'del', host).catch(() => {});
      await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', pod);
      await ip('link', 'set', host, 'master', bridge);
      await run('bridge', ['link', 'set', 'dev', host, 'isolated', 'on'], { timeout: 10_000 });
      await ip('link', 'set', host, 'up');
      await ip('link', 'set', pod, 'netns', String(pid));
      const inPod = (...args: string[]) =>
        run('nsenter', ['-t', String(pid), '-n', 'ip', ...args], { timeout: 10_000 });
      await inPod('addr', 'add', `${address}/24`, 'dev', pod);
      await inPod('link', 'set', pod, 'up');
      return address;
    },
    remove,
  };
}
