/**
 * Screenshots of every self-service page, in English and German, for the
 * docs (docs/screenshots/). Rerun after changing a page:
 *
 *   node --import ./scripts/preload-dependencies.mjs --import tsx scripts/screenshots.ts
 *
 * Needs Debian's chromium (apt-get install -y chromium) and, for the Chinese
 * language name in the switch, a CJK font (apt-get install -y fonts-wqy-zenhei
 * or fonts-noto-cjk); runs a throwaway
 * `umpin serve` over a temporary data directory and sends traffic to it only.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { addUser } from '../src/operations/admin/users.ts';
import { launchChromium, signInThroughForm, startSelfServiceStack } from '../test/support/browser.ts';
import { REPO } from '../test/support/service.ts';

const OUT = join(REPO, 'docs/screenshots');
const LANGUAGES = ['en', 'de'] as const;

const stack = await startSelfServiceStack();
const browser = await launchChromium();
try {
  await mkdir(OUT, { recursive: true });
  await addUser(stack.services, 'newcomer', 'newcomer-password');
  for (const [index, lang] of LANGUAGES.entries()) {
    const login = lang === 'en' ? 'alice' : 'anna';
    await stack.provision(login, 'correct horse', String(36_697 + index));
    const context = await browser.newContext({ viewport: { width: 820, height: 640 }, locale: lang });
    const page = await context.newPage();
    const shoot = async (name: string) => {
      await page.screenshot({ path: join(OUT, `${lang}-${name}.png`), fullPage: true });
      console.log(`docs/screenshots/${lang}-${name}.png`);
    };
    const submit = async (form: string) => {
      await page.locator(`form[action="/my/${form}"] button[type="submit"]`).click();
      await page.waitForLoadState();
    };
    await page.goto(`${stack.url}/my/?lang=${lang}`);
    await shoot('1-sign-in');
    await page.locator('#login').fill(login);
    await page.locator('#password').fill('wrong');
    await submit('sign-in');
    await shoot('2-sign-in-failed');
    await signInThroughForm(page, stack.url, login, 'correct horse');
    await shoot('3-pin-state');
    await page.goto(`${stack.url}/my/reset`);
    await shoot('4-reset-confirm');
    await submit('reset');
    await shoot('5-reset-sent');
    await page.goto(`${stack.url}/my/choose`);
    await shoot('6-choose');
    await fillPins(page, '3456');
    await submit('choose');
    await shoot('7-choose-rules-broken');
    await fillPins(page, '739164');
    await submit('choose');
    await shoot('8-pin-changed');
    await submit('sign-out');
    await shoot('9-signed-out');
    await signInThroughForm(page, stack.url, 'newcomer', 'newcomer-password');
    await shoot('10-not-enabled');
    await context.close();
  }
} finally {
  await browser.close();
  await stack.close();
}

async function fillPins(page: Page, pin: string): Promise<void> {
  await page.locator('#pin').fill(pin);
  await page.locator('#pin2').fill(pin);
}
