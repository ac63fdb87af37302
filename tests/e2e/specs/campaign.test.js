// Campaigns (issue 29) in a real browser: the Campaigns tab plans a campaign (the
// candidates ranked by estimate, nothing rented), two are kept and the rest left out, Start
// opens the campaign's page; the candidates' steps and the spend move there without a
// reload (the live channel); it ends with the frontier, the recommendation and each
// candidate's estimate error; the bundle downloads as JSON that runs it again; the page
// reads whole at phone width; and the tab lists the campaign, finished.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, eventually, launchBrowser, repoRoot, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

const SHOTS = path.join(repoRoot, 'tests/e2e/artifacts/campaign');

describe('campaigns in the dashboard', () => {
  let server;
  let browser;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startDashboard();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('plans, starts, follows live and answers a campaign, with its bundle', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/campaigns`);
    await waitHydrated(page);
    assert.match(await page.locator('main').innerText(), /No campaigns yet/);

    // The form: a small model, a short workload, a latency target every GPU meets.
    const form = page.locator('[data-testid="campaign-form"]');
    await form.locator('input[name="model"]').fill('qwen2.5-0.5b');
    await form.locator('input[name="input_tokens"]').fill('64');
    await form.locator('input[name="output_tokens"]').fill('16');
    await form.locator('input[name="tpot_p95_ms"]').fill('60');
    await form.locator('input[name="ttft_p95_ms"]').fill('2000');
    await form.locator('[data-testid="plan-campaign"]').click();
    const plan = page.locator('[data-testid="campaign-plan"]');
    await plan.waitFor({ timeout: 30_000 });
    const rows = plan.locator('tbody tr');
    const n = await rows.count();
    assert.ok(n >= 3, `${n} candidates planned`);
    assert.match(await rows.first().innerText(), /\$/, 'each with its estimate');
    assert.deepEqual((await api(`${server.url}/api/sessions`)).body.sessions ?? [], [], 'planning rents nothing');

    // Keep two candidates with a second offer each (the simulator's broker lists stale
    // offers, as the real one does: a run whose offer is gone rents the next of its GPU
    // type), not on Blue Lobster (whose creates take up to a minute), leave the rest out.
    const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText)));
    const kept = cells.map((c, i) => [c, i]).filter(([c]) => !/Blue Lobster/.test(c[1]) && Number(c[3]) >= 2)
      .slice(0, 2).map(([, i]) => i);
    assert.equal(kept.length, 2, JSON.stringify(cells));
    for (let i = 0; i < n; i += 1) if (!kept.includes(i)) await rows.nth(i).locator('input[type="checkbox"]').uncheck();
    const start = page.locator('[data-testid="start-campaign"]');
    assert.match(await start.innerText(), /measure 2 candidates/);
    await start.click();
    await page.waitForURL(/\/campaigns\/camp-[0-9a-f]+$/, { timeout: 30_000 });
    await waitHydrated(page);
    const id = page.url().split('/').pop();
    await page.screenshot({ path: path.join(SHOTS, 'campaign-started.png'), fullPage: true });
    const candidates = page.locator('table.candidates tbody tr');
    assert.equal(await candidates.count(), 2, 'the two candidates kept, nothing else');

    // Live, without a reload: a candidate's run step, then spend, then the end.
    const step = await eventually(async () => {
      const text = await page.locator('table.candidates .step').allInnerTexts();
      return text.find((t) => t.trim().length > 3);
    }, { timeout: 60_000, what: 'a running candidate showing its step' });
    assert.match(step, /·/);
    await eventually(async () => Number(await page.locator('[data-testid="campaign-spend"]').getAttribute('data-usd')) > 0,
      { timeout: 60_000, what: 'the spend moving' });
    await eventually(async () => (await page.locator('[data-testid="campaign-status"]').innerText()) === 'finished',
      { timeout: 240_000, what: 'the campaign to finish' });
    await page.screenshot({ path: path.join(SHOTS, 'campaign-finished.png'), fullPage: true });

    // The answer: the recommendation, the frontier, what finding out cost, the estimate's error.
    const answer = page.locator('[data-testid="campaign-answer"]');
    assert.match(await answer.locator('li[data-goal="cost"]').innerText(), /For cost: .+\$/);
    assert.match(await page.locator('[data-testid="campaign-cost"]').innerText(), /Finding out cost \$[0-9.]+ of the \$2/);
    assert.ok(Number(await page.locator('svg.frontier-chart').getAttribute('data-points')) >= 1);
    const measured = page.locator('table.candidates tbody tr[data-status="measured"]');
    assert.ok(await measured.count() >= 1);
    assert.match(await measured.first().locator('[data-testid="estimate-error"]').innerText(), /^[+−-]\d+ %$/);
    const stored = (await api(`${server.url}/api/campaigns/${id}`)).body;
    assert.equal(stored.status, 'finished');
    const spend = Number(await page.locator('[data-testid="campaign-spend"]').getAttribute('data-usd'));
    assert.ok(Math.abs(spend - stored.spend_usd) < 1e-9, `${spend} on the page, ${stored.spend_usd} stored`);
    // Every rental destroyed (the sessions list catches up with the broker in a moment).
    await eventually(async () => (await api(`${server.url}/api/sessions`)).body.sessions
      .every((s) => s.status !== 'running'), { timeout: 30_000, what: 'no session left running' });

    // The bundle: downloaded as JSON that runs it again.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="campaign-bundle"]').click(),
    ]);
    assert.equal(download.suggestedFilename(), `${id}.json`);
    const bundle = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(bundle.kind, 'gpu-deploy-llm campaign bundle');
    assert.equal(bundle.request.model, 'qwen2.5-0.5b');
    assert.equal(bundle.request.only.length, 2);
    assert.equal(bundle.request.exclude.length, n - 2);
    assert.equal(bundle.command, `gpu-deploy-llm campaign --from ${id}.json`);
    assert.deepEqual(errors, []);

    // At phone width the page reads whole (tables scroll inside their cards).
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const small = await phone.newPage();
    await small.goto(`${server.url}/campaigns/${id}`);
    await waitHydrated(small);
    await small.screenshot({ path: path.join(SHOTS, 'campaign-phone.png'), fullPage: true });
    const width = await small.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(width[0] <= width[1], `page ${width[0]} px wide in a ${width[1]} px window`);
    await phone.close();

    // The tab lists it, finished, with its cheapest.
    await page.goto(`${server.url}/campaigns`);
    await waitHydrated(page);
    const row = page.locator(`tr[data-campaign="${id}"]`);
    assert.equal(await row.getAttribute('data-status'), 'finished');
    assert.match(await row.innerText(), /\$[0-9.]+ \/ 1M/);
    await context.close();
  });
});
