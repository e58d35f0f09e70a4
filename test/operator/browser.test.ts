/**
 * The operator page in headless Chromium against the demo on a real Redis, the way an operator uses it: open the
 * page, enter the token with the keyboard, start a warm and watch the bar reach 100%, invalidate a category after
 * confirming (and keep everything when cancelling), see the failures of a warm that failed, and see the message for a
 * wrong token. The page must log no
 * console error and no CSP violation; the only console lines allowed are Chromium's own notes of the 401/403 answers
 * the test provokes. Screenshots go to test-artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/demo/server.js';
import { hasChromium, launchChromium } from '../harness/chromium.js';
import { useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';

const TOKEN = 'operator-browser-test-token-0123';
const KEY_PREFIX = 'operator:';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
/** Chromium's note of a refused request: the answers this test asks for, not an error of the page. */
const EXPECTED_REFUSAL = /^Failed to load resource: the server responded with a status of 40[13] \((Unauthorized|Forbidden)\)$/;

describe.skipIf(!hasChromium || !hasRedisServer)('the operator page in Chromium, against the demo on Redis', () => {
  const server = useRedisServer();
  let demo: Demo;
  let browser: Browser;
  let page: Page;
  let redis: Redis;
  const consoleErrors: string[] = [];

  const screenshot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `operator-${name}.png`), fullPage: true });
  const text = async (selector: string) => (await page.textContent(selector)) ?? '';
  // Strings, not functions: the tests are type checked without the DOM library.
  const focused = () => page.evaluate<string | undefined>('document.activeElement?.id');
  const keysOf = (category: string) => redis.keys(`${KEY_PREFIX}${category}:*`);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await startDemo({ redisUrl: server().url, keyPrefix: KEY_PREFIX, adminToken: TOKEN, warmSchedule: false, latencyScale: 0.2, quiet: true, env: {} });
    redis = new Redis(server().url);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && !EXPECTED_REFUSAL.test(message.text())) consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await redis?.quit();
    await demo?.close();
  });

  it('asks for the token, and takes it from the keyboard', async () => {
    // Two playlists for one user: a computed one and a cached one, so the figures have something to show.
    for (let i = 0; i < 2; i++) {
      expect((await request(demo.url).post('/api/playlists').send({ userId: 'ada', moodPrompt: 'rainy sunday coding' })).status).toBe(200);
    }
    // The mount path without its slash: the page redirects to it with one.
    await page.goto(`${demo.url}/api/agents/system`);
    expect(page.url()).toBe(`${demo.url}/api/agents/system/`);
    await expect.poll(() => text('#auth-message')).toContain('Enter the admin token');

    // Tab from the top of the page to the token field, type, Enter.
    for (let presses = 0; presses < 5 && (await focused()) !== 'token'; presses++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('token');
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');

    await expect.poll(() => text('#summary')).toMatch(/^Redis · hit ratio \d+\.\d% · [1-9]\d* hits, [1-9]\d* misses$/);
    expect(await text('#auth-message')).toBe('');
    const backend = await text('#backend');
    expect(backend).toContain(`127.0.0.1:${new URL(server().url).port}/0`);
    expect(backend).toMatch(/Memory tier\s*[1-9][\d,]* entries, [\d.]+ KB of 64\.0 MB/);
    expect(backend).toMatch(/Redis errors\s*0 \(0 given up, 0 writes refused\)/);
    expect(await text('#hits tbody')).toContain('recommendations');
    expect(await page.evaluate("sessionStorage.getItem('reprise.adminToken')")).toBe(TOKEN);
    // Never in the address.
    expect(page.url()).not.toContain(TOKEN);
    await screenshot('signed-in');
  });

  it('starts a warm of the configured moods and shows its bar reaching 100%', async () => {
    await page.click('#warm-force');
    await page.click('#warm-start');
    await expect.poll(() => text('#warm-message')).toMatch(/^Warm job \S+ started for \d+ moods\.$/);
    const total = Number(/for (\d+) moods/.exec(await text('#warm-message'))![1]);
    expect(total).toBeGreaterThan(1);

    await expect.poll(() => text('#warm-percent'), { timeout: 60_000, interval: 200 }).toBe('100%');
    expect(await page.evaluate("document.querySelector('#warm-bar').value")).toBe(1);
    const job = await text('#warm-job');
    expect(job).toContain('succeeded');
    expect(job).toContain(`${total} of ${total}`);
    expect(await text('#warm-failures')).toBe('');
    // The stats are read again once the job ends: every popular mood is now precomputed.
    await expect.poll(() => text('#coverage')).toBe(`${total} of ${total} popular moods precomputed (100.0%)`);
    expect(await page.isEnabled('#warm-start')).toBe(true);
    await screenshot('warmed');
  }, 90_000);

  it('invalidates a category only after a confirmation naming it; cancelling removes nothing', async () => {
    const recommendations = (await keysOf('recommendations')).length;
    const popular = (await keysOf('popular_mood_cache')).length;
    expect(recommendations).toBeGreaterThan(0);
    expect(popular).toBeGreaterThan(0);

    await page.selectOption('#invalidate-category', 'recommendations');
    await page.click('#invalidate-start');
    expect(await page.isVisible('#confirm')).toBe(true);
    expect(await text('#confirm-text')).toContain('“recommendations”');
    expect(await text('#confirm-ok')).toBe('Remove recommendations');
    await screenshot('confirm');
    // Escape cancels; nothing goes.
    await page.keyboard.press('Escape');
    await expect.poll(() => text('#invalidate-message')).toBe('Nothing was removed.');
    expect(await page.isVisible('#confirm')).toBe(false);
    expect((await keysOf('recommendations')).length).toBe(recommendations);

    // Again, with the keyboard: focus starts on Cancel, Tab reaches Remove, Enter confirms.
    await page.click('#invalidate-start');
    expect(await focused()).toBe('confirm-cancel');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('confirm-ok');
    await page.keyboard.press('Enter');
    await expect.poll(() => text('#invalidate-message')).toMatch(/^Removed [1-9]\d* entries \(recommendations\)\.$/);
    expect(await keysOf('recommendations')).toEqual([]);
    // The other categories stay.
    expect((await keysOf('popular_mood_cache')).length).toBe(popular);
    expect(await focused()).toBe('invalidate-start');
  });

  it('names the moods of a warm that failed', async () => {
    // ReccoBeats refuses everything from now on (a 400 is not retried): a mood not computed yet cannot be.
    demo.simulator!.failNext({ status: 400, count: 1_000_000 });
    await page.fill('#warm-moods', 'stormy night drive');
    await page.click('#warm-start');
    await expect.poll(() => text('#warm-job'), { timeout: 60_000, interval: 200 }).toContain('failed');
    expect(await text('#warm-percent')).toBe('100%');
    expect(await text('#warm-failures')).toMatch(/^1 of 1 moods failed, timed out or were cancelled: stormy night drive \(failed: .+\)\.$/);
    await screenshot('warm-failed');
  }, 90_000);

  it('says so when the token is wrong, and stops reading', async () => {
    await page.fill('#token', 'not-the-admin-token-at-all');
    await page.press('#token', 'Enter');
    await expect.poll(() => text('#auth-message')).toBe('The admin token was refused: the admin token is not valid.');
    expect(await text('#summary')).toBe('Waiting for the admin token');
    await screenshot('wrong-token');
  });

  it('logged no console error and no CSP violation on the way', () => {
    expect(consoleErrors).toEqual([]);
  });
});
