// Embeddable panels: a page on another loopback origin in the allow-list embeds
// /embed/sessions with a read-only embed token, and the panel follows a session changing
// on the simulator live; a page on an origin not in the list is refused by
// frame-ancestors; the embed token cannot start a run; revoking it takes the panel
// offline. Also /api/docs renders every route of the OpenAPI document.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createSessions, eventually, launchBrowser, startDashboard, waitHydrated } from '../lib/harness.js';

const TOKEN = 'e2e-token-0123456789abcdef';

/** A loopback page server; `page()` says what its one page holds. */
async function hostPage(page) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** The page a wiki would serve: the panel in an iframe, sized by the heights it posts. */
const wikiPage = (src) => `<!DOCTYPE html><html><body>
<h1>Team GPUs</h1>
<iframe id="panel" src="${src}" style="width: 900px; height: 200px; border: 0"></iframe>
<script>
  window.heights = [];
  window.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'gdl-embed-height') {
      window.heights.push(event.data);
      document.getElementById('panel').style.height = event.data.height + 'px';
    }
  });
</script>
</body></html>`;

async function call(url, { method = 'GET', token, body } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(url, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

describe('embedded panels', () => {
  let browser;
  let dash;
  let allowed;
  let other;
  let src = 'about:blank';

  before(async () => {
    allowed = await hostPage(() => wikiPage(src));
    other = await hostPage(() => wikiPage(src));
    dash = await startDashboard({
      simSpeed: 5,
      env: { GDL_AUTH_TOKEN: TOKEN },
      args: ['--allow-origin', allowed.url],
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await dash?.stop();
    await allowed?.close();
    await other?.close();
  });

  it('shows sessions live in an allowed page, refuses other pages, and only reads', async () => {
    const created = await call(`${dash.url}/api/embed-tokens`, { method: 'POST', token: TOKEN, body: { label: 'e2e wall' } });
    assert.equal(created.status, 201);
    const secret = created.body.secret;
    src = `${dash.url}/embed/sessions?token=${secret}&theme=dark`;

    // The allowed origin's page shows the panel, hydrated and live.
    const page = await browser.newPage();
    const refusals = [];
    page.on('console', (msg) => { if (/frame-ancestors/.test(msg.text())) refusals.push(msg.text()); });
    await page.goto(allowed.url);
    const frame = page.frameLocator('#panel');
    await frame.locator('body[data-hydrated="true"]').waitFor({ timeout: 30_000 });
    await frame.locator('.embed[data-theme="dark"] .live[data-conn="connected"]').waitFor({ timeout: 30_000 });
    assert.equal(await frame.locator('header.top').count(), 0, 'no dashboard header');
    const panel = page.frame({ url: /\/embed\/sessions/ });
    await panel.evaluate(() => { window.__same = 1; });

    // A session rented on the simulator appears, then its change shows, with no reload.
    const status = (await call(`${dash.url}/api/status`, { token: TOKEN })).body;
    const broker = status.broker.url;
    const [session] = await createSessions(broker, 1, status.broker.consumer_id);
    const row = frame.locator(`tr[data-session="${session.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    // The dashboard offers actions on this session (Clean up, Done, Extend, and Clean up
    // all in the banner); the panel, with the same session on show, offers none.
    const sessionsPage = await fetch(`${dash.url}/sessions`, {
      headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/html' }, signal: AbortSignal.timeout(10_000),
    });
    const ownRow = (await sessionsPage.text()).split(`data-session="${session.id}"`)[1] ?? '';
    assert.match(ownRow.split('</tr>')[0], /data-action="cleanup"/, 'the dashboard has actions for it');
    assert.equal(await frame.locator('[data-action]').count(), 0, 'no actions in the panel');
    assert.equal(await frame.locator('button').count(), 0, 'no buttons at all in the panel');
    const done = await fetch(`${broker}/api/v1/sessions/${session.id}/done`, { method: 'POST' });
    assert.ok(done.ok, `done: ${done.status}`);
    await eventually(async () => /stopp/.test(await row.locator('.badge').first().innerText()), {
      timeout: 30_000, what: 'the session shown as stopping or stopped',
    });
    assert.equal(await panel.evaluate(() => window.__same), 1, 'the panel was not reloaded');

    // The panel told the page its height, and the page sized the iframe with it.
    const heights = await eventually(async () => {
      const h = await page.evaluate(() => window.heights);
      return h.length > 0 && h;
    }, { what: 'a height message' });
    assert.equal(heights.at(-1).panel, '/embed/sessions');
    assert.ok(heights.at(-1).height > 100, JSON.stringify(heights));
    const iframeHeight = await page.locator('#panel').evaluate((el) => el.getBoundingClientRect().height);
    assert.equal(Math.round(iframeHeight), heights.at(-1).height);

    // A page on an origin not in the list: the browser refuses to frame the panel.
    const outsider = await browser.newPage();
    const outsiderRefusals = [];
    outsider.on('console', (msg) => { if (/frame-ancestors/.test(msg.text())) outsiderRefusals.push(msg.text()); });
    await outsider.goto(other.url);
    await eventually(async () => outsiderRefusals.length > 0, { timeout: 15_000, what: 'the frame-ancestors refusal' });
    const blocked = await outsider.locator('#panel').elementHandle().then((h) => h.contentFrame());
    assert.ok(!blocked || !blocked.url().startsWith(dash.url), `the panel did not load: ${blocked?.url()}`);
    assert.deepEqual(refusals, [], 'the allowed page was never refused');
    await outsider.close();

    // The embed token cannot start a run: 403 in the error shape.
    const start = await call(`${dash.url}/api/runs`, {
      method: 'POST', token: secret, body: { model: 'qwen2.5-0.5b', max_price: 0.5 },
    });
    assert.equal(start.status, 403);
    assert.equal(start.body.code, 'embed_read_only');
    assert.ok(start.body.message && start.body.hint && start.body.request_id, JSON.stringify(start.body));
    const runs = await call(`${dash.url}/api/runs`, { token: TOKEN });
    assert.deepEqual(runs.body, [], 'no run was started');

    // Revoked: the panel's live connection is closed and cannot come back.
    const revoked = await call(`${dash.url}/api/embed-tokens/${created.body.id}`, { method: 'DELETE', token: TOKEN });
    assert.equal(revoked.status, 200);
    const refused = frame.locator('.live[data-conn="refused"]');
    await refused.waitFor({ timeout: 30_000 });
    assert.match(await refused.innerText(), /embed token of this panel was revoked/);
    await page.close();
  });

  it('builds a snippet with a new token on the Share tab, and revokes it there', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
    const page = await context.newPage();
    await page.goto(`${dash.url}/share`);
    await waitHydrated(page);
    assert.match(await page.locator('ul.origins').innerText(), new RegExp(allowed.url.replace(/[.]/g, '\\.')));
    await page.selectOption('select[name="panel"]', 'orphans');
    await page.selectOption('select[name="theme"]', 'light');
    await page.check('input[name="compact"]');
    await page.fill('input[name="label"]', 'share tab wall');
    await page.click('[data-action="create-token"]');
    const created = await page.locator('[data-created]').getAttribute('data-created', { timeout: 15_000 });
    const snippet = await page.locator('textarea[data-snippet]').inputValue();
    const src = snippet.match(/src="([^"]+)"/)[1];
    assert.match(src, new RegExp(`^${dash.url}/embed/orphans\\?theme=light&compact=1&token=gdle_[0-9a-f]{64}$`));
    assert.match(snippet, new RegExp(`event.origin !== '${dash.url}'`));

    // The URL works on its own, in a browser without the access token.
    const wall = await browser.newPage();
    await wall.goto(src);
    await waitHydrated(wall);
    await wall.locator('.embed[data-theme="light"][data-compact="true"] .live[data-conn="connected"]').waitFor({ timeout: 30_000 });
    await wall.locator('[data-orphans]').first().waitFor();

    // Revoked from the tab (after a confirmation): the wall says why it stopped.
    const row = page.locator(`tr[data-token="${created}"]`);
    await row.locator('[data-action="revoke"]').click();
    await row.locator('[data-action="confirm"]').click();
    await page.locator(`tr[data-token="${created}"][data-state="revoked"]`).waitFor({ timeout: 15_000 });
    await wall.locator('.live[data-conn="refused"]').waitFor({ timeout: 30_000 });
    await wall.close();
    await context.close();
  });

  it('browses the REST API at /api/docs from its own assets', async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => { if (!r.url().startsWith(dash.url)) errors.push(`outside request: ${r.url()}`); });
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
    await page.goto(`${dash.url}/api/docs`);
    const doc = (await call(`${dash.url}/api/openapi.json`, { token: TOKEN })).body;
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    await page.locator('body[data-routes]').waitFor({ timeout: 15_000 });
    assert.equal(Number(await page.locator('body').getAttribute('data-routes')), operations);
    assert.ok(await page.locator('details.op[data-route="POST /api/runs"]').count() === 1);
    assert.ok(await page.locator('#schema-TestConfig').count() === 1);
    await page.fill('#filter', 'embed-tokens');
    assert.equal(await page.locator('details.op:not(.hidden)').count(), 3);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
