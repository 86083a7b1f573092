// `npm run dev:stack`: the UI test stack (control plane + local workspaces + model stub + git
// server) kept running for looking at the UI by hand. Prompts with "[scenario:ui]" or
// "[scenario:slow]" play the scripted conversations of uiStack.ts. Ctrl-C stops it.
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack } from './uiStack.js';

const port = Number(process.env.RC_PORT ?? 0);
// RC_WEB_DIR serves another build of the UI (vite build --outDir …), e.g. one per developer.
const stack = await startUiStack({ port, webDir: process.env.RC_WEB_DIR });
process.stdout.write(
  [
    `UI stack at ${stack.url}`,
    `sign in as ${ADMIN_EMAIL} / ${ADMIN_PASSWORD}`,
    `repositories: ${stack.repo('app')} and ${stack.repo('other')}`,
    'prompts: "[scenario:ui] …" (Write, Edit, Bash with approvals) or "[scenario:slow] …"',
    '',
  ].join('\n'),
);
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
