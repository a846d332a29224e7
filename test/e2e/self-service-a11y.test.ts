/**
 * axe-core (through @axe-core/playwright) on every self-service page in
 * every language, in Debian's Chromium: no violation of any rule axe runs
 * by default (WCAG 2.x A and AA, and its best practices).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { addUser } from '../../src/operations/admin/users.ts';
import { LANGUAGES } from '../../src/web/i18n.ts';
import { launchChromium, signInThroughForm, startSelfServiceStack, type SelfServiceStack } from '../support/browser.ts';
import { peerSkip } from '../support/peers.ts';

async function violations(page: Page): Promise<string[]> {
  const { violations: found } = await new AxeBuilder({ page }).analyze();
  return found.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('accessibility of the self-service pages (axe)', { skip: await peerSkip('chromium') }, () => {
  let browser: Browser;
  let stack: SelfServiceStack;

  before(async () => {
    stack = await startSelfServiceStack();
    browser = await launchChromium();
    await addUser(stack.services, 'no-mailbox', 'no-mailbox-password');
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  LANGUAGES.forEach((lang, index) => {
    it(`has no violations on any page in ${lang}`, async () => {
      const login = `a11y-${lang.toLowerCase()}`;
      await stack.provision(login, `${login}-password`, String(40_100 + index));
      const context = await browser.newContext();
      const page = await context.newPage();
      const found: Record<string, string[]> = {};
      const check = async (name: string) => {
        const started = Date.now();
        assert.equal(await page.locator('html').getAttribute('lang'), lang, `${name} is in ${lang}`);
        const list = await violations(page);
        if (list.length > 0) found[name] = list;
        if (process.env.A11Y_TIMING) console.log(lang, name, Date.now() - started);
      };
      // Each page once, in its fullest state (errors, notices), to keep the run short on two cores.
      try {
        await page.goto(`${stack.url}/my/?lang=${lang}`);
        await check('sign-in');
        await page.locator('form[action="/my/sign-in"] button[type="submit"]').click();
        await page.waitForLoadState();
        assert.ok(await page.locator('.field-error').count() > 0);
        await check('sign-in with errors');
        await signInThroughForm(page, stack.url, login, `${login}-password`);
        await page.goto(`${stack.url}/my/reset`);
        await check('reset confirmation');
        await page.goto(`${stack.url}/my/choose`);
        await page.locator('#pin').fill('1234');
        await page.locator('#pin2').fill('1234');
        await page.locator('form[action="/my/choose"] button[type="submit"]').click();
        await page.waitForLoadState();
        assert.ok(await page.locator('#pin-error li').count() > 0);
        await check('choose, with broken rules');
        await page.locator('#pin').fill('739164');
        await page.locator('#pin2').fill('739164');
        await page.locator('form[action="/my/choose"] button[type="submit"]').click();
        await page.waitForURL(`${stack.url}/my/pin`);
        assert.equal(await page.getByRole('status').count(), 1);
        await check('PIN state, with a notice');
        await page.goto(`${stack.url}/my/no-such-page`);
        await check('not found');
        await page.goto(`${stack.url}/my/pin`);
        await page.locator('form[action="/my/sign-out"] button').click();
        await page.waitForURL(`${stack.url}/my/`);
        await signInThroughForm(page, stack.url, 'no-mailbox', 'no-mailbox-password');
        await check('not enabled for voice mail');
      } finally {
        await context.close();
      }
      assert.deepEqual(found, {});
    });
  });
});
