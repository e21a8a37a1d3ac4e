import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OptimizationEngine } from '../../../src/index.js';
import { createDashboardRecorder, createOptimizationHandler, renderDashboardHtml, toNodeListener } from '../../../src/http.js';
import { launchChromium } from './browser.js';
import { CANARY, engineWithTraffic } from './traffic.js';

const TOKEN = 'dash-token';
const ARTIFACTS = path.resolve('test-results');
const PANELS = ['score', 'calls', 'rates', 'latency', 'tokens', 'optimizations', 'miss-causes', 'health', 'anomalies', 'recommendations'];

describe('the dashboard page in Chromium', () => {
  let browser: Browser;
  let engine: OptimizationEngine;
  let more: (calls?: number) => Promise<void>;
  let server: http.Server;
  let origin: string;

  beforeAll(async () => {
    browser = await launchChromium();
    // The handler (and so the dashboard's series) exists before the traffic, as at a service's start.
    ({ engine, more } = await engineWithTraffic(0));
    const handler = createOptimizationHandler(engine, {
      basePath: '/ops',
      authorize: (request) => {
        const header = request.headers.get('authorization');
        return header === null ? 'unauthenticated' : header === `Bearer ${TOKEN}`;
      },
    });
    for (let m = 0; m < 20; m++) await more(12 + (m % 4) * 5);
    server = http.createServer(toNodeListener(handler));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await engine?.close();
  });

  async function open(viewport: { width: number; height: number }, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ page: Page; errors: string[]; status: number | undefined }> {
    const context = await browser.newContext({ viewport, extraHTTPHeaders: headers });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(`${origin}/ops/optimization/dashboard`);
    return { page, errors, status: response?.status() };
  }

  it('renders every panel with data under a basePath, without console errors, and never shows a prompt or an answer', async () => {
    const { page, errors, status } = await open({ width: 1366, height: 900 });
    expect(status).toBe(200);
    await page.waitForSelector('body[data-state="live"]');
    for (const id of PANELS) {
      const panel = page.locator(`#panel-${id}`);
      await expect.poll(() => panel.count()).toBe(1);
      expect(await panel.locator('.empty').count(), `panel ${id} has data`).toBe(0);
    }
    // Charts drew marks: bars per minute, lines per model, anomaly and optimization marks.
    expect(await page.locator('#panel-calls rect').count()).toBeGreaterThan(20);
    expect(await page.locator('#panel-latency path.line').count()).toBe(4);
    expect(await page.locator('#panel-latency .mark, #panel-calls .mark').count()).toBeGreaterThan(0);
    expect(await page.locator('#panel-optimizations .tl-applied, #panel-optimizations .tl-reverted').count()).toBeGreaterThan(0);
    expect(await page.locator('#panel-health td').allTextContents()).toEqual(expect.arrayContaining(['circuit llama3.1:8b']));
    const text = await page.locator('body').innerText();
    expect(text).not.toContain(CANARY);
    expect(await page.content()).not.toContain(CANARY);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-laptop.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('updates when new calls arrive', async () => {
    const { page, errors } = await open({ width: 1366, height: 900 });
    await page.waitForSelector('body[data-state="live"]');
    const before = Number((await page.locator('#total-calls').innerText()).replace(/\D/g, ''));
    await more(25);
    await page.getByRole('button', { name: 'Refresh now' }).press('Enter');
    await expect.poll(async () => Number((await page.locator('#total-calls').innerText()).replace(/\D/g, ''))).toBeGreaterThan(before);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('fits a phone screen and is usable with the keyboard', async () => {
    const { page, errors } = await open({ width: 390, height: 844 });
    await page.waitForSelector('body[data-state="live"]');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the panels');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('pause');
    await page.keyboard.press('Enter');
    expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('img');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('renders a static report file (the demo\'s) with the same panels, offline, one set per service', async () => {
    const data = await createDashboardRecorder(engine).data();
    const html = renderDashboardHtml([{ title: 'Service A', data }, { title: 'Service B', data }], { title: 'Report <b>' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent(html);
    expect(await page.locator('h2.service').allTextContents()).toEqual(['Service A', 'Service B']);
    for (const id of PANELS) expect(await page.locator(`#panel-1-${id} .empty`).count(), `panel ${id}`).toBe(0);
    expect(await page.title()).toBe('Report b');
    expect(await page.content()).not.toContain(CANARY);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-file.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  }, 30_000);

  it('refuses without authorization, with a page that says so', async () => {
    const { page, status } = await open({ width: 800, height: 600 }, {});
    expect(status).toBe(401);
    expect(await page.locator('h1').innerText()).toBe('Not signed in');
    await page.context().close();
    const wrong = await open({ width: 800, height: 600 }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(403);
    expect(await wrong.page.locator('h1').innerText()).toBe('Not authorized');
    await wrong.page.context().close();
    const data = await fetch(`${origin}/ops/optimization/dashboard/data`);
    expect(data.status).toBe(401);
    expect(await fetch(`${origin}/optimization/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status)).toBe(404);
  }, 30_000);
});
