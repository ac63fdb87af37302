// A broker that is not there: the page says Offline, why, and what to do.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';
import { Dashboard } from '../lib/pages.js';

describe('dashboard with an unreachable broker', () => {
  let server;
  let browser;

  before(async () => {
    server = await startDashboard({ env: { SHOPPER_URL: 'http://127.0.0.1:9' } });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('answers /api/status promptly with the reason and a hint', async () => {
    const r = await fetch(`${server.url}/api/status`, { signal: AbortSignal.timeout(5_000) });
    const status = await r.json();
    assert.equal(status.broker.state, 'offline');
    assert.equal(status.broker.code, 'shopper_unreachable');
    assert.match(status.broker.reason, /127\.0\.0\.1:9/);
    assert.match(status.broker.hint, /SHOPPER_URL/);
  });

  it('shows Offline with the reason and what to do', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    const ui = new Dashboard(page, server.url);
    await ui.open('/');
    await waitHydrated(page);
    assert.equal(await ui.brokerState(), 'Offline');
    const card = await ui.brokerCard().innerText();
    assert.match(card, /cannot reach the broker at http:\/\/127\.0\.0\.1:9/);
    assert.match(card, /Start cloud-gpu-shopper/);
    assert.doesNotMatch(card, /simulated/);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
