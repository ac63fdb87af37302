// The Inventory tab in the browser: filters narrow the table, live in the URL, and survive
// a reload.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

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
});
