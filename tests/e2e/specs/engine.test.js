// The test form's engine part (issue 27): a run started with a non-default context length
// in the folded engine settings shows it, and the engine, on its run page.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  api, eventually, launchBrowser, startDashboard, waitHydrated, watchErrors,
} from '../lib/harness.js';

describe('engine settings on the form', () => {
  let server;
  let browser;

  before(async () => {
    server = await startDashboard({ simSpeed: 40 });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('starts a run with context length 8192 and sees it on the run page', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    const form = page.locator('.test-form');
    // The versions of the engine chosen, the default named.
    const version = form.getByTestId('engine-version');
    assert.match(await version.locator('option[value="0.31.0"]').textContent(), /^0\.31\.0 \(default, CUDA 13\.0\+\)$/);
    await form.getByTestId('engine').selectOption('sglang');
    assert.equal(await version.inputValue(), '', 'the other engine\'s version is not kept');
    assert.ok(await version.locator('optgroup[label="vLLM"]').evaluate((g) => g.disabled), 'vLLM versions are not offered for SGLang');
    await form.getByTestId('engine').selectOption('vllm');

    const context = form.locator('input[name="config[settings][max_model_len]"]');
    assert.equal(await context.isVisible(), false, 'the settings start folded');
    await form.locator('summary', { hasText: 'Engine settings' }).click();
    await context.fill('8192');
    assert.match(await form.locator('.engine-settings').innerText(), /code on the rented host/);
    await page.getByRole('button', { name: /Run test/ }).click();

    const run = await eventually(async () => (await api(`${server.url}/api/runs`)).body[0],
      { timeout: 30_000, what: 'the run started' });
    assert.equal(run.config.settings.max_model_len, 8192);
    assert.equal(run.config.engine_version, '0.31.0', 'the run records the version it deploys');

    await page.goto(`${server.url}/runs/${run.id}`);
    await waitHydrated(page);
    assert.equal(await page.getByTestId('run-settings').innerText(), 'context 8,192');
    assert.equal(await page.getByTestId('run-engine').innerText(), 'vLLM 0.31.0');

    await api(`${server.url}/api/runs/${run.id}/cancel`, { method: 'POST', body: {} });
    await eventually(async () => (await api(`${server.url}/api/runs/${run.id}`)).body.status === 'cancelled',
      { timeout: 120_000, what: 'the run cancelled and cleaned up' });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
