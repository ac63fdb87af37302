// Sessions with actions in the browser: the orphan guard on every page (a session no test
// uses, with its hourly burn, cleaned with one click), Extend moving the expiry, and Clean
// up of a session the broker no longer knows.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  api, createSessions, eventually, launchBrowser, startDashboard, waitHydrated, watchErrors,
} from '../lib/harness.js';

describe('sessions', () => {
  let server;
  let browser;
  let broker;
  // This installation's consumer id: only its own sessions can be its orphans.
  let consumer;

  before(async () => {
    // Slow enough that a 1-hour reservation lasts 12 minutes here.
    server = await startDashboard({ simSpeed: 5 });
    browser = await launchBrowser();
    ({ url: broker, consumer_id: consumer } = (await api(`${server.url}/api/status`)).body.broker);
    assert.match(consumer, /^gpu-deploy-llm\/[0-9a-f]{12}$/);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('flags an orphan on every page with its burn, and cleans it with one click', async () => {
    const [session] = await createSessions(broker, 1, consumer);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/benchmarks`);
    await waitHydrated(page);
    const banner = page.locator('[data-orphans]');
    await banner.waitFor({ timeout: 30_000 });
    const burn = `$${session.price_per_hour.toFixed(3)}/h`;
    assert.equal(await banner.locator('.headline').innerText(), `1 session burning ${burn} that no test is using`);
    await banner.locator('[data-action="clean-up-all"]').click();
    await banner.locator('[data-action="confirm"]').click();
    await page.locator('[data-orphan-outcome]', { hasText: 'Cleaned up 1' }).waitFor({ timeout: 60_000 });
    await banner.waitFor({ state: 'detached' });
    const left = (await api(`${server.url}/api/orphans`)).body;
    assert.deepEqual(left.sessions, []);
    const atBroker = (await api(`${broker}/api/v1/sessions/${session.id}`)).body;
    assert.ok(['stopped', 'stopping'].includes(atBroker.status), atBroker.status);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the orphan banner on every page, from the server and live', async () => {
    const [session] = await createSessions(broker, 1, consumer);
    await eventually(async () => (await api(`${server.url}/api/orphans`)).body.sessions.some((s) => s.id === session.id),
      { timeout: 30_000, what: 'the orphan is known' });
    const pages = ['/', '/inventory', '/sessions', '/runs', '/benchmarks', '/costs', '/health', '/compare', '/share'];
    const page = await browser.newPage();
    const errors = watchErrors(page);
    for (const path of pages) {
      // Rendered by the server (no script has run).
      const html = await (await fetch(`${server.url}${path}`)).text();
      assert.match(html, /data-orphans="1"/, `${path} rendered without the banner`);
    }
    for (const path of pages) {
      // And there once the page is live.
      await page.goto(`${server.url}${path}`);
      await waitHydrated(page);
      await page.locator('[data-orphans="1"]').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('[data-orphans]').count(), 1, `one banner on ${path}`);
    }
    assert.deepEqual(errors, []);
    await page.close();
    await api(`${server.url}/api/orphans/cleanup`, { method: 'POST' });
  });

  it('extends a session and shows the new expiry', async () => {
    const [session] = await createSessions(broker, 1);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/sessions`);
    await waitHydrated(page);
    const row = page.locator(`tr[data-session="${session.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    const expiry = async () => Date.parse(await row.locator('[data-expires]').getAttribute('data-expires'));
    const before = await expiry();
    await row.locator('[data-action="extend"]').click();
    assert.match(await row.locator('.confirm').first().innerText(), /Extend .+ by/);
    await row.locator('input.hours').fill('2');
    await row.locator('[data-action="confirm"]').click();
    await page.locator('[data-outcome="extended"]').waitFor({ timeout: 30_000 });
    await eventually(async () => (await expiry()) === before + 2 * 3_600_000, { what: 'the expiry two hours later' });
    await api(`${server.url}/api/sessions/${session.id}/cleanup`, { method: 'POST' });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows a failed session\'s error, and filters by status and provider through a reload', async () => {
    await api(`${broker}/_sim/faults`, { method: 'POST', body: { fail_provisioning_with: 'CUDA driver too old on host' } });
    const [failed] = await createSessions(broker, 1);
    await eventually(async () => (await api(`${server.url}/api/sessions?fresh=true`)).body.sessions
      .some((s) => s.id === failed.id && s.error), { what: 'the failed session listed', timeout: 60_000 });
    await api(`${broker}/_sim/faults`, { method: 'POST', body: {} });
    const [running] = await createSessions(broker, 1);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/sessions`);
    await waitHydrated(page);
    const failedRow = page.locator(`tr[data-session="${failed.id}"]`);
    await failedRow.waitFor({ timeout: 30_000 });
    assert.equal(await failedRow.locator('.error-text').innerText(), 'CUDA driver too old on host');
    await page.locator(`tr[data-session="${running.id}"]`).waitFor({ timeout: 30_000 });
    const form = page.locator('form[data-session-filters]');
    await form.locator('select[name="status"]').selectOption('ended');
    await form.locator('select[name="provider"]').selectOption('vastai');
    await form.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=ended/);
    assert.match(page.url(), /provider=vastai/);
    await waitHydrated(page);
    await failedRow.waitFor();
    const shown = async () => page.locator('tr[data-session]').evaluateAll((rows) => rows.map((r) => r.dataset.session));
    assert.ok(!(await shown()).includes(running.id), 'an active session is filtered out by status=ended');
    await page.reload();
    await waitHydrated(page);
    await failedRow.waitFor();
    assert.ok(!(await shown()).includes(running.id), 'the same view after a reload');
    assert.equal(await form.locator('select[name="status"]').inputValue(), 'ended');
    await api(`${server.url}/api/sessions/${running.id}/cleanup`, { method: 'POST' });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('says "session not found" for a session the broker no longer knows, and drops its row', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/sessions`);
    await waitHydrated(page);
    // The broker forgets the session between the question and the answer. Its next poll
    // would drop the row by itself; should it come first, try again with another session.
    for (let attempt = 1; ; attempt += 1) {
      const [session] = await createSessions(broker, 1);
      const row = page.locator(`tr[data-session="${session.id}"]`);
      await row.waitFor({ timeout: 30_000 });
      await row.locator('[data-action="cleanup"]').click();
      const purged = await fetch(`${broker}/_sim/sessions/${session.id}`, { method: 'DELETE' });
      assert.ok(purged.ok);
      const clicked = await row.locator('[data-action="confirm"]').click({ timeout: 1_000 }).then(() => true, () => false);
      if (!clicked && attempt < 3) continue;
      assert.ok(clicked, 'the row stayed long enough to confirm');
      const note = page.locator('[data-outcome="error"]');
      await note.waitFor({ timeout: 30_000 });
      assert.match(await note.innerText(), /session not found/);
      await row.waitFor({ state: 'detached', timeout: 30_000 });
      break;
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
});
