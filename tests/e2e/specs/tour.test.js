// Every page at every width: the dashboard before, during and after a run, and every other
// page, at 1366×900 and at phone width (390×844), in light and in dark. On each: no
// horizontal overflow (the page is never wider than the window), and screenshots saved as
// test artifacts (tests/e2e/artifacts/tour/, for a person to look at). On the dashboard
// the test form's controls are all visible (not cut off, not under another card; its folded
// engine settings opened); on a benchmark the histograms' bars are drawn as bars.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, eventually, launchBrowser, repoRoot, startDashboard, waitHydrated, watchErrors } from '../lib/harness.js';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const SHOTS = path.join(repoRoot, 'tests/e2e/artifacts/tour');

/** The four ways a person sees a page. */
const VIEWS = [
  { name: 'wide-light', viewport: { width: 1366, height: 900 }, colorScheme: 'light' },
  { name: 'wide-dark', viewport: { width: 1366, height: 900 }, colorScheme: 'dark' },
  { name: 'phone-light', viewport: { width: 390, height: 844 }, colorScheme: 'light' },
  { name: 'phone-dark', viewport: { width: 390, height: 844 }, colorScheme: 'dark' },
];

/** Old dashboard records on other GPUs, so Compare has several points. */
function oldRecord(id, gpu, price, tps, ttft) {
  return {
    id, session_id: `s-${id}`, timestamp: '2026-01-10T12:00:00Z', model_id: MODEL, quantization: 'none',
    provider: 'tensordock', gpu_type: gpu, gpu_count: 1, gpu_vram_mb: 0, price_per_hour: price,
    avg_tokens_per_second: tps, avg_time_to_first_token_ms: ttft, throughput_tokens_per_second: tps,
    total_tokens_generated: 600, prompts_tested: 6, prompts_passed: 6, match_rate: 1,
    prompt_results: [], tokens_per_dollar: 1, cost_per_million_tokens: 0.5,
  };
}

/** How wide the page is against the window, and what sticks out. */
async function overflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const wide = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > width + 1 && wide.length < 5) {
        wide.push(`${el.tagName.toLowerCase()}.${el.className?.baseVal ?? el.className} right=${Math.round(r.right)}`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, width, wide };
  });
}

/** The test form's controls that a person cannot see whole (cut off or under something). */
async function hiddenControls(page) {
  return page.locator('.test-form').evaluate((form) => {
    // Folded parts (the engine settings) are opened: their controls must fit too.
    for (const details of form.querySelectorAll('details')) details.open = true;
    const hidden = [];
    for (const el of form.querySelectorAll('input:not([type=hidden]), select, button')) {
      el.scrollIntoView({ block: 'center' });
      const r = el.getBoundingClientRect();
      if (r.width === 0) continue;
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      const top = document.elementFromPoint(x, y);
      const covered = !(top === el || el.contains(top) || top?.closest('label') === el.closest('label'));
      if (r.left < 0 || r.right > window.innerWidth || covered) {
        hidden.push(`${el.name || el.textContent.trim()}: ${Math.round(r.left)}–${Math.round(r.right)}${covered ? ` under ${top?.tagName.toLowerCase()}.${top?.className}` : ''}`);
      }
    }
    return hidden;
  });
}

describe('every page at every width', () => {
  let server;
  let browser;
  let benchmark;
  let runId;
  const contexts = new Map();

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startDashboard({ simSpeed: 100 });
    browser = await launchBrowser();
    for (const view of VIEWS) {
      contexts.set(view.name, await browser.newContext({ viewport: view.viewport, colorScheme: view.colorScheme }));
    }
    const imported = await api(`${server.url}/api/benchmarks/import`, {
      method: 'POST',
      body: [oldRecord('bench-0ld00011', 'RTX 3090', 0.2, 85, 140), oldRecord('bench-0ld00012', 'A100 80GB PCIe', 1.1, 210, 60),
        oldRecord('bench-0ld00013', 'RTX 4090', 0.35, 150, 90)],
    });
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
  });

  after(async () => {
    for (const context of contexts.values()) await context.close();
    await browser?.close();
    await server?.stop();
  });

  /**
   * Opens `route` in every view, saves a screenshot named `name`, asserts no horizontal
   * overflow and no page errors, then runs `check(page, view)`.
   */
  async function tour(name, route, check = async () => {}, { hydrates = true } = {}) {
    for (const view of VIEWS) {
      const page = await contexts.get(view.name).newPage();
      const errors = watchErrors(page);
      const response = await page.goto(`${server.url}${route}`);
      if (hydrates) await waitHydrated(page);
      // The screenshot first, so a failing check leaves a picture of what failed.
      await page.screenshot({ path: path.join(SHOTS, `${name}-${view.name}.png`), fullPage: true });
      // And what a phone's screen shows first, without scrolling.
      if (view.viewport.width < 600) await page.screenshot({ path: path.join(SHOTS, `${name}-${view.name}-screen.png`) });
      await check(page, view, response);
      const o = await overflow(page);
      assert.ok(o.scrollWidth <= o.width, `${name} ${view.name}: page ${o.scrollWidth} px wide in a ${o.width} px window: ${o.wide.join(', ')}`);
      assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), [], `${name} ${view.name}`);
      await page.close();
    }
  }

  const formVisible = async (page, view) => {
    assert.deepEqual(await hiddenControls(page), [], `test form at ${view.name}`);
  };

  it('shows the dashboard before the first run, the live log saying what will appear', async () => {
    await tour('dashboard-before', '/', async (page, view) => {
      await formVisible(page, view);
      assert.match(await page.locator('.logs').innerText(), /will appear here/i);
    });
  });

  it('shows the dashboard during and after a run', async () => {
    const started = await api(`${server.url}/api/runs`, { method: 'POST', body: { model: 'qwen2.5-0.5b', max_price: 3 } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    runId = started.body.id;
    await eventually(async () => (await api(`${server.url}/api/runs/${runId}`)).body.steps
      .some((s) => s.name === 'connect_ssh' && s.status !== 'pending'), { timeout: 60_000, what: 'the run to reach SSH' });
    await tour('dashboard-during', '/', formVisible);
    const run = await eventually(async () => {
      const r = (await api(`${server.url}/api/runs/${runId}`)).body;
      return ['passed', 'failed', 'cancelled'].includes(r.status) ? r : null;
    }, { timeout: 180_000, what: 'the run to end' });
    assert.equal(run.status, 'passed', run.error);
    benchmark = run.benchmark_id;
    await tour('dashboard-after', '/', formVisible);
    // Two more GPUs tested (pinned to offers of GPU types not tested yet), so Compare has
    // several points on its frontier.
    // A GPU type whose pinned run failed is not tried again (the same offer would be).
    const tested = new Set([run.offer.gpu_type]);
    const failed = [];
    for (let attempt = 0; attempt < 6 && tested.size < 3; attempt += 1) {
      const inv = (await api(`${server.url}/api/inventory?provider=vastai&max_price=3&model=qwen2.5-0.5b`)).body;
      const offer = inv.offers.find((o) => o.available && inv.fit.fitting.includes(o.id)
        && !tested.has(o.gpu_type) && !failed.some((f) => f.gpu === o.gpu_type));
      if (!offer) break;
      const pinned = await api(`${server.url}/api/runs`, {
        method: 'POST', body: { model: 'qwen2.5-0.5b', provider: 'vastai', max_price: 3, pin_offer: offer.id },
      });
      assert.equal(pinned.status, 201, JSON.stringify(pinned.body));
      const done = await eventually(async () => {
        const r = (await api(`${server.url}/api/runs/${pinned.body.id}`)).body;
        return ['passed', 'failed', 'cancelled'].includes(r.status) ? r : null;
      }, { timeout: 180_000, what: 'a pinned run to end' });
      if (done.status === 'passed') tested.add(done.offer.gpu_type);
      else failed.push({ gpu: offer.gpu_type, offer: offer.id, error: done.error });
    }
    assert.equal(tested.size, 3, `three GPU types tested: ${[...tested]}; failed: ${JSON.stringify(failed)}`);
    await tour('run', `/runs/${runId}`);
    await tour('runs', '/runs');
  });

  it('shows the other tabs', async () => {
    await tour('sessions', '/sessions');
    await tour('deployments', '/deployments');
    await tour('campaigns', '/campaigns');
    await tour('inventory', '/inventory?gpu_type=4090&model=qwen2.5-7b');
    await tour('inventory-empty', '/inventory?gpu_type=no-such-gpu', async (page) => {
      assert.match(await page.locator('main').innerText(), /no-such-gpu/);
    });
    await tour('benchmarks', '/benchmarks');
    await tour('costs', '/costs');
    await tour('health', '/health');
    await tour('share', '/share');
  });

  it('draws a benchmark\'s histograms as bars', async () => {
    assert.ok(benchmark, 'the run stored a benchmark');
    await tour('benchmark', `/benchmarks/${benchmark}`, async (page) => {
      const bars = await page.locator('svg.histogram rect[data-n]').evaluateAll((rects) => rects
        .map((r) => ({ count: Number(r.dataset.n), height: r.getBoundingClientRect().height })));
      const drawn = bars.filter((b) => b.count > 0);
      assert.ok(drawn.length > 0, 'bars with a count');
      const max = Math.max(...drawn.map((b) => b.count));
      for (const b of drawn.filter((b) => b.count === max)) assert.ok(b.height > 20, `the tallest bar is ${b.height} px`);
      for (const b of drawn) assert.ok(b.height >= 2, `a bar of count ${b.count} is ${b.height} px`);
    });
    await tour('compare', `/compare?model=${MODEL}`, async (page) => {
      assert.ok(Number(await page.locator('svg.frontier-chart').getAttribute('data-points')) >= 3);
    });
  });

  it('remembers the theme chosen in the header, from the first paint of the next page', async () => {
    const context = await browser.newContext({ colorScheme: 'light' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/health`);
    await waitHydrated(page);
    const background = () => page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
    const light = await background();
    await page.locator('[data-testid="theme-toggle"]').selectOption('dark');
    await eventually(async () => (await page.locator('html').getAttribute('data-theme')) === 'dark', { what: 'dark applied' });
    const dark = await background();
    assert.notEqual(dark, light, 'the page turns dark in a light system');
    // The server draws the next page dark already (before any script runs).
    const raw = await (await context.request.get(`${server.url}/sessions`)).text();
    assert.match(raw, /<html[^>]*data-theme="dark"/);
    await page.goto(`${server.url}/sessions`);
    assert.equal(await background(), dark);
    await waitHydrated(page);
    await page.locator('[data-testid="theme-toggle"]').selectOption('system');
    await eventually(async () => (await background()) === light, { what: 'back to the system\'s light' });
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('copies the share snippet with one press', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    await page.goto(`${server.url}/share`);
    await waitHydrated(page);
    const snippet = await page.locator('textarea[data-snippet]').inputValue();
    assert.match(snippet, /<iframe/);
    assert.doesNotMatch(snippet, /model=(&|")/, 'no empty model=');
    const copy = page.locator('[data-testid="copy-snippet"]');
    await copy.click();
    await eventually(async () => (await copy.getAttribute('data-copied')) === 'true', { what: 'Copied shown' });
    assert.equal(await copy.innerText(), 'Copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);
    await context.close();
  });

  it('shows the docs, an embed panel and the not-found page', async () => {
    await tour('api-docs', '/api/docs', async (page) => {
      assert.ok(!(await page.locator('body').innerText()).includes('[`'), 'raw rustdoc links on /api/docs');
    }, { hydrates: false });
    await tour('embed-run', `/embed/run/${runId}`);
    await tour('embed-status', '/embed/status');
    await tour('embed-run-without-id', '/embed/run', async (page) => {
      assert.match(await page.locator('body').innerText(), /Share/);
    });
    await tour('not-found', '/no-such-page', async (page, view, response) => {
      assert.equal(response.status(), 404);
      const color = await page.locator('body').evaluate((b) => getComputedStyle(b).fontFamily);
      assert.doesNotMatch(color, /^"?Times/, 'the stylesheet applies');
      await page.locator('.live[data-conn="connected"]').waitFor({ timeout: 10_000 });
    });
  });
});
