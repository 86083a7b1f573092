#!/usr/bin/env node
// The npm registry this project is built against serves only the platform packages for the
// machine at hand (other OS/CPU builds of esbuild, rollup, biome… answer 404), so `npm install`
// writes a lockfile without them — and `npm ci` then refuses it as out of sync. This adds an
// entry (version, os, cpu, libc; nothing to download) for each missing optional dependency; npm
// skips entries for other platforms without fetching them.
//
//   node scripts/completeLockfile.mjs          add the missing entries (after `npm install`)
//   node scripts/completeLockfile.mjs --check  exit 1 when entries are missing (run by npm test)
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [
  'darwin',
  'win32',
  'android',
  'freebsd',
  'openbsd',
  'netbsd',
  'sunos',
  'aix',
  'openharmony',
  'linux',
];
const CPU = [
  ['arm64', /arm64|aarch64/],
  ['arm', /arm/],
  ['ia32', /ia32|(^|-)x86(-|$)/],
  ['ppc64', /ppc64/],
  ['riscv64', /riscv64/],
  ['s390x', /s390x/],
  ['loong64', /loong64/],
  ['mips64el', /mips64el/],
  ['x64', /./],
];

/** The platform a package like "@rollup/rollup-linux-arm64-musl" is built for, from its name. */
function platformOf(name) {
  const base = name.split('/').pop();
  const os = OS.find((o) => base.includes(o === 'win32' ? 'win32' : o)) ?? 'linux';
  const cpu = CPU.find(([, re]) => re.test(base))[0];
  return { os: [os], cpu: [cpu], ...(base.includes('musl') ? { libc: ['musl'] } : {}) };
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const missing = [];
for (const [where, pkg] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const nested = where ? `${where}/node_modules/${dep}` : `node_modules/${dep}`;
    if (lock.packages[nested] || lock.packages[`node_modules/${dep}`]) continue;
    missing.push([`node_modules/${dep}`, { version, optional: true, ...platformOf(dep) }]);
  }
}

if (process.argv.includes('--check')) {
  if (missing.length) {
    console.error(`package-lock.json lacks ${missing.length} platform packages, so \`npm ci\` would fail.`);
    console.error('Run: node scripts/completeLockfile.mjs');
    process.exit(1);
  }
} else {
  for (const [key, entry] of missing) lock.packages[key] = entry;
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`added ${missing.length} platform package entries to package-lock.json`);
}
