// Deployments (issue 28) in a real browser: Deploy from the test form lands on the
// deployment's page with its first key shown once; the curl example is copied with one
// press (and carries the key); a client (node's fetch) sends requests to the gateway with
// that key, and the page's requests and spend move without a reload (the live channel);
// the page reads whole at phone width; Stop (confirmed) ends it, and the Deployments tab
// lists it stopped. A tuned test shows its tuning table on its benchmark's page, and Deploy
// there starts a deployment with the winning settings.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, eventually, launchBrowser, repoRoot, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

const SHOTS = path.join(repoRoot, 'tests/e2e/artifacts/deploy');

/** A chat completion through the gateway, as an OpenAI client sends it. */
async function chat(url, key, { stream = false } = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'any', stream, max_tokens: 16, messages: [{ role: 'user', content: 'Say hello' }] }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, body: await r.text() };
}

describe('deployments in the dashboard', () => {
  let server;
  let browser;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // Guards and the meter's spend checked every second, so spend moves while the test watches.
    server = await startDashboard({ args: ['--deploy-check-every', '1'] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('deploys from the form, serves a client, shows usage live and stops', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);

    // The test form, with its guards, and Deploy beside Run.
    const form = page.locator('.test-form');
    await form.locator('input[name="config[max_price]"]').fill('3');
    await form.locator('input[name="guards[idle_minutes]"]').fill('20');
    await form.locator('input[name="guards[max_spend_usd]"]').fill('5');
    await form.locator('[data-testid="deploy"]').click();
    await page.waitForURL(/\/deployments\/dep-[0-9a-f]+$/, { timeout: 30_000 });
    const id = page.url().split('/').pop();

    // The first key, once, with the warning; the examples carry it.
    const key = (await page.locator('[data-testid="fresh-key"]').innerText()).trim();
    assert.match(key, /^gdk-[0-9a-f]+$/);
    assert.match(await page.locator('.fresh-key').innerText(), /Copy it now; it is not shown again/);
    const endpoint = `${server.url}/serve/${id}/v1`;
    assert.equal((await page.locator('[data-testid="endpoint"]').innerText()).trim(), endpoint);

    // Copy the curl example with one press: the clipboard holds it, key included.
    const copy = page.locator('[data-testid="copy-curl"]');
    await copy.click();
    await eventually(async () => (await copy.getAttribute('data-copied')) === 'true', { what: 'Copied shown' });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, await page.locator('textarea[data-example="curl"]').inputValue());
    assert.ok(copied.startsWith(`curl ${endpoint}/chat/completions`), copied);
    const bearer = copied.match(/Authorization: Bearer (gdk-[0-9a-f]+)/)?.[1];
    assert.equal(bearer, key, 'the copied example carries the new key');

    // Serving: a client sends requests with the key copied.
    const status = page.locator('[data-testid="deployment-status"]');
    await eventually(async () => (await status.innerText()) === 'serving', { timeout: 120_000, what: 'serving' });
    // A marker that a reload would wipe.
    await page.evaluate(() => { window.__notReloaded = true; });
    const requests = page.locator('[data-testid="meter-requests"]');
    const spend = page.locator('[data-testid="meter-spend"]');
    const spentBefore = Number(await spend.getAttribute('data-usd'));
    assert.equal(Number(await requests.getAttribute('data-n')), 0);
    for (const stream of [false, true, false]) {
      const answer = await chat(`${endpoint}/chat/completions`, bearer, { stream });
      assert.equal(answer.status, 200, answer.body);
    }
    const refused = await chat(`${endpoint}/chat/completions`, 'gdk-not-a-key');
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.body).error.code, 'invalid_api_key');

    // The page moves by itself: requests counted, spend up, tokens and served cost shown.
    await eventually(async () => Number(await requests.getAttribute('data-n')) >= 3, { timeout: 20_000, what: '3 requests shown' });
    await eventually(async () => Number(await spend.getAttribute('data-usd')) > spentBefore, { timeout: 20_000, what: 'spend moving' });
    assert.match(await requests.innerText(), /^\d+ requests$/);
    assert.match(await page.locator('[data-testid="meter-output"]').innerText(), /^[1-9]\d* output tokens$/);
    assert.match(await page.locator('[data-testid="served-cost"]').innerText(), /^\$\d+\.\d{3} per 1M output tokens$/);
    assert.match(await page.locator('[data-testid="deployment-ends"]').innerText(), /^in .+: idle for 20 min$/);
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'no reload');

    // At phone width the page reads whole (nothing wider than the window).
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const small = await phone.newPage();
    await small.goto(page.url());
    await waitHydrated(small);
    await small.screenshot({ path: path.join(SHOTS, 'deployment-phone.png'), fullPage: true });
    const width = await small.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(width[0] <= width[1], `page ${width[0]} px wide in a ${width[1]} px window`);
    assert.doesNotMatch(await small.locator('main').innerText(), /gdk-[0-9a-f]{20}/, 'the key is not shown again');
    await phone.close();
    await page.screenshot({ path: path.join(SHOTS, 'deployment-serving.png'), fullPage: true });

    // Stop, confirmed.
    await page.locator('[data-testid="stop"]').click();
    await page.locator('[data-testid="confirm-stop"]').click();
    await eventually(async () => (await status.innerText()) === 'stopped', { timeout: 90_000, what: 'stopped' });
    assert.match(await page.locator('[data-testid="stop-reason"]').innerText(), /stopped by a person/);
    assert.equal(await page.locator('[data-testid="stop"]').count(), 0, 'no Stop once ended');
    const after = await chat(`${endpoint}/chat/completions`, bearer);
    assert.equal(after.status, 410, after.body);

    // The Deployments tab lists it, stopped.
    await page.getByRole('link', { name: 'Deployments', exact: true }).click();
    await page.waitForURL(`${server.url}/deployments`);
    const row = page.locator(`tr[data-deployment="${id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'stopped');
    assert.match(await row.innerText(), /ended: stopped by a person/);
    await page.screenshot({ path: path.join(SHOTS, 'deployments.png'), fullPage: true });
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
    await context.close();
  });

  it('shows a tuned test\'s tuning table and deploys its best settings', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);

    // The form offers Tune, empty (no tuning) until a budget is written.
    const form = page.locator('.test-form');
    assert.equal(await form.locator('[data-testid="tune-usd"]').inputValue(), '');
    assert.equal(await form.locator('input[name="config[tune][seconds]"]').inputValue(), '1800');

    // A test with its own limit of 2 sequences at once, tuned within $0.50, on the GPU type
    // with the most offers the model fits (at this simulator speed the offers turn over
    // within a minute, and Deploy rents the same GPU type or nothing), started through REST;
    // the dashboard shows it live.
    const listed = (await api(`${server.url}/api/inventory?model=qwen2.5-0.5b&max_price=3`)).body;
    const fitting = new Set(listed.fit.fitting);
    const counts = new Map();
    for (const o of listed.offers.filter((o) => fitting.has(o.id) && o.gpu_count === 1)) {
      counts.set(o.gpu_type, [...(counts.get(o.gpu_type) ?? []), o]);
    }
    const [gpu, offers] = [...counts.entries()].sort((a, b) => b[1].length - a[1].length)[0];
    const started = await api(`${server.url}/api/runs`, {
      method: 'POST',
      body: {
        model: 'qwen2.5-0.5b', max_price: 3, capacity_search: true,
        pin_gpu: { gpu_type: gpu, gpu_count: 1, price_per_hour: offers[0].price_per_hour },
        settings: { max_num_seqs: 2 }, tune: { usd_budget: 0.5, seconds: 1800 },
      },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const run = await eventually(async () => {
      const now = (await api(`${server.url}/api/runs/${started.body.id}`)).body;
      return ['passed', 'failed', 'cancelled'].includes(now.status) && now;
    }, { timeout: 240_000, what: 'the tuned test ended' });
    assert.equal(run.status, 'passed', JSON.stringify(run.error));

    // From the result to the benchmark: its tuning table, a row a setting tried, one best.
    await page.locator(`a[data-testid="result-benchmark"][href="/benchmarks/${run.benchmark_id}"]`).click();
    await page.waitForURL(/\/benchmarks\/bench-[0-9a-f]+$/);
    const benchmarkId = page.url().split('/').pop();
    const table = page.locator('[data-testid="tuning"]');
    await table.waitFor();
    const points = table.locator('[data-testid="tuning-point"]');
    const record = (await api(`${server.url}/api/benchmarks/${benchmarkId}`)).body.benchmark;
    const tuning = record.tuning;
    assert.equal(await points.count(), tuning.points.length);
    assert.ok(tuning.points.length >= 2, JSON.stringify(tuning.points));
    const best = points.nth(tuning.best);
    const winner = tuning.points[tuning.best];
    assert.equal(await best.getAttribute('data-best'), 'true');
    assert.equal(await table.locator('[data-best="true"]').count(), 1);
    assert.ok((await best.innerText()).startsWith(winner.change), await best.innerText());
    const summary = await page.locator('[data-testid="tuning-summary"]').innerText();
    assert.ok(summary.startsWith(`Best: ${winner.change}`), summary);
    await page.screenshot({ path: path.join(SHOTS, 'tuning.png'), fullPage: true });

    // Deploy with the winning settings, the price on the button (which setting wins on this
    // small, fast model is the measurements' noise: the test follows the record).
    const card = page.locator('[data-testid="deploy-benchmark"]');
    const button = card.locator('[data-testid="deploy-benchmark-button"]');
    const label = tuning.best > 0 ? 'Deploy with the best settings' : 'Deploy with these settings';
    assert.match(await button.innerText(), new RegExp(`^${label} \\(measured at \\$\\d+\\.\\d+/h\\)$`));
    await card.locator('input[name="guards[idle_minutes]"]').fill('20');
    // At this simulator speed the broker's offers turn over within a minute: Deploy rents the
    // same GPU type (any provider's) or nothing (pinned_offer_gone), so it is pressed once
    // two such offers are listed that the model fits.
    const query = new URLSearchParams({ model: record.model, gpu_type: record.gpu_type });
    await eventually(async () => {
      const listed = (await api(`${server.url}/api/inventory?${query}`)).body;
      const fitting = new Set(listed.fit?.fitting ?? []);
      return listed.offers.filter((o) => fitting.has(o.id) && o.gpu_type === record.gpu_type
        && o.gpu_count === record.gpu_count && o.price_per_hour <= Math.max(3, record.price_per_hour)).length >= 2;
    }, { timeout: 90_000, interval: 1000, what: `two ${record.gpu_type} offers` });
    await button.click();
    await page.waitForURL(/\/deployments\/dep-[0-9a-f]+$/, { timeout: 30_000 });
    const id = page.url().split('/').pop();
    const key = (await page.locator('[data-testid="fresh-key"]').innerText()).trim();
    const status = page.locator('[data-testid="deployment-status"]');
    const serving = await eventually(async () => {
      const now = (await api(`${server.url}/api/deployments/${id}`)).body;
      assert.ok(!['failed', 'stopped'].includes(now.status), JSON.stringify(now));
      return (await status.innerText()) === 'serving' && now;
    }, { timeout: 120_000, what: 'serving' });
    const deployment = (await api(`${server.url}/api/deployments/${id}`)).body;
    assert.ok(deployment.gpu?.includes(record.gpu_type), `on the GPU type measured: ${deployment.gpu} vs ${record.gpu_type}`);
    const provisioned = (await api(`${server.url}/api/runs/${deployment.run_id}`)).body;
    const own = (await api(`${server.url}/api/runs/${record.run_id}`)).body.config.settings;
    assert.deepEqual(provisioned.config.settings, winner.settings, 'started with the winning settings');
    assert.equal(provisioned.config.quantization ?? null, winner.weights ?? null, 'and its weights');
    assert.equal(own.max_num_seqs, 2, "the test's own limit");
    if (tuning.best > 0) assert.ok(winner.weights || JSON.stringify(winner.settings) !== JSON.stringify(own), 'the winner differs');
    assert.equal(await page.locator('[data-testid="deployment-settings"]').innerText(), deployment.settings ?? "the engine's defaults");
    assert.match(deployment.settings, /\bmax \d+ sequences\b/);
    const answer = await chat(`${server.url}/serve/${id}/v1/chat/completions`, key);
    assert.equal(answer.status, 200, answer.body);

    // Stopped, its session destroyed and confirmed by the broker.
    await page.locator('[data-testid="stop"]').click();
    await page.locator('[data-testid="confirm-stop"]').click();
    await eventually(async () => (await status.innerText()) === 'stopped', { timeout: 90_000, what: 'stopped' });
    await eventually(async () => (await api(`${server.url}/api/runs/${deployment.run_id}`)).body.cleanup?.destroyed_confirmed,
      { timeout: 30_000, what: 'cleanup confirmed' });
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
    await context.close();
  });
});
