// The controls a paying user relies on, in a real browser: the failure banner with a kept
// instance ("Clean up now" / "Leave running"), Cancel (after a reload too), a page that
// never polls, and a frozen server that the page notices and reconnects to.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, eventually, launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

describe('run controls', () => {
  let server;
  let browser;

  before(async () => {
    server = await startDashboard({ simSpeed: 40, args: ['--test-hooks', '--bench-requests', '4'] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const runs = async () => (await api(`${server.url}/api/runs`)).body;
  const sessionStatus = async (id) => {
    const all = (await api(`${server.url}/api/sessions?fresh=true`)).body.sessions;
    return all.find((s) => s.id === id)?.status;
  };

  it('a failure with keep-on-failure offers Clean up now, which destroys the instance', async () => {
    const fail = await fetch(`${server.url}/_test/runs/fail_next`, { method: 'POST', body: 'verify_deployment' });
    assert.equal(fail.status, 204);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.locator('input[name="config[keep_on_failure]"]').check();
    await page.getByRole('button', { name: /Run test/ }).click();
    const banner = page.locator('[data-result="failed"]');
    await banner.waitFor({ timeout: 120_000 });
    assert.match(await banner.locator('.headline').innerText(), /Test failed: Verify deployment/);
    assert.match(await page.locator('[data-step="verify_deployment"]').innerText(), /injected_failure/);
    const [run] = await runs();
    assert.equal(run.cleanup.kept, true, 'kept for inspection');
    assert.equal(await sessionStatus(run.session_id), 'running', 'the instance is still up');
    await page.getByRole('button', { name: 'Clean up now' }).click();
    await banner.getByText(/destroyed/).waitFor({ timeout: 30_000 });
    await eventually(async () => (await sessionStatus(run.session_id)) === 'stopped', { timeout: 30_000, what: 'session stopped' });
    assert.equal(await page.getByRole('button', { name: 'Clean up now' }).count(), 0, 'the offer is gone once used');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('Leave running hides the offer and leaves the instance alone', async () => {
    const fail = await fetch(`${server.url}/_test/runs/fail_next`, { method: 'POST', body: 'benchmark' });
    assert.equal(fail.status, 204);
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.locator('input[name="config[keep_on_failure]"]').check();
    await page.getByRole('button', { name: /Run test/ }).click();
    await page.locator('[data-result="failed"]').waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Leave running' }).click();
    assert.equal(await page.getByRole('button', { name: 'Clean up now' }).count(), 0);
    const [run] = await runs();
    assert.ok(run.steps.some((s) => s.name === 'benchmark' && s.status === 'failed'));
    assert.equal(await sessionStatus(run.session_id), 'running', 'left running as asked');
    // Tidy up through the API so the suite leaves nothing behind.
    const r = await fetch(`${server.url}/_fn/destroy_session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `id=${encodeURIComponent(run.session_id)}`,
    });
    assert.equal(r.status, 200);
    await page.close();
  });

  it('Cancel after a reload stops the run and destroys its session', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.getByRole('button', { name: /Run test/ }).click();
    await page.locator('[data-step="wait_for_running"][data-status="complete"]').waitFor({ timeout: 60_000 });
    await page.reload();
    await waitHydrated(page);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const banner = page.locator('[data-result="cancelled"]');
    await banner.waitFor({ timeout: 60_000 });
    assert.match(await banner.innerText(), /destroyed/);
    const [run] = await runs();
    assert.equal(run.status, 'cancelled');
    assert.equal(run.cleanup.destroyed_confirmed, true);
    assert.equal(await sessionStatus(run.session_id), 'stopped');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('two browsers watching one run see the same steps, log and result', async () => {
    const [a, b] = [await browser.newPage(), await browser.newPage()];
    for (const page of [a, b]) {
      await page.goto(`${server.url}/`);
      await waitHydrated(page);
    }
    await a.getByRole('button', { name: /Run test/ }).click();
    // The other page follows the run it did not start, live.
    await b.locator('[data-step="connect_ssh"][data-status="complete"]').waitFor({ timeout: 60_000 });
    for (const page of [a, b]) await page.locator('[data-result="passed"]').waitFor({ timeout: 120_000 });
    const view = (page) => page.evaluate(() => ({
      steps: [...document.querySelectorAll('[data-step]')].map((e) => `${e.dataset.step}:${e.dataset.status}`),
      log: [...document.querySelectorAll('.log .line')].map((e) => e.textContent),
      result: document.querySelector('[data-result]').textContent,
    }));
    const [seenA, seenB] = [await view(a), await view(b)];
    assert.equal(seenA.steps.length, 11);
    assert.ok(seenA.log.length > 10, `${seenA.log.length} log lines`);
    assert.deepEqual(seenB, seenA);
    await a.close();
    await b.close();
  });

  it('a double-click on Run starts one run and shows no error', async () => {
    const before = (await runs()).length;
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.getByRole('button', { name: /Run test/ }).dblclick();
    await eventually(async () => {
      const all = await runs();
      return all.length > before && all.every((r) => ['passed', 'failed', 'cancelled', 'interrupted'].includes(r.status));
    }, { timeout: 120_000, what: 'the run finished' });
    assert.equal((await runs()).length, before + 1, 'one run, not two');
    await page.locator('[data-result="passed"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.test-form [role="alert"]').count(), 0, 'no "a run is in progress" error either');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a frozen server is noticed by missed pongs and the page reconnects when it thaws', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    const live = page.locator('.live');
    await page.locator('.live[data-conn="connected"]').waitFor({ timeout: 20_000 });
    server.signal('SIGSTOP');
    try {
      // Pings every 5 s, reconnect after 3 missed pongs.
      await page.locator('.live:not([data-conn="connected"])').waitFor({ timeout: 40_000 });
    } finally {
      server.signal('SIGCONT');
    }
    await page.locator('.live[data-conn="connected"]').waitFor({ timeout: 40_000 });
    assert.match(await live.innerText(), /ms/);
    await page.close();
  });

  it('nothing in the page polls: a minute of requests is the WebSocket alone', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.locator('.live[data-conn="connected"]').waitFor({ timeout: 20_000 });
    const requests = [];
    const sockets = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await new Promise((r) => setTimeout(r, 60_000));
    assert.deepEqual(requests, [], 'no HTTP request in a minute');
    assert.deepEqual(sockets, [], 'the one WebSocket stayed up');
    assert.equal(await page.locator('.live').getAttribute('data-conn'), 'connected');
    await page.close();
  });
});
