/**
 * The whole Voice Mail Settings service over a real socket, on both endpoint
 * paths: every operation's success answer (its exact body), its faults (HTTP
 * status, faultcode, detail), and what the stored state and the audit trail
 * show afterwards; and Autodiscover's UMUrl with its refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isActivePin, listMailFiles, postSoap, provisionMailbox, provisionMailboxInProcess, snapshotState, startTestService, type TestService } from '../support/service.ts';

const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';
const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';
const OPEN = '<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>';
const CLOSE = '</soap:Body></soap:Envelope>';
const FOLDER = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';
const PATHS = ['/EWS/UM2007Legacy.asmx', '/UnifiedMessaging/Service.asmx'];
const ALICE = { login: 'svc.alice', password: 'alice password' };
const NOBOX = { login: 'svc.nobox', password: 'nobox password' };

let service: TestService;
let alicePin: string;

before(async () => {
  service = await startTestService({ UMPIN_VOICE_ACCESS_NUMBER: '+1 555 0100' });
  alicePin = await provisionMailbox(service, ALICE.login, ALICE.password);
  const added = await service.umpin(['user', 'add', NOBOX.login, '--password-stdin'], `${NOBOX.password}\n`);
  assert.equal(added.code, 0, added.stderr);
});
after(() => service?.close());

const request = (operation: string, inner = '') => `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><${operation} xmlns="${M}">${inner}</${operation}></soap:Body></soap:Envelope>`;

function call(operation: string, inner = '', options: { path?: string; user?: { login: string; password: string } } = {}) {
  const user = options.user ?? ALICE;
  return postSoap(`${service.url}${options.path ?? PATHS[0]}`, request(operation, inner), {
    login: user.login, password: user.password, headers: { soapaction: `"${M}/${operation}"` },
  });
}

const faultBody = (faultcode: string, message: string, code: string, exceptionType?: string) =>
  `${OPEN}<soap:Fault>${exceptionType ? `<faultcode xmlns:a="${TYPES}">a:${exceptionType}</faultcode>` : `<faultcode>soap:${faultcode}</faultcode>`}` +
  `<faultstring xml:lang="en">${message}</faultstring><detail>${exceptionType ? `<ExceptionType xmlns="${M}">${exceptionType}</ExceptionType>` : ''}` +
  `<e:ResponseCode xmlns:e="${ERRORS}">${code}</e:ResponseCode><e:Message xmlns:e="${ERRORS}">${message}</e:Message></detail></soap:Fault>${CLOSE}`;

async function expectUnchanged(send: () => Promise<{ status: number; body: string }>, status: number, body: string): Promise<void> {
  const before = await snapshotState(service, [ALICE.login, NOBOX.login]);
  const answer = await send();
  assert.equal(answer.status, status, answer.body);
  assert.equal(answer.body, body);
  assert.deepEqual(await snapshotState(service, [ALICE.login, NOBOX.login]), before, 'nothing changed');
  assert.ok(await isActivePin(service.services, ALICE.login, alicePin), 'the PIN still works');
}

describe('every operation on both endpoint paths', () => {
  for (const path of PATHS) {
    it(`IsUMEnabled on ${path}: true for a mailbox, false (not a fault) without one`, async () => {
      const [yes, no] = await Promise.all([call('IsUMEnabled', '', { path }), call('IsUMEnabled', '', { path, user: NOBOX })]);
      assert.equal(yes.status, 200);
      assert.equal(yes.headers.get('content-type'), 'text/xml; charset=utf-8');
      assert.equal(yes.body, `${OPEN}<IsUMEnabledResponse xmlns="${M}"><IsUMEnabledResponse>true</IsUMEnabledResponse></IsUMEnabledResponse>${CLOSE}`);
      assert.equal(no.status, 200);
      assert.equal(no.body, `${OPEN}<IsUMEnabledResponse xmlns="${M}"><IsUMEnabledResponse>false</IsUMEnabledResponse></IsUMEnabledResponse>${CLOSE}`);
    });
  }

  it('GetUMProperties answers all five, in order; each setter is read back, on either path', async () => {
    // A mailbox of its own: it starts from the defaults whatever ran before, and no other test sees its settings.
    const user = { login: 'svc.settings', password: 'settings password' };
    await provisionMailboxInProcess(service, user.login, user.password);
    const initial = await call('GetUMProperties', '', { user });
    assert.equal(initial.body, `${OPEN}<GetUMPropertiesResponse xmlns="${M}"><GetUMPropertiesResponse><OofStatus>false</OofStatus>` +
      '<MissedCallNotificationEnabled>true</MissedCallNotificationEnabled><PlayOnPhoneDialString></PlayOnPhoneDialString>' +
      '<TelephoneAccessNumbers>+1 555 0100</TelephoneAccessNumbers><TelephoneAccessFolderEmail></TelephoneAccessFolderEmail>' +
      `</GetUMPropertiesResponse></GetUMPropertiesResponse>${CLOSE}`);
    const sets: Array<[string, string, string]> = [
      ['SetOofStatus', '<status>true</status>', PATHS[0] as string],
      ['SetMissedCallNotificationEnabled', '<status>false</status>', PATHS[1] as string],
      ['SetPlayOnPhoneDialString', '<dialString>+44 20 7946 0000</dialString>', PATHS[0] as string],
      ['SetTelephoneAccessFolderEmail', `<base64FolderID>${FOLDER}</base64FolderID>`, PATHS[1] as string],
    ];
    for (const [operation, inner, path] of sets) {
      const answer = await call(operation, inner, { path, user });
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.body, `${OPEN}<${operation}Response xmlns="${M}" />${CLOSE}`);
    }
    const after = await call('GetUMProperties', '', { path: PATHS[1], user });
    assert.match(after.body, new RegExp('<GetUMPropertiesResponse><OofStatus>true</OofStatus><MissedCallNotificationEnabled>false</MissedCallNotificationEnabled>' +
      `<PlayOnPhoneDialString>\\+44 20 7946 0000</PlayOnPhoneDialString><TelephoneAccessNumbers>\\+1 555 0100</TelephoneAccessNumbers><TelephoneAccessFolderEmail>${FOLDER.replace(/[+/]/g, '\\$&')}</TelephoneAccessFolderEmail>`));
    const shown = await service.umpin(['mailbox', 'show', user.login, '--json']);
    const json = JSON.parse(shown.stdout) as Record<string, unknown>;
    assert.deepEqual([json.oofStatus, json.missedCallNotificationEnabled, json.playOnPhoneDialString, json.telephoneAccessFolder], [true, false, '+44 20 7946 0000', FOLDER]);
    const trail = (await service.services.store.listAudit({ login: user.login })).filter((e) => e.event === 'um.setting');
    assert.deepEqual(trail.map((e) => e.detail?.setting), ['OofStatus', 'MissedCallNotificationEnabled', 'PlayOnPhoneDialString', 'TelephoneAccessFolderEmail']);
  });

  it('a setter value outside the schema or the accepted values: ErrorInvalidRequest, nothing changed', async () => {
    const cases: Array<[string, string, string]> = [
      ['SetOofStatus', '<status>maybe</status>', '&lt;status&gt; must be true or false (xs:boolean), not &quot;maybe&quot;.'],
      ['SetMissedCallNotificationEnabled', '', '&lt;SetMissedCallNotificationEnabled&gt; lacks &lt;status&gt;; it takes &lt;status&gt;.'],
      ['SetPlayOnPhoneDialString', '<dialString>my desk</dialString>', '&lt;dialString&gt; is not a telephone number: use digits, an optional leading +, and spaces, dashes, dots or parentheses between them.'],
      ['SetTelephoneAccessFolderEmail', '<base64FolderId>***</base64FolderId>', '&lt;base64FolderId&gt; is not base64 text (A–Z, a–z, 0–9, + and /, padded with =).'],
    ];
    for (const [operation, inner, message] of cases) {
      await expectUnchanged(() => call(operation, inner), 500, faultBody('Client', message, 'ErrorInvalidRequest'));
    }
  });

  it('a caller without a mailbox: ErrorUserNotUnifiedMessagingEnabled from GetUMProperties and the setters', async () => {
    const message = 'Your mailbox is not enabled for voice mail; ask your administrator to enable it.';
    await expectUnchanged(() => call('GetUMProperties', '', { user: NOBOX }), 500, faultBody('Client', message, 'ErrorUserNotUnifiedMessagingEnabled'));
    await expectUnchanged(() => call('SetOofStatus', '<status>true</status>', { user: NOBOX }), 500, faultBody('Client', message, 'ErrorUserNotUnifiedMessagingEnabled'));
  });

  it('PlayOnPhone and PlayOnPhoneGreeting without a telephony back end: soap:Server saying so; the spec\'s exceptions for bad input', async () => {
    const noTelephony = 'Play on Phone is not available: no telephony back end is configured on this server, so it cannot place calls. Ask your administrator.';
    await expectUnchanged(() => call('PlayOnPhone', `<entryId>${FOLDER}</entryId><DialString>12345</DialString>`), 500, faultBody('Server', noTelephony, 'ErrorUnifiedMessagingRequestFailed'));
    await expectUnchanged(() => call('PlayOnPhoneGreeting', '<GreetingType>NormalCustom</GreetingType><DialString>12345</DialString>', { path: PATHS[1] }),
      500, faultBody('Server', noTelephony, 'ErrorUnifiedMessagingRequestFailed'));
    await expectUnchanged(() => call('PlayOnPhone', `<entryId>${FOLDER}</entryId><DialString>call home</DialString>`), 500,
      faultBody('Client', 'The dial string is not a telephone number: use digits, an optional leading +, and spaces, dashes, dots or parentheses between them.', 'ErrorInvalidPhoneNumber', 'DialingRulesException'));
    await expectUnchanged(() => call('PlayOnPhone', '<entryId>%%</entryId><DialString>1</DialString>'), 500,
      faultBody('Client', 'The object identifier isn&apos;t valid: entryId must be the base64 text of a message&apos;s identifier.', 'ErrorInvalidRequest', 'InvalidObjectIdException'));
  });

  it('GetCallInfo and Disconnect: every call id is InvalidCallIdException', async () => {
    const message = 'The call identifier is not valid: this server issued no such call to you, or the call has ended.';
    for (const path of PATHS) {
      for (const [operation, id] of [['GetCallInfo', 'MDlkZjllZGMtNGUyMy00NzA5LWJkYWYtN2JlMjBjYjBhZTU2QGRmLWV1bS0wMS5leGNoYW5nZS5jb3JwLm1pY3Jvc29mdC5jb20='], ['Disconnect', '']]) {
        await expectUnchanged(() => call(operation as string, `<CallId>${id}</CallId>`, { path }), 500, faultBody('Client', message, 'ErrorInvalidPhoneCallId', 'InvalidCallIdException'));
      }
    }
  });

  it('a wrong password is the same 401 for every operation, audited under it', async () => {
    const wrong = { login: ALICE.login, password: 'wrong' };
    const answers = await Promise.all(['IsUMEnabled', 'GetUMProperties'].map((op) => call(op, '', { user: wrong })));
    for (const answer of answers) {
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), 'Basic realm="umpin", charset="UTF-8"');
      assert.match(answer.body, /<faultcode>soap:Client<\/faultcode>.*ErrorAccessDenied/);
    }
    const failed = (await service.services.store.listAudit({ login: ALICE.login })).filter((e) => e.outcome === 'auth-failed').map((e) => e.event);
    assert.deepEqual(failed.slice(-2).sort(), ['um.get-properties', 'um.is-enabled']);
  });

  it('the served WSDL names all eleven operations', async () => {
    const wsdl = await (await fetch(`${service.url}${PATHS[1]}?wsdl`)).text();
    for (const operation of ['Disconnect', 'GetCallInfo', 'GetUMProperties', 'IsUMEnabled', 'PlayOnPhone', 'PlayOnPhoneGreeting', 'ResetPIN',
      'SetMissedCallNotificationEnabled', 'SetOofStatus', 'SetPlayOnPhoneDialString', 'SetTelephoneAccessFolderEmail']) {
      assert.match(wsdl, new RegExp(`<soap:operation soapAction="${M}/${operation}" style="document"/>`));
    }
    assert.match(wsdl, new RegExp(`<soap:address location="${service.url}${PATHS[1]}"/>`));
    assert.doesNotMatch(wsdl, /IUM12|PiratesRE|exchange_diff|RECONSTRUCTED|\.cs\b/i, "no citation of decompiled code");
  });
});

const AD_REQUEST = (email: string, schema = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a') =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">` +
  `<Request><EMailAddress>${email}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`;
const AD_ERROR = (code: number, message: string) => '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response>' +
  `<Error><ErrorCode>${code}</ErrorCode><Message>${message}</Message><DebugData /></Error></Response></Autodiscover>`;

function autodiscover(body: string | Buffer, options: { user?: { login: string; password: string } | null; contentType?: string; path?: string } = {}) {
  const user = options.user === undefined ? ALICE : options.user;
  return postSoap(`${service.url}${options.path ?? '/Autodiscover/Autodiscover.xml'}`, body, {
    ...(user ? { login: user.login, password: user.password } : {}), contentType: options.contentType ?? 'text/xml',
  });
}

describe('Autodiscover: UMUrl for the signed-in caller', () => {
  it('answers UMUrl in EXCH and EXPR, with the mailbox\'s address', async () => {
    const answer = await autodiscover(AD_REQUEST('alice@example.org'));
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.headers.get('content-type'), 'text/xml; charset=utf-8');
    const url = `${service.url}/EWS/UM2007Legacy.asmx`;
    assert.equal(answer.body, '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">' +
      '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">' +
      `<User><DisplayName>${ALICE.login}</DisplayName><AutoDiscoverSMTPAddress>${ALICE.login}@example.com</AutoDiscoverSMTPAddress></User>` +
      `<Account><AccountType>email</AccountType><Action>settings</Action><Protocol><Type>EXCH</Type><UMUrl>${url}</UMUrl></Protocol>` +
      `<Protocol><Type>EXPR</Type><UMUrl>${url}</UMUrl></Protocol></Account></Response></Autodiscover>`);
    // The URL it names is the service: IsUMEnabled answers there.
    assert.match((await postSoap(url, request('IsUMEnabled'), { login: ALICE.login, password: ALICE.password })).body, />true</);
  });

  it('another response schema is ErrorCode 601, in band', async () => {
    const answer = await autodiscover(AD_REQUEST('a@example.org', 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006'), { path: '/autodiscover/autodiscover.xml' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, AD_ERROR(601, 'This server answers only the Outlook response schema http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a.'));
  });

  it('refuses without credentials, with a wrong password, and hostile or malformed XML, changing nothing', async () => {
    const before = await snapshotState(service, [ALICE.login]);
    const mails = await listMailFiles(service.config.pickupDir);
    const none = await autodiscover(AD_REQUEST('a@example.org'), { user: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="umpin", charset="UTF-8"');
    assert.equal(none.body, AD_ERROR(600, 'The user name or password is incorrect; sign in with your mailbox credentials.'));
    assert.equal((await autodiscover(AD_REQUEST('a@example.org'), { user: { login: ALICE.login, password: 'nope' } })).status, 401);

    const hostile: Array<[string, string, number, string]> = [
      ['a DOCTYPE with an entity', `<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>${AD_REQUEST('&x;')}`, 400, 'The request contains a DOCTYPE declaration, which this service never accepts.'],
      ['malformed XML', '<Autodiscover', 400, 'The request is not well-formed XML: document must contain a root element.'],
      ['the wrong namespace', AD_REQUEST('a@b').replace('requestschema/2006', 'requestschema/2007'), 400,
        '&lt;Autodiscover&gt; is in namespace &quot;http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2007&quot;; the request must be in http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006.'],
      ['no e-mail address', AD_REQUEST(''), 400, '&lt;Request&gt; lacks &lt;EMailAddress&gt;.'],
    ];
    for (const [name, body, status, message] of hostile) {
      const answer = await autodiscover(body);
      assert.equal(answer.status, status, name);
      assert.equal(answer.body, AD_ERROR(600, message), name);
      assert.doesNotMatch(answer.body, /root:/, 'nothing of the file comes back');
    }
    const big = await autodiscover(AD_REQUEST('x'.repeat(70_000)));
    assert.equal(big.status, 413);
    assert.equal(big.headers.get('connection'), 'close');
    assert.match(big.body, /<ErrorCode>600<\/ErrorCode>/);
    const json = await autodiscover('{}', { contentType: 'application/json' });
    assert.equal(json.status, 415);
    assert.match(json.body, /<ErrorCode>600<\/ErrorCode><Message>The Content-Type &quot;application\/json&quot; is not accepted/);
    assert.equal((await fetch(`${service.url}/autodiscover/autodiscover.xml`)).status, 405);

    assert.deepEqual(await snapshotState(service, [ALICE.login]), before);
    assert.deepEqual(await listMailFiles(service.config.pickupDir), mails);
  });

  it('UMPIN_AUTODISCOVER=false: the route is not there', async () => {
    const off = await startTestService({ UMPIN_AUTODISCOVER: 'false' });
    try {
      const answer = await postSoap(`${off.url}/autodiscover/autodiscover.xml`, AD_REQUEST('a@b'), { login: 'x', password: 'y' });
      assert.equal(answer.status, 404);
    } finally {
      await off.close();
    }
  });
});
