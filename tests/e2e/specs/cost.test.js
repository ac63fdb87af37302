// Cost safety in the browser: a machine that fails to start is replaced by another rental,
// and a destroy the broker does not confirm is shown plainly, on the run and the sessions.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

describe('cost safety', () => {
  let server;
  let browser;
  let broker;

  before(async () => {
    // Cleanup gives up asking after 2 s, so an unconfirmed destroy shows quickly. The
    // broker's stuck check stops a session left stopping 10 minutes (contract time) after
    // its creation, which would then confirm it: at speed 20 that is 30 s, and the run
    // below fails early (Diagnose host), so the page is read well before.
    server = await startDashboard({ simSpeed: 20, args: ['--test-hooks', '--destroy-patience', '2'] });
    browser = await launchBrowser();
    broker = (await api(`${server.url}/api/status`)).body.broker.url;
  });

  after(async () => {
    await api(`${broker}/_sim/faults`, { method: 'POST', body: {} }).catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  it('shows each rental and a cleanup the broker did not confirm', async () => {
    // The first machine vanishes while starting; destroys then never finish at the provider.
    await api(`${broker}/_sim/faults`, {
      method: 'POST',
      body: { failing_provisionings: 1, destroy_delay_ms: 600_000 },
    });
    const fail = await fetch(`${server.url}/_test/runs/fail_next`, { method: 'POST', body: 'diagnose_host' });
    assert.equal(fail.status, 204);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.getByRole('button', { name: /Run test/ }).click();
    await page.locator('[data-result]').waitFor({ timeout: 120_000 });

    const rentals = page.locator('tr[data-rental]');
    const [run] = (await api(`${server.url}/api/runs`)).body;
    assert.equal(run.rentals.length, 2, `two rentals: ${JSON.stringify(run.rentals)}`);
    await rentals.nth(1).waitFor({ timeout: 20_000 });
    assert.equal(await rentals.count(), 2, 'two rentals listed');
    const first = rentals.nth(0);
    assert.equal(await first.getAttribute('data-failed'), 'true');
    assert.match(await first.innerText(), /failed: .*instance_vanished/);
    assert.match(await first.innerText(), /destroyed/);
    const second = rentals.nth(1);
    // The run is over, so the rental is no longer "in use": it served a test that failed.
    assert.match(await second.innerText(), /test failed/);
    assert.doesNotMatch(await second.innerText(), /in use/);
    assert.match(await second.innerText(), /NOT confirmed destroyed/);

    const cleanup = page.locator('[data-cleanup="unconfirmed"]');
    await cleanup.waitFor();
    assert.match(await cleanup.innerText(), /may still be running and billing/);

    await page.getByRole('link', { name: 'Sessions', exact: true }).click();
    const flagged = page.locator('[data-unconfirmed="true"]');
    await flagged.first().waitFor({ timeout: 20_000 });
    assert.match(await flagged.first().innerText(), /destroy not confirmed/);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
