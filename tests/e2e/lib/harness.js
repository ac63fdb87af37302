// Starts the release binary on a free loopback port and a headless Debian Chromium.
// Everything here talks to 127.0.0.1 only and stops by itself.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const binary = process.env.GDL_BIN ?? path.join(repoRoot, 'target/release/gpu-deploy-llm');

/**
 * Starts `gpu-deploy-llm serve` from the repository root (so target/site is found, as a
 * person would start it) with its own data directory. `env` adds environment variables.
 * The server picks its own port (no port is chosen here and released before it binds),
 * unless `port` asks for one again (a restart under an open page): then a port still held
 * by the process that just left is retried for a while.
 */
export async function startDashboard({ env = {}, args = [], simSpeed = 100, port, dataDir } = {}) {
  const ownDataDir = !dataDir;
  dataDir ??= mkdtempSync(path.join(os.tmpdir(), 'gdl-e2e-'));
  const cleanup = async () => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const spawnServe = () => spawn(
    binary,
    // No random provisioning failures: tests that want one ask the simulator for it.
    ['serve', '--addr', `127.0.0.1:${port ?? 0}`, '--data-dir', dataDir, '--sim-speed', String(simSpeed),
      '--sim-failure-rate', '0', ...args],
    { cwd: repoRoot, env: { ...process.env, ...QUIET, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await watchProcess(spawnServe(), 'dashboard on ', '/healthz', cleanup, { dataDir });
    } catch (e) {
      if (port === undefined || attempt === 20 || !/cannot listen/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Starts `gpu-deploy-llm simulate` (a standalone broker) on a port of its choosing. */
export async function startSimulator({ speed = 100 } = {}) {
  const child = spawn(binary, ['simulate', '--addr', '127.0.0.1:0', '--speed', String(speed), '--failure-rate', '0'], {
    cwd: repoRoot, env: { ...process.env, ...QUIET }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchProcess(child, 'simulated cloud-gpu-shopper on ', '/health', async () => {}, {});
}

/** Warnings only, but the line that says where it listens. */
const QUIET = { RUST_LOG: 'warn,server::cli=info' };

async function watchProcess(child, announcement, probe, cleanup, extra) {
  let logs = '';
  child.stdout.on('data', (d) => { logs += d; });
  child.stderr.on('data', (d) => { logs += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  let url;
  for (;;) {
    url ??= logs.match(new RegExp(`${announcement}(http://127\\.0\\.0\\.1:\\d+)`))?.[1];
    if (url) {
      try {
        const r = await fetch(`${url}${probe}`);
        if (r.ok) break;
      } catch { /* not answering yet */ }
    }
    if (child.exitCode !== null) throw new Error(`process exited early:\n${logs}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`process did not start within 30 s:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: Number(new URL(url).port),
    ...extra,
    logs: () => logs,
    /** Kills the process at once, as a crash would. */
    async kill() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    /** Sends a signal (SIGSTOP freezes it, SIGCONT thaws it). */
    signal(name) {
      child.kill(name);
    },
    /** SIGTERM, then as long as the server's own cleanup allowance (90 s) plus a margin. */
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    },
  };
}

/** Headless Chromium from Debian, without network chatter. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-quic',
    ],
  });
}

/** Collects console errors and uncaught page errors of a page. */
export function watchErrors(page) {
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => errors.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`));
  return errors;
}

/** Waits until the wasm app has hydrated the server-rendered page. */
export async function waitHydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
}

/** Polls `check` until it returns a truthy value (bounded). */
export async function eventually(check, { timeout = 20_000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** JSON over loopback HTTP. */
export async function api(url, { method = 'GET', body } = {}) {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/**
 * Creates sessions on a (simulated) broker for `consumer`, on its first rentable Vast.ai
 * offers (Blue Lobster's creates block for up to a minute of contract time).
 */
export async function createSessions(brokerUrl, count, consumer = 'gpu-deploy-llm/v0.1.0') {
  const inventory = (await api(`${brokerUrl}/api/v1/inventory?limit=200&provider=vastai`)).body;
  const created = [];
  for (const offer of inventory.offers) {
    if (created.length === count) break;
    const r = await api(`${brokerUrl}/api/v1/sessions`, {
      method: 'POST',
      body: { consumer_id: consumer, offer_id: offer.id, workload_type: 'llm', reservation_hours: 1 },
    });
    if (r.status === 201) created.push(r.body.session);
  }
  if (created.length !== count) throw new Error(`created ${created.length} of ${count} sessions`);
  return created;
}
