// The live channel in real browsers: restarts, removals, malformed frames, ordering.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  api, createSessions, eventually, launchBrowser, startDashboard, startSimulator, waitHydrated, watchErrors,
} from '../lib/harness.js';
import { Dashboard } from '../lib/pages.js';

const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

describe('live channel', () => {
  let browser;
  before(async () => { browser = await launchBrowser(); });
  after(async () => { await browser?.close(); });

  it('survives a server restart: reconnects and shows exactly the server\'s sessions', async () => {
    const broker = await startSimulator();
    let dash = await startDashboard({ env: { SHOPPER_URL: broker.url } });
    // Ours on the broker (every version), as the broker itself lists them.
    const brokerIds = async () => (await api(`${broker.url}/api/v1/sessions`)).body.sessions
      .filter((s) => s.consumer_id.startsWith('gpu-deploy-llm/')).map((s) => s.id);
    try {
      const created = await createSessions(broker.url, 3);
      const page = await browser.newPage();
      const ui = new Dashboard(page, dash.url);
      await ui.open('/sessions');
      await waitHydrated(page);
      await ui.waitConnection('connected');
      const before = await brokerIds();
      await eventually(async () => sameSet(await ui.sessionIds(), before), { what: 'page showing the broker list' });

      await dash.kill();
      await ui.waitConnection('reconnecting');
      // The broker changes while the dashboard is down.
      await createSessions(broker.url, 1);
      await api(`${broker.url}/_sim/sessions/${created[0].id}`, { method: 'DELETE' });
      const expected = await brokerIds();
      assert.ok(!expected.includes(created[0].id));

      dash = await startDashboard({ env: { SHOPPER_URL: broker.url }, port: dash.port });
      await ui.waitConnection('connected', 40_000);
      await eventually(async () => sameSet(await ui.sessionIds(), expected), {
        what: `page showing ${expected.length} sessions after the restart`,
      });
      const shown = await ui.sessionIds();
      assert.equal(new Set(shown).size, shown.length, 'no duplicates');
      const server = (await api(`${dash.url}/api/sessions`)).body.sessions.map((s) => s.id);
      assert.ok(sameSet(shown, server), `page ${shown} vs server ${server}`);
      await page.close();
    } finally {
      await dash.stop();
      await broker.stop();
    }
  });

  it('removes a session the broker no longer lists from every open page', async () => {
    const dash = await startDashboard();
    try {
      const broker = (await api(`${dash.url}/api/status`)).body.broker.url;
      const [session] = await createSessions(broker, 1);
      const pages = await Promise.all([browser.newPage(), browser.newPage()]);
      const uis = pages.map((p) => new Dashboard(p, dash.url));
      for (const ui of uis) {
        await ui.open('/sessions');
        await waitHydrated(ui.page);
        await ui.waitConnection('connected');
        await ui.sessionRow(session.id).waitFor();
      }
      await api(`${broker}/_sim/sessions/${session.id}`, { method: 'DELETE' });
      // One poll interval at this speed is about a second; allow a few.
      for (const ui of uis) {
        await ui.sessionRow(session.id).waitFor({ state: 'detached', timeout: 5_000 });
      }
      await Promise.all(pages.map((p) => p.close()));
    } finally {
      await dash.stop();
    }
  });

  it('counts and shows a malformed frame instead of swallowing it', async () => {
    const dash = await startDashboard({ args: ['--test-hooks'] });
    try {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      const ui = new Dashboard(page, dash.url);
      await ui.open('/');
      await waitHydrated(page);
      await ui.waitConnection('connected');
      await fetch(`${dash.url}/_test/live/raw`, { method: 'POST', body: '{"type":"bogus_frame"' });
      const bad = page.locator('.bad-frames[data-parse-errors="1"]');
      await bad.waitFor();
      await bad.locator('summary').click();
      assert.match(await bad.innerText(), /1 unreadable frame/);
      assert.match(await bad.innerText(), /bogus_frame/);
      await fetch(`${dash.url}/_test/live/raw`, { method: 'POST', body: 'not json at all' });
      await page.locator('.bad-frames[data-parse-errors="2"]').waitFor();
      assert.equal(await ui.connection(), 'connected', 'a bad frame does not break the connection');
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await dash.stop();
    }
  });

  it('delivers the same events in the same order to two pages', async () => {
    const dash = await startDashboard();
    try {
      const pages = await Promise.all([browser.newPage(), browser.newPage()]);
      const uis = pages.map((p) => new Dashboard(p, dash.url));
      for (const ui of uis) {
        await ui.open('/sessions');
        await waitHydrated(ui.page);
        await ui.waitConnection('connected');
      }
      const broker = (await api(`${dash.url}/api/status`)).body.broker.url;
      const created = await createSessions(broker, 4);
      await eventually(async () => {
        const view = (await api(`${dash.url}/api/sessions`)).body;
        const settled = ['running', 'stopped', 'failed'];
        return created.every((c) => view.sessions.some((s) => s.id === c.id && settled.includes(s.status)));
      }, { what: 'the new sessions settled' });
      // Events keep coming (offer counts drift): compare both pages up to one seq.
      const last = (await api(`${dash.url}/api/live/stats`)).body.seq;
      const seqs = await Promise.all(uis.map(async (ui) => eventually(async () => {
        const s = await ui.appliedSeqs();
        return s.at(-1) >= last ? s : null;
      }, { what: `page reaching seq ${last}` })));
      const from = Math.max(seqs[0][0], seqs[1][0]);
      const [a, b] = seqs.map((s) => s.filter((n) => n >= from && n <= last));
      assert.ok(a.length >= created.length, `at least one event per new session (${a.length})`);
      assert.deepEqual(a, b);
      assert.deepEqual(a, a.map((_, i) => from + i), 'contiguous, in order, no duplicates');
      await Promise.all(pages.map((p) => p.close()));
    } finally {
      await dash.stop();
    }
  });
});
