// Writes docs/configuration.md from the config schema (npm run docs:config).
import { writeFileSync } from 'node:fs';
import { configReference } from '../server/config/configReference.js';

writeFileSync(new URL('../../docs/configuration.md', import.meta.url), configReference());
process.stdout.write('wrote docs/configuration.md\n');
