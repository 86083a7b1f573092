// Screenshots of UI pages for looking at by hand:
//   npx vite-node test/ui/shoot.ts -- http://127.0.0.1:18080 /path out.png [width] [email] [password]

import { launchChromium, signIn } from './browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './uiStack.js';

const [
  base,
  path = '/',
  out = '/tmp/shot.png',
  width = '1280',
  email = ADMIN_EMAIL,
  password = ADMIN_PASSWORD,
] = process.argv.slice(2).filter((a) => a !== '--');
if (!base) throw new Error('usage: shoot.ts BASE_URL [PATH] [OUT.png] [WIDTH] [EMAIL] [PASSWORD]');
const browser = await launchChromium();
const page = await browser.newPage({
  viewport: { width: Number(width), height: Number(width) < 600 ? 844 : 800 },
});
page.on('console', (m) => m.type() === 'error' && process.stderr.write(`console: ${m.text()}\n`));
page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
await signIn(page, base, email, password);
await page.goto(new URL(path, base).toString());
await page.waitForLoadState('networkidle');
await page.waitForTimeout(500);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
process.stdout.write(`${out}\n`);
