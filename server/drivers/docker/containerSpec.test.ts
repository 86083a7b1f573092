import { describe, expect, it } from 'vitest';
import { DriverError } from '../runtimeDriver.js';
import { containerOptions, LABEL } from './containerSpec.js';
import { demuxLogs, runtimeState } from './containerState.js';
import { dockerCall, dockerError } from './dockerCall.js';

const spec = {
  workspaceId: 'ws-1',
  resources: { cpu: 1.5, memoryBytes: 256 * 2 ** 20, pids: 100 },
  env: { RC_AGENT_TOKEN: 'secret' },
  agentSocketDir: '/data/run/ws-1',
};
const settings = { installation: 'inst', image: 'img:1', tmpfsSize: '64m', init: true };
const ctx = { node: 'n1', endpoint: 'unix:///var/run/docker.sock', image: 'img:1' };

describe('containerOptions', () => {
  it('names, labels and hardens the container', () => {
    const o = containerOptions(spec, settings, 8);
    expect(o.name).toBe('rc-inst-ws-1');
    expect(o.Labels).toMatchObject({
      [LABEL.installation]: 'inst',
      [LABEL.workspace]: 'ws-1',
      [LABEL.role]: 'agent',
    });
    expect(o.User).toBe('1000:1000');
    expect(o.Cmd).toBeUndefined();
    expect(o.Env).toEqual(
      expect.arrayContaining([
        'RC_AGENT_TOKEN=secret',
        'HOME=/home/user',
        'HTTPS_PROXY=http://127.0.0.1:3128',
      ]),
    );
    expect(o.HostConfig).toMatchObject({
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      Memory: spec.resources.memoryBytes,
      MemorySwap: spec.resources.memoryBytes,
      NanoCpus: 1.5e9,
      PidsLimit: 100,
      RestartPolicy: { Name: 'unless-stopped' },
      Mounts: [
        { Type: 'volume', Source: 'rc-inst-ws-1-workspace', Target: '/workspace' },
        { Type: 'volume', Source: 'rc-inst-ws-1-home', Target: '/home/user' },
        { Type: 'bind', Source: '/data/run/ws-1', Target: '/run/remote-claude' },
      ],
    });
    expect(o.HostConfig).not.toHaveProperty('Runtime');
  });

  it('runs a spec.command once, caps CPUs at the host count, and passes runtime and userns mode', () => {
    const o = containerOptions(
      { ...spec, command: ['true'] },
      { ...settings, runtime: 'runsc', usernsMode: 'host' },
      1,
    );
    expect(o.Cmd).toEqual(['true']);
    expect(o.HostConfig).toMatchObject({
      NanoCpus: 1e9,
      RestartPolicy: { Name: 'no' },
      Runtime: 'runsc',
      UsernsMode: 'host',
    });
  });

  it('hashes the options, so only a changed spec replaces a container', () => {
    const hash = (s: typeof spec) => containerOptions(s, settings, 8).Labels?.[LABEL.spec];
    expect(hash(spec)).toBe(hash({ ...spec }));
    expect(hash(spec)).not.toBe(hash({ ...spec, env: { RC_AGENT_TOKEN: 'other' } }));
  });
});

describe('Docker failures', () => {
  it('words them for a user', () => {
    const http = (statusCode: number, message: string) => ({ statusCode, json: { message } });
    expect(dockerError(http(404, 'No such image: img:1'), ctx)).toMatchObject({
      reason: 'unavailable',
      userMessage:
        'The workspace image img:1 is not on host n1; build it there with `rclaude image build` or pull it.',
    });
    expect(dockerError({ code: 'ECONNREFUSED' }, ctx).userMessage).toBe(
      'The Docker daemon on node n1 does not answer at unix:///var/run/docker.sock (ECONNREFUSED).',
    );
    expect(dockerError(http(500, 'write /var/lib/docker/x: no space left on device'), ctx).reason).toBe(
      'insufficient_resources',
    );
    expect(dockerError(http(400, 'Minimum memory limit allowed is 6MB'), ctx).reason).toBe('invalid_spec');
  });

  it('gives up on a call that does not answer by its deadline', async () => {
    const started = Date.now();
    const err = await dockerCall(ctx, 50, () => new Promise(() => {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).userMessage).toMatch(/does not answer .*no answer within 50 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reads container states and logs', () => {
    const state = (s: object) =>
      runtimeState({
        State: {
          Running: false,
          Restarting: false,
          OOMKilled: false,
          Error: '',
          ExitCode: 0,
          Status: 'exited',
          ...s,
        },
      } as never);
    expect(state({ ExitCode: 137, OOMKilled: true })).toEqual({
      status: 'stopped',
      exitCode: 137,
      reason: 'killed: out of memory',
    });
    expect(state({ ExitCode: 137 })).toMatchObject({ reason: 'killed by signal SIGKILL' });
    expect(state({ Status: 'created' })).toEqual({ status: 'stopped' });
    expect(state({ Restarting: true })).toEqual({ status: 'running' });
    const workspace = runtimeState({
      Config: { Labels: { [LABEL.role]: 'agent' } },
      State: {
        Running: false,
        Restarting: false,
        OOMKilled: false,
        Error: '',
        ExitCode: 0,
        Status: 'exited',
      },
    } as never);
    expect(workspace.reason).toBe(
      'exit code 0: stopped outside the platform (docker stop or kill, or a restart of the Docker daemon)',
    );
    const frame = (text: string) =>
      Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, text.length]), Buffer.from(text)]);
    expect(demuxLogs(Buffer.concat([frame('a\n'), frame('b\n')]))).toBe('a\nb\n');
    expect(demuxLogs(Buffer.from('plain text log'))).toBe('plain text log');
  });
});
