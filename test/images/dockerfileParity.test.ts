// The two ways to the workspace image give the same layout: `rclaude image build` (no registry;
// server/images/workspaceImage.ts) and `docker build -f deploy/images/workspace/Dockerfile` as a
// site with a registry runs it. Offline, the Dockerfile's BASE is the Debian root filesystem
// imported from debootstrap and its NODE_IMAGE a stand-in for node:22-bookworm-slim (that Debian
// with node at /usr/local/bin, a user `node` of uid 1000 and node's ENV, as the real one has), so
// nothing is pulled. The test compares what each image contains, as seen from inside it.
import { copyFile, link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesUnder } from '../../server/images/fileDigest.js';
import { DEBIAN_BASE } from '../../server/images/workspaceImage.js';
import { dockerCli, ensureDockerAnswers } from '../support/dockerCli.js';
import { ensureWorkspaceImage, TEST_CACHE_DIR, testImageInputs } from '../support/workspaceImage.js';

const docker = dockerCli();
let ours = '';
let fromDockerfile = '';

/** Builds `dockerfile` (text) over `files` (context path → host path) as `tag`, unless it exists. */
async function buildOnce(
  tag: string,
  dockerfile: string,
  files: Record<string, string>,
  args: string[] = [],
) {
  if (await docker.hasImage(tag)) return;
  const context = await mkdtemp(join(TEST_CACHE_DIR, 'parity-'));
  try {
    for (const [path, src] of Object.entries(files)) {
      // Hard links: the claude binary is 380 MB.
      await mkdir(dirname(join(context, path)), { recursive: true });
      await link(src, join(context, path)).catch(() => copyFile(src, join(context, path)));
    }
    await writeFile(join(context, 'Dockerfile.test'), dockerfile);
    await docker.run(
      [
        'build',
        '--network',
        'none',
        '--force-rm',
        '-f',
        join(context, 'Dockerfile.test'),
        ...args,
        '-t',
        tag,
        context,
      ],
      { timeoutMs: 900_000 },
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  await ensureDockerAnswers(docker);
  ours = await ensureWorkspaceImage();
  const hash = ours.split(':')[1];
  const inputs = testImageInputs();
  const nodeStandIn = `remote-claude-node-standin-test:${hash}`;
  await buildOnce(
    nodeStandIn,
    `FROM ${DEBIAN_BASE}
COPY node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${process.versions.node} YARN_VERSION=1.22.22
CMD ["node"]
`,
    { node: inputs.nodePath },
  );
  fromDockerfile = `remote-claude-dockerfile-test:${hash}`;
  const agentFiles = await filesUnder(inputs.agentDir);
  await buildOnce(
    fromDockerfile,
    await readFile(inputs.dockerfile, 'utf8'),
    {
      'node_modules/@anthropic-ai/claude-code/bin/claude.exe': inputs.claudePath,
      ...Object.fromEntries(agentFiles.map((f) => [`dist/agent/${relative(inputs.agentDir, f)}`, f])),
    },
    ['--build-arg', `BASE=${DEBIAN_BASE}`, '--build-arg', `NODE_IMAGE=${nodeStandIn}`],
  );
}, 20 * 60_000);

/** What a workspace relies on inside the image, as one text to compare. */
const PROBE = `
id; getent passwd user 1000; getent group user 1000; getent passwd node || echo 'no user node'
for p in /workspace /home/user /opt/remote-claude /opt/remote-claude/bin /opt/remote-claude/bin/claude \\
         /opt/remote-claude/bin/node /usr/local/bin/node /opt/remote-claude/agent; do
  stat -c '%n %a %U:%G %F' "$p"
done
readlink /opt/remote-claude/bin/node
find /opt/remote-claude/agent -printf '%P %m %u:%g %y\\n' | sort
dpkg-query -W -f='\${Package} \${db:Status-Status}\\n' git ca-certificates bash procps curl tar gzip
node --version; /opt/remote-claude/bin/claude --version; git --version
`;

async function probe(image: string): Promise<string> {
  return docker.run(['run', '--rm', '--network', 'none', image, 'sh', '-c', PROBE], { timeoutMs: 120_000 });
}

async function config(image: string): Promise<Record<string, unknown>> {
  const c = JSON.parse(await docker.run(['image', 'inspect', '--format', '{{json .Config}}', image]));
  return { User: c.User, WorkingDir: c.WorkingDir, Env: c.Env, Cmd: c.Cmd, Entrypoint: c.Entrypoint ?? null };
}

describe('the Dockerfile and rclaude image build give the same image layout', () => {
  it('same user, working directory, environment, entrypoint and command', async () => {
    const a = await config(ours);
    expect(a).toEqual({
      User: '1000:1000',
      WorkingDir: '/workspace',
      Env: ['PATH=/opt/remote-claude/bin:/usr/local/bin:/usr/bin:/bin', 'HOME=/home/user', 'LANG=C.UTF-8'],
      Cmd: ['node', '/opt/remote-claude/agent/agent.js'],
      Entrypoint: null,
    });
    // The node image's user `node` and its ENV do not leak into the Dockerfile's image.
    expect(await config(fromDockerfile)).toEqual(a);
  });

  it('same users, uids, /opt/remote-claude layout, file modes and packages inside', async () => {
    const a = await probe(ours);
    expect(a).toContain('uid=1000(user) gid=1000(user) groups=1000(user)');
    expect(a).toContain('user:x:1000:1000::/home/user:/bin/bash');
    expect(a).toContain('/opt/remote-claude/bin/claude 755 root:root regular file');
    expect(a).toContain('/workspace 755 user:user directory');
    expect(a).toMatch(/^agent\.js 644 root:root f$/m);
    expect(a).toContain('no user node');
    expect(a).toMatch(/2\.1\.330/);
    expect(await probe(fromDockerfile)).toBe(a);
  }, 120_000);
});
