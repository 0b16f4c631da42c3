/// <reference lib="dom" />
// Callbacks of page.evaluate() run in the browser, with its globals.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ApiKeyUsageRecorder, withUsage } from 'nestjs-opaque-keys/usage';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { launchChromium, pageMemory, seriousViolations } from './browser.js';

const SCREENSHOTS = join(process.cwd(), 'docs/images');
// A browser and axe-core on a shared, busy machine: minutes, not seconds, per step in the worst case.
jest.setTimeout(120_000);

/**
 * The admin console in headless Chromium against a real app (SQLite by
 * default; DB_TYPE=postgres for PostgreSQL): the browser drives the page, the
 * test uses the keys it shows against a guarded route over real HTTP.
 */
describe('admin console in a browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminKey: string;
  let adminId: string;
  let plainKey: string;
  const orders = (key: string, method = 'GET') =>
    fetch(`${base}/orders`, { method, headers: { Authorization: `Bearer ${key}` } }).then((r) => r.status);
  const expectAccessible = async (target: Page) => expect(await seriousViolations(target)).toEqual([]);
  /** Script errors and CSP violations of the page; the last test expects none. */
  const pageErrors: string[] = [];
  const watch = (target: Page) => {
    target.on('pageerror', (error) => pageErrors.push(error.message));
    target.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
    });
  };

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { environments: ['live', 'test'] },
      extras: { features: [withUsage()] },
      imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })],
    });
    await t.app.listen(0, '127.0.0.1');
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const admin = await t.service.issue({
      name: 'ops console',
      ownerId: 'ops',
      scopes: ['keys:admin', 'keys:any-owner', 'orders:*'], // an operator's key: reaches every owner
    });
    adminKey = admin.key;
    adminId = admin.record.id;
    plainKey = (await t.service.issue({ name: 'storefront', ownerId: 'shop', scopes: ['orders:read'] })).key;
    // A few keys, so the list looks like a real one; a few ms apart, so "newest first" has one answer.
    const day = 86_400_000;
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    await tick();
    await t.service.issue({
      name: 'nightly export',
      ownerId: 'data-team',
      scopes: ['orders:read'],
      environment: 'live',
    });
    await tick();
    await t.service.issue({
      name: 'partner sandbox',
      ownerId: 'acme-corp',
      scopes: ['orders:read', 'orders:write'],
      environment: 'test',
      expiresAt: new Date(Date.now() + 3 * day),
    });
    await tick();
    const old = await t.service.issue({ name: 'old deploy bot', ownerId: 'data-team', scopes: ['orders:write'] });
    await t.service.revoke(old.record.id, 'replaced by CI', { actor: 'cli' });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    context.setDefaultTimeout(8000);
    page = await context.newPage();
    watch(page);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Waits until the table's name column reads exactly `names`, in order (the list answers asynchronously). */
  async function rowsAre(target: Page, names: string[]): Promise<void> {
    await target.waitForFunction(
      (want) =>
        JSON.stringify([...document.querySelectorAll('tbody tr td:first-child')].map((cell) => cell.textContent)) ===
        JSON.stringify(want),
      names,
    );
  }

  /** The answer of the list filtered by "revoked", held back by the test. */
  const slow = /\/api\/keys\?.*status=revoked/;

  /**
   * Holds back the answers to requests matching `url` until `release()`;
   * `asked` resolves once the page sent such a request (its effect runs after a paint, later on a loaded machine);
   * `done` resolves once the held answer went on (or the page gave up on it).
   */
  async function holdAnswer(
    target: Page,
    url: RegExp,
  ): Promise<{ release: () => void; asked: Promise<void>; done: Promise<void> }> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let served!: () => void;
    const done = new Promise<void>((resolve) => (served = resolve));
    let seen!: () => void;
    const asked = new Promise<void>((resolve) => (seen = resolve));
    await target.route(url, async (route) => {
      seen();
      await held;
      await route.continue().catch(() => undefined); // the page may have aborted it meanwhile
      served();
    });
    return { release, asked, done };
  }

  async function signIn(target: Page, key: string): Promise<void> {
    await target.goto(`${base}/admin/keys`);
    await target.getByLabel('Admin API key').fill(key);
    await target.getByRole('button', { name: 'Sign in' }).click();
  }

  it('loads without calling the API and without an error in the console', async () => {
    const fresh = await context.newPage();
    const problems: string[] = [];
    const calls: string[] = [];
    fresh.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    fresh.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    fresh.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
    fresh.on('request', (request) => request.url().includes('/api/') && calls.push(request.url()));
    fresh.on(
      'response',
      (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`),
    );
    await fresh.goto(`${base}/admin/keys`, { waitUntil: 'networkidle' });
    await fresh.getByLabel('Admin API key').waitFor();
    expect(await fresh.locator('body').getAttribute('data-sign-in')).toBe('key');
    expect({ problems, calls }).toEqual({ problems: [], calls: [] });
    await fresh.close();
  });

  it('refuses sign-in with a key that lacks the admin scope, and with an unknown key', async () => {
    await signIn(page, plainKey);
    await page.getByRole('alert').filter({ hasText: 'does not hold the admin scope' }).waitFor();
    await expectAccessible(page);
    await page.getByLabel('Admin API key').fill(`${adminKey.slice(0, -3)}xyz`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    // Never signed in: the form says why a key may be refused, and nothing says a session ended.
    expect(await page.getByRole('alert').textContent()).toMatch(/not accepted: it may be mistyped .* revoked, expired/);
    expect(await page.getByText(/stopped accepting|sign in again/).count()).toBe(0);
    expect(await pageMemory(page)).not.toContain(plainKey);
  });

  it('signs in with the admin key, lists and filters keys', async () => {
    await signIn(page, adminKey);
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.getByRole('cell', { name: 'nightly export' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-list.png') });
    await expectAccessible(page);
    const memory = await pageMemory(page);
    expect(memory).not.toContain(adminKey); // the admin key stays in the script's memory, not in storage or the DOM

    await page.getByLabel('Status').selectOption('revoked');
    await rowsAre(page, ['old deploy bot']);
    await page.getByLabel('Status').selectOption('expiring');
    await rowsAre(page, ['partner sandbox']);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Search name, owner or hint').fill('data-team');
    await page.getByRole('button', { name: 'Search' }).click();
    await rowsAre(page, ['old deploy bot', 'nightly export']); // newest first
    await page.getByLabel('Sort by').selectOption('name');
    await rowsAre(page, ['nightly export', 'old deploy bot']);
    await page.getByLabel('Order').selectOption('desc');
    await rowsAre(page, ['old deploy bot', 'nightly export']);
    await page.getByLabel('Search name, owner or hint').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('Sort by').selectOption('createdAt');
    await page.getByRole('status').filter({ hasText: 'of 5' }).waitFor();
  });

  it("shows the newest filter's answer even when an older filter answers last", async () => {
    const { release, asked, done } = await holdAnswer(page, slow);
    await page.getByLabel('Status').selectOption('revoked'); // its answer is held back
    await asked;
    await page.getByLabel('Status').selectOption('expiring');
    await rowsAre(page, ['partner sandbox']);
    release();
    await done;
    await page.waitForTimeout(300); // time for a late answer to land, were it used
    const names = await page.$$eval('tbody tr td:first-child', (cells) => cells.map((cell) => cell.textContent));
    expect(names).toEqual(['partner sandbox']);
    await page.unroute(slow);
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('status').filter({ hasText: 'of 5' }).waitFor();
  });

  it('keeps what is typed in the search box when an answer lands meanwhile', async () => {
    const { release, asked, done } = await holdAnswer(page, slow);
    await page.getByLabel('Status').selectOption('revoked'); // its answer is held back
    await asked;
    const search = page.getByLabel('Search name, owner or hint');
    await search.fill('deploy'); // typed while the list is loading
    release();
    await done;
    await rowsAre(page, ['old deploy bot']); // the answer landed and the list re-rendered
    expect(await search.inputValue()).toBe('deploy');
    await page.unroute(slow);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('status').filter({ hasText: 'of 1' }).waitFor();
    await search.fill('');
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('status').filter({ hasText: 'of 5' }).waitFor();
  });

  let issuedKey = '';
  let issuedId = '';

  it('issues a key and shows it once; after the dialog closes it is nowhere in the page', async () => {
    await page.getByRole('link', { name: 'Issue a key' }).click();
    await page.getByRole('heading', { name: 'Issue a key' }).waitFor();
    await expectAccessible(page);
    await page.getByLabel('Name', { exact: true }).fill('checkout service');
    await page.getByLabel('Owner (user, team or tenant id; optional)').fill('shop');
    await page.getByLabel(/Narrower scopes/).fill('billing:read');
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'billing:read' }).waitFor(); // not held: refused in the page
    await page.getByLabel(/Narrower scopes/).fill('');
    await page.getByLabel('Environment').selectOption('live');
    await page.getByLabel('Expires').selectOption({ label: '90 days' });
    await page.getByLabel('Starting credits').fill('100');
    await page.getByLabel(/^Allowed IPs/).fill('127.0.0.1 ::1 ::ffff:127.0.0.1');
    await page.getByRole('button', { name: 'Issue', exact: true }).click();

    const dialog = page.getByRole('dialog', { name: 'Key “checkout service” issued' });
    await dialog.waitFor();
    issuedKey = await dialog.getByLabel('Key').inputValue();
    expect(issuedKey).toMatch(/^sk_live_/);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog
      .getByRole('status')
      .filter({ hasText: /Copied|Ctrl\+C/ })
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-issue-dialog.png') });
    await expectAccessible(page);
    expect(await orders(issuedKey)).toBe(403); // no scope yet

    await dialog.getByRole('button', { name: /^Done/ }).click();
    await page.getByRole('heading', { name: 'checkout service', level: 1 }).waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    const memory = await pageMemory(page);
    expect(memory).not.toContain(issuedKey);
    expect(memory).not.toContain(issuedKey.slice(12)); // not even the secret part
    issuedId = new URL(page.url()).hash.split('/')[2];
    expect(issuedId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('edits the scopes on the key page and the next request sees them', async () => {
    await expectAccessible(page);
    await page.getByLabel('Scopes (space separated)').fill('orders:read orders:write');
    await page.getByRole('button', { name: 'Save scopes' }).click();
    await page.getByRole('status').filter({ hasText: 'Scopes saved' }).waitFor();
    expect(await orders(issuedKey)).toBe(200);
    expect(await orders(issuedKey, 'POST')).toBe(201);
    await page.getByLabel('Scopes (space separated)').fill('orders:read');
    await page.getByRole('button', { name: 'Save scopes' }).click();
    await page
      .locator('dd')
      .filter({ hasText: /^orders:read$/ })
      .waitFor();
    expect(await orders(issuedKey, 'POST')).toBe(403);
  });

  it('disables and enables the key, finds it under "disabled", edits its details and credits', async () => {
    await page.getByLabel(/^Reason \(optional/).fill('audit pending');
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Disabled:' }).waitFor();
    expect(await orders(issuedKey)).toBe(401);
    await page.getByRole('link', { name: '← All keys' }).click();
    await page.getByLabel('Status').selectOption('disabled');
    await rowsAre(page, ['checkout service']);
    await page.getByRole('link', { name: 'checkout service' }).click();
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Enabled' }).waitFor();
    expect(await orders(issuedKey)).toBe(200);

    await page.getByLabel(/^Metadata/).fill('{"team":"payments"}');
    await page.getByLabel(/^Allowed IPs/).fill('203.0.113.0/24');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    expect(await orders(issuedKey)).toBe(403); // not from 203.0.113.0/24
    await page.getByLabel(/^Allowed IPs/).fill('');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.locator('dd').filter({ hasText: /^any$/ }).waitFor();
    expect(await orders(issuedKey)).toBe(200);
    await page.locator('dd').filter({ hasText: 'payments' }).waitFor();

    await page.getByLabel('Credits to add or set').fill('50');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Credits added' }).waitFor();
    expect((await t.service.get(issuedId)).remainingUses).toBeGreaterThan(100);
    await t.app.get(ApiKeyUsageRecorder).flush(); // usage is written behind: the chart shows what was written
    await page.getByLabel('Usage period').selectOption({ label: 'Last 24 hours' });
    await page.locator('.usage-summary').filter({ hasText: 'verified' }).waitFor();
    await expectAccessible(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-key.png'), fullPage: true });
  });

  let successorKey = '';

  it('rotates with a grace period: the successor shown once, both keys work meanwhile', async () => {
    await page.getByLabel('Grace period for the old key').selectOption({ label: '1 hour' });
    await page.getByRole('button', { name: 'Rotate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Successor key issued' });
    await dialog.waitFor();
    successorKey = await dialog.getByLabel('Key').inputValue();
    expect(successorKey).not.toBe(issuedKey);
    await page.keyboard.press('Escape'); // a native dialog closes on Escape, like Done
    await page.getByRole('heading', { name: 'checkout service', level: 1 }).waitFor();
    await page.waitForFunction((id) => !location.hash.includes(id), issuedId);
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await pageMemory(page)).not.toContain(successorKey);
    expect(await orders(issuedKey)).toBe(200);
    expect(await orders(successorKey)).toBe(200);
  });

  it('revokes with a reason after a confirmation, and shows the audit trail', async () => {
    await page.getByLabel('Reason (kept in the audit trail)').fill('laptop lost');
    await page.getByRole('button', { name: 'Revoke…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “checkout service”?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await orders(successorKey)).toBe(200);
    await page.getByRole('button', { name: 'Revoke…' }).click();
    await expectAccessible(page);
    await confirm.getByRole('button', { name: 'Revoke now' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked' }).waitFor();
    expect(await orders(successorKey)).toBe(401);
    const trail = page.getByRole('region', { name: 'Audit trail table' });
    await trail.getByRole('cell', { name: 'revoked', exact: true }).waitFor();
    await expect(trail.textContent()).resolves.toContain(`admin:${adminId}`);
    await expect(trail.textContent()).resolves.toContain('laptop lost');

    await page.goto(`${base}/admin/keys#/keys/${issuedId}`);
    await page.reload(); // a reload signs out: the admin key lived in the script's memory only
    await page.getByLabel('Admin API key').fill(adminKey);
    await page.keyboard.press('Enter');
    const oldTrail = page.getByRole('region', { name: 'Audit trail table' });
    await oldTrail.getByRole('cell', { name: 'scopes changed' }).first().waitFor();
    await oldTrail.getByRole('cell', { name: 'rotated', exact: true }).waitFor();
  });

  it("shows an owner's keys", async () => {
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('heading', { name: 'Keys of owner shop' }).waitFor();
    await page.getByRole('cell', { name: 'storefront' }).waitFor();
    await rowsAre(page, ['checkout service', 'checkout service', 'storefront']); // and the successor, newest first
    await expectAccessible(page);
  });

  it("revokes all of an owner's keys after a confirmation", async () => {
    expect(await orders(plainKey)).toBe(200);
    await page.getByLabel('Reason (kept in the audit trail)').fill('shop closed');
    await page.getByRole('button', { name: 'Revoke all…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke every key of “shop”?' });
    await confirm.waitFor();
    await expectAccessible(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-owner.png') });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await orders(plainKey)).toBe(200);
    await page.getByRole('button', { name: 'Revoke all…' }).click();
    await confirm.getByRole('button', { name: 'Revoke all now' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Revoked \d+ keys?\./ })
      .waitFor();
    expect(await orders(plainKey)).toBe(401);
    await page.getByLabel('Status').selectOption('active');
    await rowsAre(page, []);
  });

  it('works with the keyboard alone at 360 px wide', async () => {
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true });
    const small = await phone.newPage();
    watch(small);
    await small.goto(`${base}/admin/keys`);
    await small.getByLabel('Admin API key').waitFor();
    await small.keyboard.press('Tab');
    expect(await small.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await small.keyboard.press('Enter'); // to the heading, then on to the form
    await small.keyboard.press('Tab');
    expect(await small.evaluate(() => document.activeElement?.id)).toBe('admin-key');
    await small.keyboard.type(adminKey);
    await small.keyboard.press('Enter');
    await small.getByRole('cell', { name: 'nightly export' }).waitFor();
    expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await expectAccessible(small);
    await small.screenshot({ path: join(SCREENSHOTS, 'admin-mobile.png') });
    // To the issue form by keyboard: focus the link, follow it, fill the form, submit with Enter.
    await small.getByRole('link', { name: 'Issue a key' }).focus();
    await small.keyboard.press('Enter');
    await small.getByRole('heading', { name: 'Issue a key' }).waitFor();
    await small.waitForFunction(() => document.activeElement?.tagName === 'H1');
    await small.keyboard.press('Tab');
    expect(await small.evaluate(() => document.activeElement?.id)).toBe('name');
    await small.keyboard.type('keyboard key');
    await small.keyboard.press('Enter');
    const dialog = small.getByRole('dialog');
    await dialog.waitFor();
    const key = await dialog.getByLabel('Key').inputValue();
    expect(await small.evaluate(() => document.activeElement?.id)).toBe('secret-value'); // focus moved into the dialog
    await expectAccessible(small);
    await small.keyboard.press('Tab');
    await small.keyboard.press('Tab');
    await small.keyboard.press('Enter'); // "Done"
    await small.getByRole('heading', { name: 'keyboard key' }).waitFor();
    expect(await pageMemory(small)).not.toContain(key);
    // The key page with its controls fits too, and the disable toggle works by keyboard.
    await small.getByRole('button', { name: 'Save details' }).waitFor();
    expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await small.getByRole('button', { name: 'Disable', exact: true }).focus();
    await small.keyboard.press('Enter');
    await small.getByRole('button', { name: 'Enable', exact: true }).waitFor();
    await phone.close();
  });

  it('signs out a session whose key is revoked meanwhile, saying the console stopped accepting it', async () => {
    const second = await t.service.issue({ name: 'second admin', ownerId: 'ops', scopes: ['keys:admin'] });
    const other = await context.newPage();
    watch(other);
    // The calls a fresh session makes (its policies, its first page) answered before the revocation, so the
    // refusal comes from the filter change below and not from one of them still in flight.
    const answered = (path: string) =>
      other.waitForResponse((r) => r.request().resourceType() === 'fetch' && new URL(r.url()).pathname.endsWith(path));
    const settled = Promise.all([answered('/owner-policies'), answered('/keys')]);
    await signIn(other, second.key);
    await other.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await settled;
    await t.service.revoke(second.record.id, 'left the team');
    await other.getByLabel('Status').selectOption('revoked'); // the next call is refused
    await other
      .getByRole('status')
      .filter({ hasText: 'The console stopped accepting your key; sign in again.' })
      .waitFor();
    await other.getByLabel('Admin API key').waitFor();
    await other.getByLabel('Admin API key').fill(`${adminKey.slice(0, -3)}xyz`);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    expect(await other.getByText('stopped accepting').count()).toBe(0); // the notice was about the last session
    await other.close();
  });

  it("charts a key's usage: exact totals in words, one bar per bucket, per hour or per day", async () => {
    const probe = await t.service.issue({ name: 'usage probe', ownerId: 'metrics', scopes: ['orders:read'] });
    for (let i = 0; i < 3; i++) expect(await orders(probe.key)).toBe(200);
    for (let i = 0; i < 2; i++) expect(await orders(probe.key, 'POST')).toBe(403);
    await t.app.get(ApiKeyUsageRecorder).flush();
    await page.evaluate((id) => (location.hash = `#/keys/${id}`), probe.record.id);
    await page.getByRole('heading', { name: 'usage probe', level: 1 }).waitFor();
    const summary = page.locator('.usage-summary');
    await summary.filter({ hasText: '5 requests: 3 verified, 2 forbidden.' }).waitFor();
    expect(await page.locator('.usage-chart g.bucket').count()).toBe(7 * 24);
    // One bar of each colour (two if an hour turned between the requests).
    expect(await page.locator('.usage-chart rect.verified').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('.usage-chart rect.verified').count()).toBeLessThanOrEqual(2);
    expect(await page.locator('.usage-chart rect.refused').count()).toBeGreaterThanOrEqual(1);
    // Labelled axes: the count axis reads 0, half and top (at least the largest bar); the time axis, one day a span.
    await page.getByText('Requests per hour', { exact: true }).waitFor();
    await page.getByText('Time (hours, your local time)', { exact: true }).waitFor();
    const counts = (await page.locator('.count-axis span').allTextContents()).map(Number);
    expect(counts[2]).toBe(0);
    expect(counts[0]).toBe(2 * counts[1]);
    expect(counts[0]).toBeGreaterThanOrEqual(2);
    const ticks = await page.locator('.time-axis span').allTextContents();
    expect(ticks).toHaveLength(7 * 24); // one cell per bar: a label sits exactly under the bar it names
    const days = ticks.filter(Boolean);
    expect(days.length).toBeGreaterThanOrEqual(5);
    for (const day of days) expect(day).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
    // Each bar's counts, to screen readers (an image named by its counts) and keyboards (one tab stop, arrows).
    const bars = page.getByRole('img', { name: /: \d+ requests?, \d+ verified, \d+ refused$/ });
    expect(await bars.count()).toBe(7 * 24);
    const labels = await page
      .locator('.usage-chart g.bucket')
      .evaluateAll((groups) => groups.map((group) => group.getAttribute('aria-label') ?? ''));
    const sum = (word: string) =>
      labels.reduce((n, label) => n + Number(label.match(new RegExp(`(\\d+) ${word}`))![1]), 0);
    expect([sum('verified'), sum('refused')]).toEqual([3, 2]);
    expect(await page.locator('.usage-chart g.bucket[tabindex="0"]').count()).toBe(1);
    await page.mouse.move(0, 0); // no bar hovered: the line under the chart follows the keyboard
    await page.getByLabel('Usage period').focus();
    await page.keyboard.press('Tab'); // into the chart: its newest bar
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    expect(await focused()).toBe(labels[labels.length - 1]);
    await page.keyboard.press('Home');
    expect(await focused()).toBe(labels[0]);
    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe(labels[1]);
    await page.locator('.usage-readout').filter({ hasText: labels[1] }).waitFor(); // shown to sighted keyboard users
    ticks.forEach((tick, i) => tick && expect(labels[i]).toMatch(/^\d{4}-\d\d-\d\d 00:00: /)); // at midnight
    const withRequests = labels.findIndex((label) => !label.includes(': 0 requests'));
    await page.keyboard.press('End');
    for (let i = labels.length - 1; i > withRequests; i--) await page.keyboard.press('ArrowLeft');
    expect(await focused()).toMatch(/: [1-5] requests?, [0-3] verified, [0-2] refused$/);
    await page
      .locator('.usage-readout')
      .filter({ hasText: (await focused())! })
      .waitFor();
    await expectAccessible(page);
    await page
      .locator('section[aria-labelledby="usage-title"]')
      .screenshot({ path: join(SCREENSHOTS, 'admin-usage.png') });
    await page.keyboard.press('Tab'); // one tab stop: out of the chart
    expect(await page.evaluate(() => document.activeElement?.closest('svg') === null)).toBe(true);
    await page.getByLabel('Usage period').selectOption({ label: 'Last 24 hours' });
    await page.waitForFunction(() => document.querySelectorAll('.usage-chart g.bucket').length === 24);
    const hours = (await page.locator('.time-axis span').allTextContents()).filter(Boolean);
    expect(hours.length).toBeGreaterThanOrEqual(5);
    for (const hour of hours) expect(hour).toMatch(/^(00|04|08|12|16|20):00$/);
    await page.getByLabel('Usage period').selectOption({ label: 'Last 30 days' });
    await page.waitForFunction(() => document.querySelectorAll('.usage-chart g.bucket').length === 30);
    await summary.filter({ hasText: '5 requests: 3 verified, 2 forbidden.' }).waitFor();
    await page.locator('.legend').filter({ hasText: 'per day' }).waitFor();
    await page.getByText('Requests per day', { exact: true }).waitFor();
    expect((await page.locator('.time-axis span').allTextContents()).filter(Boolean)).toHaveLength(6); // every 5 days
    await expectAccessible(page);
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
