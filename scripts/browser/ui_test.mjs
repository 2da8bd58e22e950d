// The web UI in a real browser: Debian's Chromium driven by npm playwright-core, pages
// checked by npm axe-core. Run by the integration test `web_browser` against a test
// server it prepared; usage:
//   node ui_test.mjs <node_modules> <settings.json>
// settings: { url, ops: {email, password}, viewer: {email, password}, hook: {url, token},
//             api: {url (the project's API base), token}, incidents (the project's
//             incident list page), screenshots (a folder) }
// Prints one line per check; exits non-zero at the first failure.
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';

const [modules, settingsFile] = process.argv.slice(2);
const require = createRequire(`${modules}/`);
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
mkdirSync(settings.screenshots, { recursive: true });

const WIDTHS = [390, 1440];
const PAGE_BYTES_MAX = 150 * 1024;

function check(condition, message) {
  if (!condition) {
    throw new Error(`FAILED: ${message}`);
  }
  console.log(`ok: ${message}`);
}

// Bytes on the wire for one page load: every response's body and headers, each size
// awaited before the sum is taken.
function weigh(page) {
  const sizes = [];
  const listener = (response) => {
    sizes.push(response.request().sizes()
      .then((s) => s.responseBodySize + s.responseHeadersSize)
      .catch(() => 0));
  };
  page.on('response', listener);
  return async () => {
    page.off('response', listener);
    const all = await Promise.all(sizes);
    return { bytes: all.reduce((a, b) => a + b, 0), responses: all.length };
  };
}

// axe-core on the page: no serious or critical violation.
async function accessible(page, name) {
  // Evaluated through the DevTools protocol: the page's policy rightly refuses an
  // injected inline script.
  await page.evaluate(axeSource);
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const outcome = await axe.run(document, { resultTypes: ['violations'] });
    return outcome.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  const bad = results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `${name}: axe finds no serious or critical violation ${JSON.stringify(bad)}`);
}

async function screenshots(page, name) {
  const original = page.viewportSize();
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(overflow <= 0, `${name} at ${width} px: nothing wider than the screen (overflow ${overflow} px)`);
    await page.screenshot({ path: `${settings.screenshots}/${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize(original);
}

// Loads `path`, checks its weight, accessibility and layout, takes its screenshots.
async function visit(page, path, name) {
  const weight = weigh(page);
  const response = await page.goto(`${settings.url}${path}`, { waitUntil: 'load' });
  check(response.status() === 200 && new URL(page.url()).pathname === path.split('?')[0],
    `${name}: ${path} answers 200 (${response.status()} at ${page.url()})`);
  const { bytes, responses } = await weight();
  check(responses >= 1 && bytes > 1000 && bytes <= PAGE_BYTES_MAX,
    `${name}: ${bytes} bytes in ${responses} responses on the wire (at most ${PAGE_BYTES_MAX})`);
  console.log(`weight ${name} ${bytes}`);
  await accessible(page, name);
  await screenshots(page, name);
}

// Presses Tab until the element matching `selector` has focus: the element is reachable
// by keyboard alone.
async function tabTo(page, selector, what) {
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) {
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      check(outline !== 'none', `${what}: reached by Tab with a visible focus outline`);
      return;
    }
  }
  throw new Error(`FAILED: ${what} is not reachable by Tab`);
}

// Sends a form by `act` (a click, a key) and waits for the page it leads to.
async function submit(page, act) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), act()]);
}

async function signIn(context, who, name) {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') { console.log(`console error: ${message.text()}`); }
  });
  page.on('response', async (response) => {
    if (response.status() >= 400) {
      const headers = await response.request().allHeaders();
      let body = '';
      try { body = (await response.text()).slice(0, 400); } catch (_) { /* gone */ }
      console.log(`answer ${response.status()} to ${response.request().method()} ${response.url()}: ${body} (sent ${JSON.stringify(headers)})`);
    }
  });
  await page.goto(`${settings.url}${settings.incidents}`);
  check(new URL(page.url()).pathname === '/login', `${name}: a page asks to sign in first`);
  if (name === 'ops') {
    await accessible(page, 'login');
    await screenshots(page, 'login');
  }
  // By keyboard alone.
  await tabTo(page, '#email', `${name}: the email field`);
  await page.keyboard.type(who.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(who.password);
  await Promise.all([page.waitForURL(`**${settings.incidents}`), page.keyboard.press('Enter')]);
  check(true, `${name}: signed in by keyboard and back at the incident list`);
  return page;
}

async function sendAlert(dedupKey, summary) {
  const response = await fetch(settings.hook.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${settings.hook.token}` },
    body: JSON.stringify({ dedup_key: dedupKey, action: 'trigger', summary, severity: 'critical' }),
  });
  check(response.ok, `the webhook accepted alert ${dedupKey} (${response.status})`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  // The test server's certificate is self-signed for the test.
  const ops = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  const page = await signIn(ops, settings.ops, 'ops');
  await visit(page, '/', 'home');
  await visit(page, settings.incidents, 'incidents-empty');

  // An alert arrives while the list is open: it appears without a reload, its markup
  // inert.
  await page.evaluate(() => { window.notReloaded = true; });
  await sendAlert('db-down', '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> primary database down');
  await page.locator('#incident-list a', { hasText: 'primary database down' }).waitFor({ timeout: 20000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the new incident appeared without a reload');
  check(await page.evaluate(() => window.pwned === undefined), 'markup in the alert text did not run');
  const shown = await page.locator('#incident-list a').first().textContent();
  check(shown.includes('<script>window.pwned=1</script>'), 'the alert text is shown as text');
  await accessible(page, 'incidents');
  await screenshots(page, 'incidents');

  // The incident: acknowledge by clicking, its timeline updates live, resolve by keyboard.
  await Promise.all([page.waitForURL('**/incidents/1'), page.locator('#incident-list a').first().click()]);
  await visit(page, `${settings.incidents}/1`, 'incident');
  await page.fill('#status-message', 'looking at the primary');
  await submit(page, () => page.click('button[value=acknowledged]'));
  check((await page.locator('.badge').first().textContent()) === 'acknowledged', 'acknowledged from the incident page');
  // Enter in the status message picks no move by itself.
  await page.fill('#status-message', 'still looking');
  await page.press('#status-message', 'Enter');
  await page.waitForTimeout(500);
  check((await page.locator('.badge').first().textContent()) === 'acknowledged'
    && new URL(page.url()).pathname.endsWith('/incidents/1'), 'Enter in the status message changes nothing');
  // While someone is in a field the timeline waits; it updates once they leave it.
  await page.evaluate(() => { window.notReloaded = true; });
  const noted = await fetch(`${settings.api.url}/incidents/1/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${settings.api.token}` },
    body: JSON.stringify({ text: 'a colleague noted this through the API' }),
  });
  check(noted.status === 204, `a colleague adds a note through the API (${noted.status})`);
  await page.waitForTimeout(4000);
  check(await page.locator('#incident-live .timeline', { hasText: 'through the API' }).count() === 0,
    'no update lands while the status message field has focus');
  await page.locator('#status-message').blur();
  await page.locator('#incident-live .timeline', { hasText: 'through the API' }).waitFor({ timeout: 20000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the timeline updated without a reload');
  await tabTo(page, 'button[value=resolved]', 'the resolve button');
  await submit(page, () => page.keyboard.press('Enter'));
  check((await page.locator('.badge').first().textContent()) === 'resolved', 'resolved by keyboard alone');
  await tabTo(page, '#note-text', 'the note field');
  await page.keyboard.type('replica promoted; postmortem on Monday');
  await tabTo(page, '#h-note ~ form button[type=submit]', 'the add-note button');
  await submit(page, () => page.keyboard.press('Enter'));
  check(await page.locator('.timeline', { hasText: 'postmortem on Monday' }).count() === 1, 'a note added by keyboard');
  await screenshots(page, 'incident-resolved');

  // A cross-site form: another origin posts to the incident's status form with the
  // person's cookie. Refused.
  const attacker = http.createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!doctype html><form id=f method=post action="${settings.url}${settings.incidents}/1/status">
      <input name=csrf value=guess><input name=status value=triggered></form>
      <script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const evil = await ops.newPage();
  const landed = evil.waitForResponse((r) => r.url().endsWith('/incidents/1/status'));
  await evil.goto(`http://127.0.0.1:${attacker.address().port}/`);
  const refused = await landed;
  check(refused.status() === 403 && (await refused.text()).includes('origin_mismatch'),
    `a cross-site form post is refused as from another origin (${refused.status()})`);
  attacker.close();
  await page.reload();
  check((await page.locator('.badge').first().textContent()) === 'resolved', 'the incident is unchanged by the cross-site post');

  // A viewer: reads, sees no control, and a post forged from their own session with
  // their own CSRF token is refused.
  const viewerContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 900 } });
  const viewer = await signIn(viewerContext, settings.viewer, 'viewer');
  await viewer.goto(`${settings.url}${settings.incidents}/1`);
  check(await viewer.locator('form[action$="/status"], form[action$="/notes"]').count() === 0, 'a viewer is shown no status or note form');
  const forged = await viewer.evaluate(async (path) => {
    const csrf = document.querySelector('input[name=csrf]').value;
    const body = new URLSearchParams({ csrf, status: 'triggered' });
    const response = await fetch(path, { method: 'POST', body, redirect: 'manual' });
    return { status: response.status, text: await response.text() };
  }, `${settings.incidents}/1/status`);
  check(forged.status === 403 && forged.text.includes('permission_denied'), `a viewer's forged post is refused (${forged.status})`);
  await accessible(viewer, 'incident-viewer');
  await screenshots(viewer, 'incident-viewer');

  // The other pages: each accessible, light and fitting a phone.
  const project = settings.incidents.replace(/\/incidents$/, '');

  // The alert list is live too: a new alert's row appears without a reload.
  await page.goto(`${settings.url}${project}/alerts`);
  await page.evaluate(() => { window.notReloaded = true; });
  await sendAlert('cache-cold', 'cache cold');
  await page.locator('#alert-list a', { hasText: 'cache-cold' }).waitFor({ timeout: 20000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the new alert appeared in the list without a reload');
  // A sensitive runbook run from its page waits for a second person; their approval,
  // given through the API, shows on the open execution page without a reload.
  await visit(page, `${project}/runbooks/purge`, 'runbook');
  await page.fill('#r-incident', '1');
  await page.selectOption('select[name="input.MODE"]', 'hard');
  await submit(page, () => page.click('form[action$="/run"] button[type=submit]'));
  check(new URL(page.url()).pathname.includes('/runbook-executions/'), 'the Run form leads to the execution');
  check(await page.locator('#execution-live .badge', { hasText: 'awaiting_approval' }).count() === 1,
    'the execution waits for approval');
  check(await page.locator('text=Approve and run').count() === 0, 'who started it is not offered the approval');
  await page.evaluate(() => { window.notReloaded = true; });
  const execution = new URL(page.url()).pathname.split('/').pop();
  const approved = await fetch(`${settings.api.url}/runbook-executions/${execution}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${settings.api.token}` },
    body: '{}',
  });
  check(approved.status === 200, `a second person approves it through the API (${approved.status})`);
  await page.locator('#execution-live > p .badge', { hasText: 'succeeded' }).waitFor({ timeout: 20000 });
  check(await page.evaluate(() => window.notReloaded === true), 'the execution page updated without a reload');
  await accessible(page, 'runbook-execution');
  await screenshots(page, 'runbook-execution');

  for (const [path, name] of [
    ['/runbooks', 'runbooks'], ['/delegates', 'delegates'], ['/delegates/edge-1', 'delegate'],
    ['/delegate-tasks', 'delegate-tasks'], ['/alerts', 'alerts'], ['/services', 'services'], ['/services/checkout', 'service'],
    ['/schedules', 'schedules'], ['/schedules/primary', 'schedule'], ['/audit', 'audit'],
    ['/escalation-policies', 'escalation-policies'], ['/escalation-policies/default', 'escalation-policy'],
    ['/workspaces', 'workspaces'], ['/workspaces/prod?diff=2', 'workspace'],
    ['/workspaces/prod/rollback?version=1', 'rollback'], ['/access', 'access-project'],
    ['/access?principal=vera%40example.com&permission=incident%3Aview', 'explain'],
    ['/settings', 'settings-project'], ['/slos', 'slos'], ['/slos/checkout-availability', 'slo'],
  ]) {
    await visit(page, `${project}${path}`, name);
  }
  for (const [path, name] of [
    ['/tokens', 'tokens'], ['/access', 'access-account'], ['/settings', 'settings-account'],
    ['/o/default/access', 'access-org'], ['/o/default/settings', 'settings-org'],
  ]) {
    await visit(page, path, name);
  }
  check(await page.locator('text=Incident severity names').count() === 1, 'the organisation\'s settings show severity names');

  // The edit forms that fold away (a schedule's, an incident's), opened.
  for (const [path, name] of [
    [`${project}/schedules/primary`, 'schedule-edit'], [`${settings.incidents}/1`, 'incident-edit'],
    [`${project}/escalation-policies/default`, 'escalation-policy-edit'],
    [`${project}/slos/checkout-availability`, 'slo-edit'],
    [`${project}/runbooks/purge`, 'runbook-edit'],
  ]) {
    await page.goto(`${settings.url}${path}`);
    for (const summary of await page.locator('details.edit > summary').all()) {
      await summary.click();
    }
    check(await page.locator('details.edit[open] form').count() >= 1, `${name}: the edit form opens`);
    await accessible(page, name);
    await screenshots(page, name);
  }
  await page.goto(`${settings.url}${project}/alerts`);
  await Promise.all([page.waitForNavigation(), page.locator('table a').first().click()]);
  await visit(page, new URL(page.url()).pathname, 'alert');

  // Signing out by keyboard ends the session.
  await tabTo(page, 'form.signout button', 'the sign-out button');
  await Promise.all([page.waitForURL('**/login'), page.keyboard.press('Enter')]);
  await page.goto(`${settings.url}/`);
  check(new URL(page.url()).pathname === '/login', 'after signing out, pages ask to sign in');
  console.log('all checks passed');
} finally {
  await browser.close();
}
