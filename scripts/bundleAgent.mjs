#!/usr/bin/env node
// Bundles the workspace agent into one self-contained directory:
//
//   dist/agent/agent.js                      agent/main.ts and everything it imports (ws, zod, sdk/)
//   dist/agent/package.json                  {"type":"commonjs"}, so agent.js is CommonJS anywhere
//   dist/agent/node_modules/node-pty/        node-pty's JavaScript and its compiled addon
//
// Drivers bind that directory read-only at /opt/remote-claude/agent in the sandbox, where only
// /usr comes from the host, so nothing may be loaded from the repository's node_modules.
//
//   node scripts/bundleAgent.mjs [outDir]
import { copyFile, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds the agent into `outDir` (default dist/agent). Returns the entry file and its size.
 * @param {{ outDir?: string, minify?: boolean }} [options]
 * @returns {Promise<{ entry: string, bytes: number }>}
 */
export async function bundleAgent({ outDir = path.join(repo, 'dist', 'agent'), minify = true } = {}) {
  const entry = path.join(outDir, 'agent.js');
  await build({
    entryPoints: [path.join(repo, 'agent', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS: Node 20 runs a .js file as ESM only under a "type":"module" package.json, and
    // CommonJS needs no top-level-await or import.meta support from the sources anyway.
    format: 'cjs',
    outfile: entry,
    // node-pty loads a native addon relative to its own files; ws's optional native helpers are
    // not installed (ws falls back to JavaScript when they are missing).
    external: ['node-pty', 'bufferutil', 'utf-8-validate'],
    plugins: [withoutZodLocales],
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await writeFile(path.join(outDir, 'package.json'), '{ "type": "commonjs", "private": true }\n');
  await copyNodePty(path.join(outDir, 'node_modules', 'node-pty'));
  return { entry, bytes: (await stat(entry)).size };
}

/**
 * `import { z } from 'zod'` is a namespace object, so esbuild keeps all of it, including
 * `z.locales`: every language's error messages, half the bundle and ~10 ms of start-up. The
 * agent never uses them (zod's default English messages are imported separately), so the
 * namespace is replaced with an empty module. If zod moves the file, the filter stops matching
 * and the bundle is merely larger.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`)
        ? { path: 'zod-locales', namespace: 'empty' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * node-pty's runtime: package.json, lib/ (without tests and source maps) and the addon. Its only
 * dependency, node-addon-api, is C++ headers used at compile time.
 */
async function copyNodePty(dest) {
  const src = path.join(repo, 'node_modules', 'node-pty');
  const pkg = JSON.parse(await readFile(path.join(src, 'package.json'), 'utf8'));
  const runtimeDeps = Object.keys(pkg.dependencies ?? {}).filter((name) => name !== 'node-addon-api');
  if (runtimeDeps.length > 0)
    throw new Error(`node-pty now depends on ${runtimeDeps.join(', ')}; copy them too`);
  await rm(dest, { recursive: true, force: true });
  await mkdir(path.join(dest, 'build', 'Release'), { recursive: true });
  await copyFile(path.join(src, 'package.json'), path.join(dest, 'package.json'));
  await copyFile(path.join(src, 'LICENSE'), path.join(dest, 'LICENSE'));
  await cp(path.join(src, 'lib'), path.join(dest, 'lib'), {
    recursive: true,
    filter: (file) => !file.endsWith('.map') && !file.endsWith('.test.js'),
  });
  await copyFile(
    path.join(src, 'build', 'Release', 'pty.node'),
    path.join(dest, 'build', 'Release', 'pty.node'),
  );
  // macOS builds also need the spawn helper next to the addon; Linux builds have none.
  const helper = path.join(src, 'build', 'Release', 'spawn-helper');
  if (await stat(helper).catch(() => undefined)) {
    await copyFile(helper, path.join(dest, 'build', 'Release', 'spawn-helper'));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
  const { entry, bytes } = await bundleAgent({ outDir });
  console.log(`${path.relative(process.cwd(), entry)}: ${(bytes / 1024).toFixed(0)} KiB`);
}
