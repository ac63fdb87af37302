// A deployment test in the browser on the embedded simulator.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  api, eventually, launchBrowser, startDashboard, waitHydrated, watchErrors,
} from '../lib/harness.js';

describe('deployment test', () => {
  let server;
  let browser;

  before(async () => {
    server = await startDashboard({ simSpeed: 40, args: ['--bench-requests', '6'] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('runs all 11 steps, survives a reload mid-run, and shows the benchmark', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.getByRole('button', { name: /Run test/ }).click();
    // Mid-run: some steps done, a log on screen.
    await page.locator('[data-step="wait_for_running"][data-status="complete"]').waitFor({ timeout: 60_000 });
    const stepsBefore = await page.locator('[data-step][data-status="complete"]').count();
    const linesBefore = await page.locator('.log .line').count();
    assert.ok(stepsBefore >= 5 && linesBefore >= 5, `${stepsBefore} steps, ${linesBefore} lines before the reload`);

    // The server-rendered page (no script has run on it) already has the steps and the log.
    const html = await (await fetch(`${server.url}/`)).text();
    const rendered = (html.match(/data-status="complete"/g) ?? []).length;
    assert.ok(rendered >= stepsBefore, `${rendered} steps rendered by the server, ${stepsBefore} seen`);
    assert.ok((html.match(/class="line/g) ?? []).length >= linesBefore, 'the log so far is rendered');
    await page.reload();
    await waitHydrated(page);

    await page.locator('[data-result="passed"]').waitFor({ timeout: 120_000 });
    const statuses = await page.locator('[data-step]').evaluateAll((els) => els.map((e) => e.dataset.status));
    assert.equal(statuses.length, 11);
    assert.deepEqual([...new Set(statuses)], ['complete']);
    const banner = await page.locator('[data-result]').innerText();
    assert.match(banner, /TTFT \d+ ms/);
    assert.match(banner, /TPOT [\d.]+ ms/);
    assert.match(banner, /output tok\/s/);
    assert.match(banner, /\$[\d.]+ per 1M output tokens/);
    assert.match(banner, /destroyed/);

    // The whole log downloads, and it is what the page showed, line for line.
    await page.locator('.log .line', { hasText: 'Run Passed' }).waitFor();
    const shown = await page.locator('.log .line').evaluateAll((els) =>
      els.map((e) => e.innerText.replace(/^\d\d:\d\d:\d\d\s+/, '')));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'text', exact: true }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^run-[0-9a-f]+\.log$/);
    const text = await readFile(await download.path(), 'utf8');
    const downloaded = text.trimEnd().split('\n');
    assert.equal(downloaded.length, shown.length, 'as many lines as the page showed');
    downloaded.forEach((line, i) => assert.ok(line.endsWith(` ${shown[i]}`), `line ${i + 1}: ${line} vs ${shown[i]}`));

    await page.getByRole('link', { name: 'Benchmarks', exact: true }).click();
    const row = page.locator('tr[data-benchmark]');
    await row.first().waitFor();
    assert.match(await row.first().locator('.ttft').innerText(), /\d+ ms/);
    assert.match(await row.first().locator('.tpot').innerText(), /[\d.]+ ms/);
    assert.match(await row.first().locator('.tps').innerText(), /\d+ @ c=\d/);
    assert.match(await row.first().locator('.cost').innerText(), /\$[\d.]+/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('keeps every run on the history page, filtered in the URL through a reload', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.waitForURL(/\/runs$/);
    const passed = page.locator('tr[data-run][data-status="passed"]');
    await passed.first().waitFor();
    const id = await passed.first().getAttribute('data-run');
    const form = page.locator('form[data-run-filters]');
    await form.locator('select[name="status"]').selectOption('failed');
    await form.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=failed/);
    await page.locator('[data-runs="0"]').waitFor();
    await page.reload();
    await waitHydrated(page);
    assert.equal(await page.locator('select[name="status"]').inputValue(), 'failed', 'the filter survives a reload');
    assert.equal(await page.locator('tr[data-run]').count(), 0);
    await page.goto(`${server.url}/runs?model=${encodeURIComponent('Qwen/Qwen2.5-0.5B-Instruct')}&status=passed`);
    await waitHydrated(page);
    await page.locator(`tr[data-run="${id}"]`).waitFor();
    await page.locator(`tr[data-run="${id}"] a`).first().click();
    await page.waitForURL(new RegExp(`/runs/${id}$`));
    await page.locator('[data-result="passed"]').waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('tests any model id typed into the form, and says why a bad one cannot run', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    const model = page.locator('input[name="config[model]"]');
    assert.equal(await model.inputValue(), 'Qwen/Qwen2.5-0.5B-Instruct', 'a preset to start with');
    assert.ok(await page.locator('datalist#test-models option').count() >= 5, 'presets offered');
    await model.fill('not a model!');
    await page.getByRole('button', { name: /Run test/ }).click();
    await page.locator('.test-form .note.error', { hasText: 'invalid_model_id' }).waitFor();
    // Not a preset: a base model whose size is in its name.
    await model.fill('Qwen/Qwen2.5-0.5B');
    await page.getByRole('button', { name: /Run test/ }).click();
    const run = await eventually(async () => {
      const runs = (await api(`${server.url}/api/runs?model=${encodeURIComponent('Qwen/Qwen2.5-0.5B')}`)).body;
      return runs[0];
    }, { timeout: 30_000, what: 'the run of the typed model' });
    assert.equal(run.config.model, 'Qwen/Qwen2.5-0.5B');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await eventually(async () => (await api(`${server.url}/api/runs/${run.id}`)).body.status === 'cancelled',
      { timeout: 120_000, what: 'the run cancelled and cleaned up' });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
