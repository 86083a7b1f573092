import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_DEBIAN_MIRROR } from '../../server/images/debianRootfs.js';
import { CliError } from '../cliError.js';
import type { CliContext } from '../context.js';
import { flagError } from '../flagError.js';

/** A Docker image reference: [registry[:port]/]name[/name…][:tag], lower-case names. */
const IMAGE_REF =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;
const ABSOLUTE = /^\//;
const DEFAULT_CACHE_DIR = '/var/cache/remote-claude';

const ImageBuildFlags = z.strictObject({
  config: z.string().min(1).optional(),
  tag: z
    .string()
    .regex(IMAGE_REF, { error: 'must be an image name like "remote-claude/workspace:latest"' })
    .optional(),
  socket: z
    .string()
    .regex(ABSOLUTE, { error: "must be the absolute path of the Docker daemon's unix socket" }),
  mirror: z.url({
    protocol: /^(https?|file)$/,
    error: 'must be the http(s):// or file:// URL of a Debian mirror',
  }),
  cacheDir: z.string().regex(ABSOLUTE, { error: 'must be an absolute directory path' }),
  force: z.boolean().optional(),
});
type ImageBuildFlags = z.infer<typeof ImageBuildFlags>;

const FLAG_NAMES = { cacheDir: '--cache-dir', socket: '--socket', mirror: '--mirror', tag: '--tag' };

export function registerImages(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('the workspace image of the docker driver');
  image
    .command('build')
    .description(
      'build the workspace image with no registry: Debian packages (debootstrap), the pinned claude binary and the agent bundle; tagged with runtime.docker.image',
    )
    .option('-c, --config <file>', 'YAML config file whose runtime.docker.image names the image (RC_CONFIG)')
    .option('--tag <image>', 'tag to give the image instead of runtime.docker.image')
    .option('--socket <path>', "the Docker daemon's unix socket", '/var/run/docker.sock')
    .option(
      '--mirror <url>',
      'Debian mirror for debootstrap (a local one on an air-gapped site)',
      DEFAULT_DEBIAN_MIRROR,
    )
    .option(
      '--cache-dir <dir>',
      'where the Debian root filesystem and build contexts are kept',
      DEFAULT_CACHE_DIR,
    )
    .option('--force', 'rebuild even when the image is up to date')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = ImageBuildFlags.safeParse(raw);
      if (!parsed.success) throw flagError(parsed.error, FLAG_NAMES);
      await buildImage(ctx, parsed.data);
    });
}

async function buildImage(ctx: CliContext, f: ImageBuildFlags): Promise<void> {
  // Loaded here: only this command needs the config, dockerode and the builder.
  const tag = f.tag ?? (await configuredImage(ctx, f.config));
  const [{ default: Docker }, { buildWorkspaceImage, defaultImageInputs }, { defaultClaudePath }] =
    await Promise.all([
      import('dockerode'),
      import('../../server/images/workspaceImage.js'),
      import('../../server/drivers/local/claudePath.js'),
    ]);
  const claude = defaultClaudePath();
  if (!claude) throw new CliError('the claude binary is missing from node_modules; run `npm ci` first');
  const docker = new Docker({ socketPath: f.socket });
  await docker.ping().catch((err: Error) => {
    throw new CliError(`no Docker daemon answers on ${f.socket} (${err.message}); start it or pass --socket`);
  });
  const started = Date.now();
  const result = await buildWorkspaceImage({
    docker,
    tag,
    inputs: defaultImageInputs(claude),
    cacheDir: f.cacheDir,
    mirror: f.mirror,
    force: f.force ?? false,
    progress: (p) => ctx.err(`[${p.step}/${p.of}] ${p.text}`),
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  ctx.out(
    result.upToDate
      ? `${result.tag} is up to date (${result.id.slice(7, 19)}); nothing to build.`
      : `Built ${result.tag} (${result.id.slice(7, 19)}) in ${seconds} s. Workspaces with RC_RUNTIME=docker use it.`,
  );
}

/** runtime.docker.image of the effective config (file, RC_* environment, defaults). */
async function configuredImage(ctx: CliContext, file: string | undefined): Promise<string> {
  const { loadConfig } = await import('../../server/config/loadConfig.js');
  const image = loadConfig({ file, env: ctx.env }).runtime.docker.image;
  if (!IMAGE_REF.test(image)) {
    throw new CliError(
      `runtime.docker.image "${image}" is not an image name Docker accepts; fix it or pass --tag`,
    );
  }
  return image;
}
