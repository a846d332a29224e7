/**
 * The phone API where PBX dialplans are (docs/pbx.md): form-encoded bodies
 * (Asterisk's CURL(), FreeSWITCH's mod_curl), HTTP Basic with the key as the
 * password (mod_xml_curl), the context/domain qualifier and its mapping rule,
 * the dry-run check and the PBX's set-PIN, and the one error vocabulary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { lockMailbox } from '../../src/operations/admin/pins.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import { createApiKey } from '../../src/operations/api-keys.ts';
import { isActivePin, listMailFiles, newPinMails, provisionMailbox, snapshotState, startTestService, type TestService } from '../support/service.ts';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

describe('phone API for PBX dialplans (forms, Basic, context/domain, check-new-pin, set-pin)', () => {
  let service: TestService;
  let key: string;
  const pins = new Map<string, string>();
  const extensions = new Map<string, string>();

  before(async () => {
    service = await startTestService({ UMPIN_PBX_EXTENSION_CONTEXTS: 'default,pbx.example.com' });
    for (const login of ['ida', 'jon', 'kim']) {
      pins.set(login, await provisionMailbox(service, login, `pw-${login}`));
      extensions.set(login, (await service.services.store.findMailbox(login))?.extension ?? '');
    }
    // A mailbox named after an Asterisk box in another context: the login says `box@context`.
    await addUser(service.services, '2001@sales', 'pw-sales-2001');
    const mails = await listMailFiles(service.config.pickupDir);
    await enableMailbox(service.services, '2001@sales', { email: 'sales-2001@example.com', extension: '88002001' });
    const [welcome] = await newPinMails(service.config.pickupDir, mails);
    assert.equal(welcome?.to, 'sales-2001@example.com');
    pins.set('2001@sales', welcome.pin);
    key = await createApiKey(service.services, 'pbx');
  });
  after(async () => {
    await service?.close();
  });

  async function post(path: string, body: string | Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
    const form = typeof body !== 'string';
    const response = await fetch(`${service.url}/tui/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json', authorization: `Bearer ${key}`, ...headers },
      body: form ? new URLSearchParams(body).toString() : body,
    });
    return { status: response.status, headers: response.headers, body: await response.json() as Record<string, unknown> };
  }
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('takes a form-encoded logon, as CURL(url,mailbox=…&pin=…) sends it', async () => {
    const answer = await post('logon', { mailbox: 'ida', pin: pins.get('ida') ?? '' });
    assert.deepEqual([answer.status, answer.body], [200, { result: 'ok', mustChange: true }]);
  });

  it('takes the API key as the password of HTTP Basic, and answers a wrong one with 401 naming both schemes', async () => {
    const right = await post('logon', { mailbox: 'ida', pin: pins.get('ida') ?? '' }, basic('freeswitch', key));
    assert.equal(right.status, 200);
    const wrong = await post('logon', { mailbox: 'ida', pin: pins.get('ida') ?? '' }, basic('freeswitch', `${key.slice(0, -1)}x`));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'auth-api-key');
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="umpin-phone", Basic realm="umpin-phone", charset="UTF-8"');
    assert.equal((await service.services.store.findMailbox('ida'))?.failedLogons, 0, 'a refused key counts no attempt');
  });

  it('maps mailbox@context by the documented rule: the login box@context first, then extensions of listed contexts', async () => {
    const ida = extensions.get('ida') ?? '';
    // `default` is listed: the box number is umpin's extension.
    assert.deepEqual((await post('logon', { mailbox: ida, context: 'default', pin: pins.get('ida') ?? '' })).body, { result: 'ok', mustChange: true });
    // FreeSWITCH's domain, listed too.
    assert.deepEqual((await post('logon', { mailbox: ida, domain: 'pbx.example.com', pin: pins.get('ida') ?? '' })).body, { result: 'ok', mustChange: true });
    // `sales` is not listed, but the login 2001@sales exists.
    assert.deepEqual((await post('logon', { mailbox: '2001', context: 'sales', pin: pins.get('2001@sales') ?? '' })).body, { result: 'ok', mustChange: true });
    // `support` is neither: the extension is not looked at, and the answer is a wrong PIN's.
    assert.deepEqual((await post('logon', { mailbox: ida, context: 'support', pin: pins.get('ida') ?? '' })).body, { result: 'wrong-pin', mustChange: false });
    assert.equal((await service.services.store.findMailbox('ida'))?.failedLogons, 0, 'that attempt named no mailbox of ida');
  });

  it('check-new-pin: a dry run that names every failed rule and changes nothing', async () => {
    const jon = extensions.get('jon') ?? '';
    const before = await snapshotState(service, ['jon']);
    assert.deepEqual((await post('check-new-pin', { mailbox: jon, context: 'default', newPin: '739104' })).body, { result: 'valid' });
    const refused = await post('check-new-pin', JSON.stringify({ mailbox: 'jon', newPin: pins.get('jon') }));
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.body, {
      error: 'pin-policy',
      message: 'The PIN does not meet the PIN policy: A PIN may not be one of your recent PINs.',
      rules: [{ id: 'pin.history', message: 'A PIN may not be one of your recent PINs.' }],
    });
    const unknown = await post('check-new-pin', { mailbox: '99999', context: 'default', newPin: '739104' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'mailbox-not-found');
    assert.deepEqual(await snapshotState(service, ['jon']), before);
  });

  it('set-pin: the PIN chosen in the PBX menu, policy and history applied, no mail; two at once both land in order', async () => {
    const jon = extensions.get('jon') ?? '';
    const mails = await listMailFiles(service.config.pickupDir);
    const before = await snapshotState(service, ['jon']);
    const bad = await post('set-pin', { mailbox: jon, context: 'default', newPin: '1111' });
    assert.equal(bad.status, 422);
    assert.deepEqual((bad.body.rules as Array<{ id: string }>).map((r) => r.id), ['pin.too-short', 'pin.repeated']);
    assert.deepEqual(await snapshotState(service, ['jon']), before, 'a refused PIN changes nothing');

    const [first, second] = await Promise.all([
      post('set-pin', { mailbox: jon, context: 'default', newPin: '739104' }),
      post('set-pin', { mailbox: jon, context: 'default', newPin: '840215' }),
    ]);
    assert.deepEqual([first.status, first.body, second.status, second.body], [200, { result: 'ok' }, 200, { result: 'ok' }]);
    const active = [await isActivePin(service.services, 'jon', '739104'), await isActivePin(service.services, 'jon', '840215')];
    assert.equal(active.filter(Boolean).length, 1, 'one of the two is the PIN, the other is in its history');
    assert.deepEqual(await listMailFiles(service.config.pickupDir), mails);
    const mailbox = await service.services.store.findMailbox('jon');
    assert.equal(mailbox?.pinExpired, false);
    assert.deepEqual((await post('logon', { mailbox: 'jon', pin: active[0] ? '739104' : '840215' })).body, { result: 'ok', mustChange: false });
  });

  it('set-pin leaves a locked mailbox locked and its PIN as it was', async () => {
    await lockMailbox(service.services, 'kim');
    const before = await snapshotState(service, ['kim']);
    const answer = await post('set-pin', { mailbox: extensions.get('kim') ?? '', context: 'default', newPin: '739104' });
    assert.deepEqual([answer.status, answer.body], [200, { result: 'locked-out' }]);
    assert.deepEqual(await snapshotState(service, ['kim']), before);
  });

  it('speaks one error vocabulary, the catalogue\'s: route, media type, body size', async () => {
    const route = await post('reset', { mailbox: 'ida' });
    assert.equal(route.status, 404);
    assert.equal(route.body.error, 'route-not-found');
    const media = await fetch(`${service.url}/tui/v1/logon`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, body: 'x' });
    assert.deepEqual([media.status, (await media.json() as { error: string }).error], [415, 'request-media-type']);
    const large = await post('logon', { mailbox: 'ida', pin: '1'.repeat(70_000) });
    assert.deepEqual([large.status, large.body.error, large.headers.get('connection')], [413, 'request-too-large', 'close']);
  });
});
