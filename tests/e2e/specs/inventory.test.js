// The Inventory tab in the browser: filters narrow the table, live in the URL, and survive
// a reload.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, eventually, launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

describe('inventory', () => {
  let server;
  let browser;

  before(async () => {
    // At real speed the broker's inventory cache lives a minute: the offers hold still.
    server = await startDashboard({ simSpeed: 1 });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('narrows the table with filters kept in the URL, through a reload', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/inventory`);
    await waitHydrated(page);
    const rows = page.locator('tr[data-offer]');
    await rows.first().waitFor();
    const all = await rows.count();
    await page.locator('select[name="provider"]').selectOption('vastai');
    await page.locator('input[name="min_vram"]').fill('16');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/provider=vastai/);
    assert.match(page.url(), /min_vram=16/);
    await rows.first().waitFor();
    const narrowed = await rows.evaluateAll((els) => els.map((e) => [e.dataset.provider, Number(e.dataset.vram)]));
    assert.ok(narrowed.length > 0 && narrowed.length < all, `${narrowed.length} of ${all}`);
    assert.ok(narrowed.every(([p, gb]) => p === 'vastai' && gb >= 16), JSON.stringify(narrowed));
    await page.reload();
    await waitHydrated(page);
    await rows.first().waitFor();
    assert.equal(await rows.count(), narrowed.length, 'the same view after a reload');
    assert.equal(await page.locator('select[name="provider"]').inputValue(), 'vastai');
    assert.equal(await page.locator('input[name="min_vram"]').inputValue(), '16');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('marks only the offers with enough VRAM the engine can run, says why of the others, and tests on the one chosen', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/inventory`);
    await waitHydrated(page);
    await page.locator('input[name="model"]').fill('qwen2.5-7b');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/model=qwen2.5-7b/);
    const summary = page.locator('[data-fit-vram]');
    await summary.waitFor();
    const need = Number(await summary.getAttribute('data-fit-vram'));
    assert.match(await summary.innerText(), new RegExp(`needs ${need} GB VRAM = .+ GB weights`));
    const rows = await page.locator('tr[data-offer]').evaluateAll((els) => els.map((e) => ({
      id: e.dataset.offer, provider: e.dataset.provider, vram: Number(e.dataset.vram), fits: e.dataset.fits,
      why: e.querySelector('[data-left-out]')?.getAttribute('title') ?? null,
    })));
    const fitting = rows.filter((r) => r.fits === 'yes');
    assert.ok(fitting.length > 0 && fitting.length < rows.length, `${fitting.length} of ${rows.length}`);
    // Enough VRAM fits unless the engine cannot run there (the rule a test applies before
    // renting): those say why, and the summary counts them.
    const leftOut = rows.filter((r) => r.why !== null);
    assert.ok(leftOut.length > 0, 'the simulator lists hosts whose driver is too old for the default vLLM');
    for (const r of rows) {
      assert.equal(r.fits, r.vram >= need && r.why === null ? 'yes' : 'no', JSON.stringify(r));
      if (r.why !== null) assert.ok(r.vram >= need && /needs|no kernels/.test(r.why), JSON.stringify(r));
    }
    assert.equal(Number(await summary.getAttribute('data-fit-count')), fitting.length);
    assert.match(await page.getByTestId('fit-left-out').innerText(), new RegExp(`^${leftOut.length} offers? left out: `));
    // "Test on this offer" starts a run pinned to it, shown on the dashboard.
    // One the runner can rent: available, on Vast.ai, with a driver new enough for vLLM.
    const listed = (await api(`${server.url}/api/inventory?model=qwen2.5-7b&provider=vastai`)).body;
    const usable = listed.offers.find((o) => listed.fit.fitting.includes(o.id) && o.available
      && (o.cuda_version ?? 99) >= 12.1 && fitting.some((r) => r.id === o.id));
    const chosen = fitting.find((r) => r.id === usable.id);
    // The button asks first, with the GPU, the provider and the price: declining starts nothing.
    const button = page.locator(`[data-test-offer="${chosen.id}"]`);
    const asked = await button.getAttribute('data-confirm');
    const listedOffer = listed.offers.find((o) => o.id === chosen.id);
    assert.match(asked, new RegExp(`^Rent ${listedOffer.gpu_type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .* at \\$${listedOffer.price_per_hour.toFixed(3)}/h\\?`));
    const runsBefore = (await api(`${server.url}/api/runs`)).body.length;
    page.once('dialog', (d) => { assert.equal(d.message(), asked); d.dismiss(); });
    await button.click();
    await page.waitForTimeout(500);
    assert.equal((await api(`${server.url}/api/runs`)).body.length, runsBefore, 'declined: no run started');
    page.once('dialog', (d) => { assert.equal(d.message(), asked); d.accept(); });
    await button.click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.locator('[data-run]').waitFor({ timeout: 30_000 });
    const runs = (await api(`${server.url}/api/runs?limit=1`)).body;
    assert.equal(runs[0].config.pin_offer, chosen.id);
    assert.equal(runs[0].config.model, 'Qwen/Qwen2.5-7B-Instruct');
    await eventually(async () => {
      const log = await (await fetch(`${server.url}/api/runs/${runs[0].id}/logs?format=text`)).text();
      return log.includes(`offer ${chosen.id}: the offer you chose`);
    }, { what: 'the pinned offer selected', timeout: 30_000 });
    await api(`${server.url}/api/runs/${runs[0].id}/cancel`, { method: 'POST' });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
