// The Health tab through a broker outage: the circuit breaker opens, the tab says so (also
// with JavaScript off), and it closes again when the broker is back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  api, eventually, launchBrowser, startDashboard, startSimulator, waitHydrated, watchErrors,
} from '../lib/harness.js';

describe('health tab', () => {
  let broker;
  let server;
  let browser;

  before(async () => {
    broker = await startSimulator();
    server = await startDashboard({
      env: { SHOPPER_URL: broker.url },
      args: ['--allow-private-hosts', '--breaker-failures', '3', '--breaker-open-secs', '4'],
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await broker?.stop();
  });

  it('shows the breaker open during a broker outage, then closed again', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/health`);
    await waitHydrated(page);
    assert.equal(await page.locator('[data-health="broker"] .breaker-phase').getAttribute('data-breaker'), 'closed');
    assert.equal(await page.locator('nav.tabs a[aria-current="page"]').innerText(), 'Health');

    // The broker refuses connections for 20 s.
    await api(`${broker.url}/_sim/offline`, { method: 'POST', body: { ms: 20_000 } });
    await eventually(async () => (await api(`${server.url}/api/status`)).body.broker.breaker.phase === 'open',
      { timeout: 30_000, what: 'the breaker to open' });
    // The open tab asks again by itself every few seconds.
    const phase = page.locator('[data-health="broker"] .breaker-phase');
    await eventually(async () => (await phase.getAttribute('data-breaker')) === 'open',
      { timeout: 15_000, what: 'the tab to show it open' });
    assert.match(await phase.innerText(), /next probe at \d\d:\d\d:\d\d UTC/);
    assert.ok(await page.locator('.transitions li[data-to="open"]').count() >= 1);
    assert.match(await page.locator('[data-health="broker"]').innerText(), /cannot reach the broker/);

    // Rendered on the server too: correct with JavaScript off.
    const context = await browser.newContext({ javaScriptEnabled: false });
    const plain = await context.newPage();
    await plain.goto(`${server.url}/health`);
    assert.equal(await plain.locator('[data-health="broker"] .breaker-phase').getAttribute('data-breaker'), 'open');
    assert.ok(Number(await plain.locator('svg.spark.latency').getAttribute('data-samples')) >= 1);
    assert.equal(await plain.locator('svg.spark.breaker title').textContent(), 'Circuit breaker over the last hour');
    await context.close();

    // Back: a probe closes it, and the tab follows.
    await eventually(async () => (await phase.getAttribute('data-breaker')) === 'closed',
      { timeout: 60_000, what: 'the breaker to close again' });
    assert.ok(await page.locator('.transitions li[data-to="half-open"]').count() >= 1);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
