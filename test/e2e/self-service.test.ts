/**
 * "My voice mail PIN" (issue 15) in Debian's Chromium against a real
 * `umpin serve`: what a person sees and does on /my/, and what it changes —
 * the mail in the pickup directory, the phone logon of /tui/v1/logon, the
 * stored state and the audit trail. One browser for the file; each test has
 * its own browser context (cookies) and its own user.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { disableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { setUserPassword } from '../../src/operations/admin/users.ts';
import { launchChromium, signInThroughForm, startSelfServiceStack, type SelfServiceStack } from '../support/browser.ts';
import { peerSkip } from '../support/peers.ts';
import { REQUEST_XML, isActivePin, postSoap } from '../support/service.ts';

const main = (page: Page) => page.locator('main');
const fact = (page: Page, name: string) => page.locator(`dd[data-fact="${name}"]`);

describe('the self-service page in Chromium', { skip: await peerSkip('chromium') }, () => {
  let browser: Browser;
  let stack: SelfServiceStack;

  before(async () => {
    stack = await startSelfServiceStack();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  async function newPage(locale = 'en-US'): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ locale });
    return { context, page: await context.newPage() };
  }

  /** Everything a page that refused must have left as it was. */
  async function snapshot(login: string) {
    const { store } = stack.services;
    return {
      mailbox: await store.findMailbox(login),
      verifiers: (await store.findRememberedPinVerifiers(login)).map((v) => v.toString('hex')),
      pending: await store.countPendingPinChanges(login),
      mails: await stack.mailFiles(),
    };
  }

  it('signs in, shows the PIN state, resets after one confirmation; the mailed PIN logs on by phone and the state changes', async () => {
    const welcome = await stack.provision('alice', 'alice-password', '36697');
    assert.deepEqual((await stack.phoneLogon('alice', welcome)).body, { result: 'ok', mustChange: true });
    const { context, page } = await newPage();
    try {
      assert.equal(await signInThroughForm(page, stack.url, 'alice', 'alice-password'), 303);
      assert.equal(page.url(), `${stack.url}/my/pin`);
      assert.equal(await page.locator('h1').textContent(), 'My voice mail PIN');
      assert.match(await fact(page, 'pin').innerText(), /^Set on /);
      assert.match(await fact(page, 'expires').innerText(), /\d{4}/);
      assert.equal(await fact(page, 'must-change').innerText(), 'Yes', 'a welcome PIN must be changed at the first logon');
      assert.equal(await fact(page, 'locked-out').innerText(), 'No');
      assert.match(await fact(page, 'last-mail').innerText(), /^Sent to a•••@example\.com on /);
      assert.ok(!(await page.content()).includes(welcome), 'the page never shows a PIN');

      await page.getByRole('link', { name: 'Reset my PIN' }).click();
      await page.waitForURL(`${stack.url}/my/reset`);
      assert.match(await main(page).innerText(), /A new PIN will be made and sent to a•••@example\.com/);
      const before = await stack.mailFiles();
      assert.equal((await stack.newPins(before)).length, 0);
      await page.getByRole('button', { name: 'Yes, reset my PIN' }).click();
      await page.waitForURL(`${stack.url}/my/pin`);
      assert.match(await page.getByRole('status').innerText(), /A new PIN is on its way to a•••@example\.com/);

      const mails = await stack.newPins(before);
      assert.equal(mails.length, 1, 'one mail with the new PIN');
      const [mail] = mails;
      assert.equal(mail?.to, 'alice@example.com');
      assert.deepEqual((await stack.phoneLogon('alice', mail!.pin)).body, { result: 'ok', mustChange: true }, 'the mailed PIN logs on, and must be changed');
      assert.deepEqual((await stack.phoneLogon('alice', welcome)).body.result, 'wrong-pin', 'the old PIN no longer works');

      await page.reload();
      assert.equal(await page.getByRole('status').count(), 0, 'the notice is shown once');
      assert.equal(await fact(page, 'must-change').innerText(), 'Yes');
      assert.match(await fact(page, 'last-mail').innerText(), /^Sent to a•••@example\.com on /);
      assert.ok(!(await page.content()).includes(mail!.pin), 'the page never shows a PIN');

      const events = await stack.services.store.listAudit({ login: 'alice' });
      const reset = events.find((e) => e.event === 'pin.reset' && e.outcome === 'success');
      assert.equal(reset?.actor, 'alice');
      assert.equal(reset?.source, '127.0.0.1');
      assert.equal(reset?.detail?.via, 'web');
      assert.ok(events.some((e) => e.event === 'web.sign-in' && e.outcome === 'success' && e.detail?.via === 'web'));
      assert.doesNotMatch(JSON.stringify(events), new RegExp(`\\b(${mail!.pin}|${welcome})\\b`), 'no PIN in the audit trail');
    } finally {
      await context.close();
    }
  });

  it('names every rule a chosen PIN breaks; a good one is taken, and the phone accepts it without asking for another', async () => {
    await stack.provision('bob', 'bob-password', '23456');
    const { context, page } = await newPage();
    try {
      await signInThroughForm(page, stack.url, 'bob', 'bob-password');
      await page.getByRole('link', { name: 'Choose my own PIN' }).click();
      await page.waitForURL(`${stack.url}/my/choose`);
      const rules = await page.locator('#rules li').allInnerTexts();
      assert.deepEqual(rules, [
        '6 to 24 digits', 'not one digit repeated, such as 111111', 'not a run of consecutive digits, such as 123456 or 654321',
        'not the end of your extension 23456, and not containing it', 'not one of your last 5 PINs',
      ], 'the policy is shown before anything is typed');
      const pin = page.getByLabel('New PIN', { exact: true });
      assert.equal(await pin.getAttribute('inputmode'), 'numeric');
      assert.equal(await pin.getAttribute('autocomplete'), 'off');
      assert.equal(await pin.getAttribute('type'), 'password');

      const state = await snapshot('bob');
      await pin.fill('3456');
      await page.getByLabel('New PIN again').fill('3456');
      const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Save my PIN' }).click()]);
      assert.equal(refused.status(), 400);
      assert.equal(page.url(), `${stack.url}/my/choose`, 'no PIN in the URL');
      assert.deepEqual(await page.locator('#pin-error li').evaluateAll((items) => items.map((li) => li.getAttribute('data-rule'))), ['pin.too-short', 'pin.sequential', 'pin.extension']);
      assert.deepEqual(await page.locator('#pin-error li').allInnerTexts(), [
        'It must have at least 6 digits.', 'It may not be a run of consecutive digits.', 'It may not be the end of your extension or contain the whole extension.',
      ]);
      assert.equal(await page.locator('#pin').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#pin').getAttribute('aria-describedby') ?? '', /\bpin-error\b/, 'the errors are tied to the field');
      assert.equal(await page.locator('#pin').inputValue(), '', 'the PIN is not echoed back');
      assert.ok(!(await page.content()).includes('value="3456"'));
      assert.deepEqual(await snapshot('bob'), state, 'nothing changed');

      await page.locator('#pin').fill('739164');
      await page.locator('#pin2').fill('739146');
      await page.getByRole('button', { name: 'Save my PIN' }).click();
      await page.waitForLoadState();
      assert.equal(await page.locator('#pin2-error').innerText(), 'The two PINs are not the same.');
      assert.deepEqual(await snapshot('bob'), state, 'nothing changed');

      await page.locator('#pin').fill('739164');
      await page.locator('#pin2').fill('739164');
      await page.getByRole('button', { name: 'Save my PIN' }).click();
      await page.waitForURL(`${stack.url}/my/pin`);
      assert.equal(await page.getByRole('status').innerText(), 'Your new PIN is active. Use it at your next phone logon.');
      assert.equal(await fact(page, 'must-change').innerText(), 'No');
      assert.deepEqual((await stack.phoneLogon('bob', '739164')).body, { result: 'ok', mustChange: false });
      assert.ok(await isActivePin(stack.services, 'bob', '739164'));

      const events = await stack.services.store.listAudit({ login: 'bob' });
      assert.deepEqual(events.filter((e) => e.event === 'pin.change').map((e) => [e.outcome, e.detail]), [
        ['policy-violated', { via: 'web', rules: 'pin.too-short pin.sequential pin.extension' }],
        ['success', { via: 'web', mail: 'none' }],
      ]);
      assert.doesNotMatch(JSON.stringify(events), /\b(739164|3456)\b/, 'no PIN in the audit trail');
    } finally {
      await context.close();
    }
  });

  it('says the same for a wrong password and an unknown user, and limits a flood of wrong passwords on the page and on SOAP alike', async () => {
    await stack.provision('carol', 'carol-password', '51234');
    const { context, page } = await newPage();
    try {
      assert.equal(await signInThroughForm(page, stack.url, 'carol', 'not-her-password'), 400);
      const wrongPassword = await main(page).innerText();
      assert.equal(await signInThroughForm(page, stack.url, 'nobody-here', 'whatever'), 400);
      const unknownUser = await main(page).innerText();
      assert.equal(unknownUser, wrongPassword, 'one answer for both');
      assert.match(wrongPassword, /The user name or password is incorrect\./);
      assert.equal(await page.locator('#password').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.locator('#login').inputValue(), 'nobody-here', 'the user name is kept, the password is not');
      assert.equal(await page.locator('#password').inputValue(), '');

      // The limit is 10 failed sign-ins per login and address in 15 minutes (UMPIN_LIMIT_FAILED_SIGNINS).
      for (let i = 1; i < 10; i += 1) assert.equal(await signInThroughForm(page, stack.url, 'carol', `wrong-${i}`), 400);
      assert.equal(await signInThroughForm(page, stack.url, 'carol', 'carol-password'), 503, 'even the right password waits now');
      assert.match(await main(page).innerText(), /Too many attempts\. Wait a few minutes, then try again\./);
      assert.ok(page.url().endsWith('/my/sign-in'));

      const soap = await postSoap(`${stack.url}/EWS/UM2007Legacy.asmx`, await readFile(REQUEST_XML), { login: 'carol', password: 'carol-password' });
      assert.equal(soap.status, 503, 'the SOAP road shares the count');
      assert.match(soap.body, /ErrorServerBusy/);

      const events = await stack.services.store.listAudit({ login: 'carol' });
      assert.equal(events.filter((e) => e.event === 'web.sign-in' && e.outcome === 'auth-failed').length, 10);
      assert.ok(events.some((e) => e.event === 'web.sign-in' && e.outcome === 'rate-limited'));
      assert.doesNotMatch(JSON.stringify(events), /carol-password|not-her-password|wrong-\d/, 'no password in the audit trail');
    } finally {
      await context.close();
    }
  });

  it('refuses a POST without or with a wrong CSRF token with 403, and changes nothing', async () => {
    await stack.provision('dave', 'dave-password', '61234');
    const { context, page } = await newPage();
    try {
      await signInThroughForm(page, stack.url, 'dave', 'dave-password');
      const state = await snapshot('dave');
      // The browser context's own cookies go with these requests: only the token is missing or wrong.
      for (const form of [{}, { _csrf: 'not-the-token' }] as Array<Record<string, string>>) {
        const reset = await context.request.post(`${stack.url}/my/reset`, { form, maxRedirects: 0 });
        assert.equal(reset.status(), 403);
        assert.match(await reset.text(), /This form has expired or did not come from this site, so nothing was changed\./);
        const choose = await context.request.post(`${stack.url}/my/choose`, { form: { ...form, pin: '739164', pin2: '739164' }, maxRedirects: 0 });
        assert.equal(choose.status(), 403);
      }
      assert.deepEqual(await snapshot('dave'), state, 'nothing changed');
      const csrf = (await stack.services.store.listAudit({ login: 'dave' })).filter((e) => e.event === 'web.csrf');
      assert.equal(csrf.length, 4);
      assert.deepEqual(csrf[0]?.detail, { via: 'web', path: '/my/reset' });
      await page.reload();
      assert.equal(page.url(), `${stack.url}/my/pin`, 'still signed in: a refused POST ends nothing');
    } finally {
      await context.close();
    }
  });

  it('sends an idle session back to sign-in with nothing done, on another instance that shares the sessions', async () => {
    await stack.provision('erin', 'erin-password', '71234');
    const other = await stack.startInstance({ UMPIN_WEB_IDLE_SECONDS: '10' });
    const { context, page } = await newPage();
    try {
      await signInThroughForm(page, stack.url, 'erin', 'erin-password');
      // Cookies are per host, not per port: the second instance gets the first one's cookie, and opens it.
      await page.goto(`${other.url}/my/reset`);
      assert.equal(page.url(), `${other.url}/my/reset`);
      const state = await snapshot('erin');
      await page.waitForTimeout(11_000);
      await page.getByRole('button', { name: 'Yes, reset my PIN' }).click();
      await page.waitForURL(`${other.url}/my/`);
      assert.equal(await page.getByRole('status').innerText(), 'Your session has ended. Sign in again.');
      assert.equal(await page.locator('h1').innerText(), 'Sign in');
      assert.deepEqual(await snapshot('erin'), state, 'nothing changed');
      const ended = (await stack.services.store.listAudit({ login: 'erin' })).find((e) => e.event === 'web.session');
      assert.equal(ended?.outcome, 'ended-idle');
    } finally {
      await context.close();
    }
  });

  it('makes the old cookie useless after signing out', async () => {
    await stack.provision('frank', 'frank-password', '81234');
    const { context, page } = await newPage();
    const replay = await browser.newContext();
    try {
      await signInThroughForm(page, stack.url, 'frank', 'frank-password');
      await page.goto(`${stack.url}/my/reset`);
      const token = await page.locator('input[name="_csrf"]').first().inputValue();
      const cookies = await context.cookies();
      assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path, c.secure]), [['umpin_session', true, 'Strict', '/my', false]]);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${stack.url}/my/`);
      assert.equal(await page.getByRole('status').innerText(), 'You have signed out.');

      await replay.addCookies(cookies);
      const state = await snapshot('frank');
      const post = await replay.request.post(`${stack.url}/my/reset`, { form: { _csrf: token }, maxRedirects: 0 });
      assert.equal(post.status(), 303);
      assert.equal(post.headers().location, '/my/', 'back to sign-in, not done');
      assert.deepEqual(await snapshot('frank'), state, 'nothing changed');
      const again = await replay.newPage();
      await again.goto(`${stack.url}/my/pin`);
      assert.equal(again.url(), `${stack.url}/my/`);
      assert.equal(await again.locator('h1').innerText(), 'Sign in');
      const audit = await stack.services.store.listAudit({ login: 'frank' });
      assert.ok(audit.some((e) => e.event === 'web.sign-out' && e.outcome === 'success'));
      assert.ok(audit.some((e) => e.event === 'web.session' && e.outcome === 'ended-signed-out'));
    } finally {
      await replay.close();
      await context.close();
    }
  });

  it('ends every session at a password change and at a mailbox disable', async () => {
    await stack.provision('gina', 'gina-password', '91234');
    const { context, page } = await newPage();
    try {
      await signInThroughForm(page, stack.url, 'gina', 'gina-password');
      await setUserPassword(stack.services, 'gina', 'gina-new-password');
      await page.goto(`${stack.url}/my/pin`);
      assert.equal(page.url(), `${stack.url}/my/`);
      assert.equal(await page.getByRole('status').innerText(), 'Your session has ended. Sign in again.');
      assert.equal(await signInThroughForm(page, stack.url, 'gina', 'gina-password'), 400, 'the old password is gone');
      assert.equal(await signInThroughForm(page, stack.url, 'gina', 'gina-new-password'), 303);

      await disableMailbox(stack.services, 'gina');
      await page.goto(`${stack.url}/my/reset`);
      assert.equal(page.url(), `${stack.url}/my/`);
      assert.deepEqual((await stack.services.store.listAudit({ login: 'gina' })).filter((e) => e.event === 'web.session').map((e) => e.outcome),
        ['ended-credentials-changed', 'ended-credentials-changed']);
    } finally {
      await context.close();
    }
  });

  it('resets with the keyboard alone, with the focus visible at each step', async () => {
    await stack.provision('hana', 'hana-password', '30123');
    const { context, page } = await newPage();
    try {
      await page.goto(`${stack.url}/my/`);
      assert.equal(await page.evaluate('document.activeElement?.id'), 'login', 'the first field has the focus');
      await page.keyboard.type('hana');
      await page.keyboard.press('Tab');
      await page.keyboard.type('hana-password');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${stack.url}/my/pin`);

      /** Tabs forward to the control named `name` (at most 20 presses) and checks that the focus shows. */
      async function tabTo(name: string): Promise<void> {
        for (let i = 0; i < 20; i += 1) {
          await page.keyboard.press('Tab');
          // A string, evaluated in the page: this project's TypeScript has no DOM types.
          const focused = await page.evaluate<{ text?: string; outline: string }>(
            '(() => { const e = document.activeElement; return { text: e?.innerText.trim(), outline: e ? getComputedStyle(e).outlineStyle : "none" }; })()',
          );
          if (focused.text === name) {
            assert.notEqual(focused.outline, 'none', `the focus on "${name}" is visible`);
            return;
          }
        }
        assert.fail(`no "${name}" within 20 tabs`);
      }
      const before = await stack.mailFiles();
      await tabTo('Reset my PIN');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${stack.url}/my/reset`);
      await tabTo('Yes, reset my PIN');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${stack.url}/my/pin`);
      assert.match(await page.getByRole('status').innerText(), /A new PIN is on its way/);
      const [mail] = await stack.newPins(before);
      assert.deepEqual((await stack.phoneLogon('hana', mail!.pin)).body.result, 'ok');
    } finally {
      await context.close();
    }
  });

  it('renders German and Chinese from Accept-Language, and switches language from the page', async () => {
    await stack.provision('ivan', 'ivan-password', '30124');
    for (const [locale, texts] of [
      ['de-DE', { signIn: 'Anmelden', status: 'Meine Voicemail-PIN', reset: 'Meine PIN zurücksetzen', no: 'Nein', lang: 'de' }],
      ['zh-CN', { signIn: '登录', status: '我的语音信箱 PIN', reset: '重置我的 PIN', no: '否', lang: 'zh-CN' }],
    ] as const) {
      const { context, page } = await newPage(locale);
      try {
        await page.goto(`${stack.url}/my/`);
        assert.equal(await page.locator('html').getAttribute('lang'), texts.lang);
        assert.equal(await page.locator('h1').innerText(), texts.signIn);
        await signInThroughForm(page, stack.url, 'ivan', 'ivan-password');
        assert.equal(await page.locator('h1').innerText(), texts.status);
        assert.equal(await fact(page, 'locked-out').innerText(), texts.no);
        assert.equal(await page.getByRole('link', { name: texts.reset }).count(), 1);
        assert.doesNotMatch(await page.locator('body').innerText(), /\b(status|signIn|layout|rule|failure)\.[a-z]/, 'no key shows instead of a text');
      } finally {
        await context.close();
      }
    }
    const { context, page } = await newPage('en-US');
    try {
      await page.goto(`${stack.url}/my/`);
      await page.getByRole('link', { name: 'Русский' }).click();
      await page.waitForURL(`${stack.url}/my/`);
      assert.equal(await page.locator('h1').innerText(), 'Вход');
      await signInThroughForm(page, stack.url, 'ivan', 'ivan-password');
      assert.equal(await page.locator('h1').innerText(), 'Мой PIN-код голосовой почты', 'the choice outlives the sign-in');
    } finally {
      await context.close();
    }
  });

  it('sends the security headers: a strict CSP, no framing, no referrer, nothing stored', async () => {
    const response = await fetch(`${stack.url}/my/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-security-policy'), "default-src 'none';style-src 'self';img-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none'");
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
    assert.match(response.headers.get('set-cookie') ?? '', /^umpin_session=[^;]+; Path=\/my; HttpOnly; SameSite=Strict$/);
    const css = await fetch(`${stack.url}/my/style.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal((await fetch(`${stack.url}/EWS/UM2007Legacy.asmx`)).headers.get('content-security-policy'), null, 'the SOAP service keeps its own headers');
  });
});
