/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import { withOwnerPolicies } from 'nestjs-opaque-keys/owner-policies';
import type { Browser, Page } from 'playwright-core';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { launchChromium, seriousViolations } from './browser.js';

jest.setTimeout(120_000);

/** The console's owner-policies page in headless Chromium against a real app: a policy set there refuses a key. */
describe('owner policies in the console, in a browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  const orders = (key: string) =>
    fetch(`${base}/orders`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.status);

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      extras: { features: [withOwnerPolicies()] },
      imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })],
    });
    await t.app.listen(0, '127.0.0.1');
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.context().setDefaultTimeout(8000);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signIn(key: string): Promise<void> {
    await page.goto(`${base}/admin/keys`);
    await page.getByLabel('Admin API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  }

  it('sets a policy that disables a key at once, shows it, and removes it so the key works again', async () => {
    const admin = await t.service.issue({ name: 'ops', ownerId: 'ops', scopes: ['keys:admin', 'keys:any-owner'] });
    const shop = await t.service.issue({
      name: 'storefront',
      ownerId: 'shop',
      scopes: ['orders:read', 'orders:write'],
    });
    expect(await orders(shop.key)).toBe(200);
    await signIn(admin.key);
    await page.getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('heading', { name: 'Owner policies', level: 1 }).waitFor();
    await page.getByLabel('Owner (* for the default)').fill('shop');
    await page.getByLabel('Scopes keys may hold (empty: any)').fill('orders:read');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('status').filter({ hasText: '1 key(s) disabled' }).waitFor();
    expect(await orders(shop.key)).toBe(401);
    await page.getByRole('cell', { name: 'scopes within orders:read' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('status').filter({ hasText: '1 enabled again' }).waitFor();
    expect(await orders(shop.key)).toBe(200);
  });

  it('shows a bound admin the policies read-only', async () => {
    const bound = await t.service.issue({ name: 'shop admin', ownerId: 'shop', scopes: ['keys:admin'] });
    await t.service.issue({ name: 'x', ownerId: 'shop', scopes: [] });
    await signIn(bound.key);
    await page.getByRole('link', { name: 'Policies' }).click();
    await page.getByText('Your admin key is bound to its owner: it cannot edit policies.').waitFor();
    expect(await page.getByRole('button', { name: 'Save policy' }).count()).toBe(0);
  });
});
