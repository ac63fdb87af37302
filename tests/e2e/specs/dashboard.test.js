// The dashboard on the embedded simulator: server-rendered first paint (JavaScript off),
// hydration without console errors, tabs as real routes, sessions with their errors.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';
import { Dashboard } from '../lib/pages.js';

describe('dashboard on the embedded simulator', () => {
  let server;
  let browser;

  before(async () => {
    server = await startDashboard();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('renders broker status and offer counts with JavaScript off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const ui = new Dashboard(page, server.url);
    await ui.open('/');
    assert.equal(await ui.brokerState(), 'Ready');
    await assert.doesNotReject(ui.brokerCard().getByText('simulated').waitFor());
    assert.ok((await ui.offerCount('vastai')) > 0, 'Vast.ai offers counted');
    assert.ok((await ui.offerCount('tensordock')) > 0, 'TensorDock offers counted');
    await context.close();
  });

  it('hydrates without console errors and switches tabs as routes', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    const ui = new Dashboard(page, server.url);
    await ui.open('/');
    await waitHydrated(page);
    assert.equal(await ui.brokerState(), 'Ready');

    await ui.tab('Sessions').click();
    await page.waitForURL(`${server.url}/sessions`);
    assert.equal(await ui.heading().innerText(), 'Sessions');

    await ui.tab('Benchmarks').click();
    await page.waitForURL(`${server.url}/benchmarks`);
    await page.getByText('No benchmarks recorded yet').waitFor();

    await ui.tab('Dashboard').click();
    await page.waitForURL(`${server.url}/`);
    // Refresh asks the server for a snapshot over the live channel (not an HTTP poll).
    const snapshots = async () => (await (await fetch(`${server.url}/api/live/stats`)).json()).snapshots;
    const before = await snapshots();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await eventually(async () => (await snapshots()) === before + 1, { what: 'one snapshot sent for Refresh' });
    assert.equal(await ui.brokerState(), 'Ready');

    // A tab is linkable: loading /sessions directly renders that tab.
    await ui.open('/sessions');
    await waitHydrated(page);
    assert.equal(await page.locator('nav.tabs a[aria-current="page"]').innerText(), 'Sessions');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('lists sessions of every version with the error of a failed one', async () => {
    const status = await (await fetch(`${server.url}/api/status`)).json();
    const broker = status.broker.url;
    await fetch(`${broker}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fail_provisioning_with: 'SSH verification timeout' }),
    });
    const inventory = await (await fetch(`${broker}/api/v1/inventory?provider=vastai&limit=50`)).json();
    let created;
    for (const offer of inventory.offers) {
      const r = await fetch(`${broker}/api/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          consumer_id: 'gpu-deploy-llm/v0.0.1', offer_id: offer.id, workload_type: 'llm', reservation_hours: 1,
        }),
      });
      if (r.status === 201) { created = (await r.json()).session; break; }
    }
    assert.ok(created, 'a session was created on the simulator');
    await eventually(async () => {
      const view = await (await fetch(`${server.url}/api/sessions?fresh=true`)).json();
      return view.sessions.find((s) => s.id === created.id && s.status === 'stopped' && s.error);
    });

    const page = await browser.newPage();
    const errors = watchErrors(page);
    const ui = new Dashboard(page, server.url);
    await ui.open('/sessions');
    await waitHydrated(page);
    const row = ui.sessionRow(created.id);
    await row.waitFor();
    assert.match(await row.innerText(), /stopped/);
    assert.match(await row.innerText(), /SSH verification timeout/);
    assert.match(await row.innerText(), /RTX|A100|H100|B200|L4|V100|A40|A[56]000|L40S/);
    // An older version's session that none of this installation's runs rented: shown as
    // another dashboard's, never one of ours.
    assert.match(await row.locator('[data-foreign="true"]').innerText(), /another dashboard's/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('fits a phone-width screen without sideways scrolling', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await context.close();
  });
});
