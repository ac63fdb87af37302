// Browser-side protections: broker-provided strings render as text, never as HTML; with
// an access token the page needs a login and then works (hydrated, live).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, createSessions, eventually, launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';
import { Dashboard } from '../lib/pages.js';

describe('security in the browser', () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(async () => { await browser?.close(); });

  it('renders a broker string containing HTML as text', async () => {
    const dash = await startDashboard();
    try {
      const broker = (await api(`${dash.url}/api/status`)).body.broker.url;
      const evil = '<img src=x onerror="window.__xss=1">';
      await api(`${broker}/_sim/faults`, { method: 'POST', body: { fail_provisioning_with: evil } });
      const [session] = await createSessions(broker, 1);
      await eventually(async () => (await api(`${dash.url}/api/sessions?fresh=true`)).body.sessions
        .some((s) => s.id === session.id && s.error === evil), { what: 'the failed session listed' });
      for (const js of [false, true]) {
        const context = await browser.newContext({ javaScriptEnabled: js });
        const page = await context.newPage();
        const errors = watchErrors(page);
        const ui = new Dashboard(page, dash.url);
        await ui.open('/sessions');
        if (js) await waitHydrated(page);
        const row = ui.sessionRow(session.id);
        await row.waitFor();
        assert.equal(await row.locator('.error-text').innerText(), evil, 'shown as text');
        assert.equal(await row.locator('img').count(), 0, 'no element was created');
        // No element anywhere could carry the handler, so none can run later either.
        assert.equal(await page.locator('img').count(), 0, 'no img element in the document');
        if (js) {
          assert.equal(await page.evaluate(() => window.__xss), undefined, 'no handler ran');
          assert.deepEqual(errors, []);
        }
        await context.close();
      }
    } finally {
      await dash.stop();
    }
  });

  it('asks for the token, works hydrated and live, and logs out', async () => {
    const token = 'e2e-token-0123456789abcdef';
    const dash = await startDashboard({ env: { GDL_AUTH_TOKEN: token } });
    try {
      // Browsers keep Secure cookies over plain HTTP only for localhost (a secure context).
      const base = dash.url.replace('127.0.0.1', 'localhost');
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.goto(`${base}/sessions`);
      assert.match(page.url(), /\/login\?next=\/sessions$/);
      await page.fill('input[name="token"]', token);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(`${base}/sessions`);
      await waitHydrated(page);
      await new Dashboard(page, base).waitConnection('connected');
      assert.deepEqual(errors, [], 'hydration and the WebSocket work under the CSP and the login');
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(`${base}/login`);
      await page.goto(`${base}/sessions`);
      assert.match(page.url(), /\/login\?next=\/sessions$/, 'the login ended');
      await page.close();
    } finally {
      await dash.stop();
    }
  });
});
