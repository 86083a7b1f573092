// A minimal sign-in page at "/" so the URL printed at first start leads somewhere useful.
// The full web UI (web/) replaces it; until then this page signs in, shows who you are and how
// to use the CLI and API, and signs out.
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { App } from '../app.js';

export function homeRoutes(app: App, s: Services): void {
  app.get(
    '/',
    { schema: { tags: ['ui'], summary: 'Sign-in page.', security: [], response: { 200: z.string() } } },
    async (_req, reply) => {
      const oidc = s.config.auth.oidc;
      reply.type('text/html; charset=utf-8').header('content-security-policy', CSP);
      return reply.serializer((p: unknown) => p as string).send(page(oidc ? oidc.label : null));
    },
  );
}

const CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(oidcLabel: string | null): string {
  const sso = oidcLabel
    ? `<a class="button secondary" href="/api/v1/auth/oidc/login">${escapeHtml(oidcLabel)}</a><p class="or">or</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Remote Claude</title>
<style>
:root{color-scheme:light dark;font-family:system-ui,sans-serif}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:Canvas}
main{box-sizing:border-box;width:min(24rem,92vw);padding:2rem;border:1px solid #8884;border-radius:12px}
h1{font-size:1.4rem;margin:0 0 1.5rem}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #8888;border-radius:6px}
.button,button{display:block;width:100%;margin-top:1.2rem;padding:.7rem;font-size:1rem;border:0;border-radius:6px;background:#c15f3c;color:#fff;cursor:pointer;text-align:center;text-decoration:none}
.secondary{background:#555}.or{text-align:center;color:#888;margin:.8rem 0 0}
:focus-visible{outline:3px solid #2b7cd3;outline-offset:2px}
#error,.error{color:#c62828;min-height:1.2em;margin-top:.8rem}code{font-size:.85rem}
</style></head><body><main>
<h1>Remote Claude</h1>
<section id="signin">${sso}
<form id="form"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button><p id="error" role="alert"></p></form></section>
<section id="newpw" hidden><p>This account still has its one-time password. Choose your own to continue.</p>
<form id="pwform"><label for="current">One-time password</label><input id="current" type="password" autocomplete="current-password" required>
<label for="next">New password (at least 12 characters)</label><input id="next" type="password" minlength="12" autocomplete="new-password" required>
<label for="again">New password again</label><input id="again" type="password" minlength="12" autocomplete="new-password" required>
<button type="submit">Set password</button><p id="pwerror" class="error" role="alert"></p></form></section>
<section id="home" hidden><p>Signed in as <strong id="who"></strong> (<span id="role"></span>).</p>
<p>Use the CLI: <code>rclaude login</code>, or the API with a token from <code>rclaude tokens create</code>. The API is described at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<button id="logout" class="secondary">Sign out</button></section>
</main><script>
const $=(id)=>document.getElementById(id);let csrf='';
let me=null;function show(m){me=m;csrf=m.csrfToken||'';$('signin').hidden=true;if(m.passwordChangeRequired){$('newpw').hidden=false;$('current').value=$('password').value;return;}$('newpw').hidden=true;$('who').textContent=m.user.email;$('role').textContent=m.user.role;$('home').hidden=false;}
$('pwform').addEventListener('submit',async(e)=>{e.preventDefault();$('pwerror').textContent='';
if($('next').value!==$('again').value){$('pwerror').textContent='The two new passwords differ.';return;}
const r=await fetch('/api/v1/users/'+me.user.id,{method:'PATCH',headers:{'content-type':'application/json','x-csrf-token':csrf},body:JSON.stringify({password:$('next').value,currentPassword:$('current').value})});
if(!r.ok){$('pwerror').textContent=(await r.json()).error.message;return;}const m2=await fetch('/api/v1/me');show(await m2.json());});
const why={oidc_domain_not_allowed:'Your email domain may not sign in here.',oidc_email_unverified:'Verify your email address with your identity provider first.',oidc_email_missing:'Your identity provider did not share an email address.',oidc_state_mismatch:'The sign-in expired or was started in another tab. Try again.',oidc_provider_error:'Your identity provider refused the sign-in.',oidc_exchange_failed:'The sign-in could not be completed. Try again.',account_disabled:'This account is disabled; ask an administrator.'};
const err=new URLSearchParams(location.search).get('error');if(err)$('error').textContent=why[err]||'Sign-in failed.';
fetch('/api/v1/me').then(r=>r.ok?r.json().then(show):null);
$('form').addEventListener('submit',async(e)=>{e.preventDefault();$('error').textContent='';
const r=await fetch('/api/v1/auth/login',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({email:$('email').value,password:$('password').value})});
const b=await r.json();if(r.ok)show(b);else $('error').textContent=b.error.message;});
$('logout').addEventListener('click',async()=>{await fetch('/api/v1/auth/logout',{method:'POST',headers:{'x-csrf-token':csrf}});location.reload();});
</script></body></html>`;
}
