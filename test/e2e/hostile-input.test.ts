/**
 * Hostile and wrong requests over a real socket (DESIGN §1.1, §1.2, §1.4, §1.5).
 *
 * Every rejected request is judged as a caller sees it (HTTP status, content
 * type, faultcode, EWS response code or the absence of `detail`, the exact
 * sentence, the headers that go with it) and by what it must not do: the
 * stored state, the pending changes and the pickup directory are the same
 * before and after, and the PIN that worked before still works.
 *
 * The requests that must be accepted are checked the same way from the other
 * side: HTTP 200, exactly the reference response's shape, one new mail, and
 * the PIN in that mail is the active one.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import type { EwsResponseCode, SoapFaultCode } from '../../src/errors.ts';
import { MAX_DEPTH } from '../../src/soap/envelope.ts';
import {
  REPO,
  isActivePin,
  listMailFiles,
  newPinMails,
  postSoap,
  provisionMailbox,
  snapshotState,
  startTestService,
  type TestService,
} from '../support/service.ts';
import { countPendingPinChanges } from '../support/store-readers.ts';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const M_HTTPS = 'https://schemas.microsoft.com/exchange/services/2006/messages';
const T = 'http://schemas.microsoft.com/exchange/services/2006/types';
const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD = 'http://www.w3.org/2001/XMLSchema';
const XMLNS = 'http://www.w3.org/2000/xmlns/';

const LOGIN = 'hostile.alice';
const PASSWORD = 'correct horse battery staple';
const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';
const BODY_LIMIT = 65_536;

const MESSAGES = {
  doctype: 'The request contains a DOCTYPE declaration, which this service never accepts.',
  processingInstruction: 'The request contains a processing instruction, which this service does not accept.',
  notUtf8: 'The request body is not valid UTF-8; send the envelope encoded as UTF-8.',
  soap12Envelope: 'This service speaks SOAP 1.1 only, and the request is a SOAP 1.2 envelope; send a SOAP 1.1 envelope as text/xml.',
  soap12MediaType: 'This service speaks SOAP 1.1 only; send the envelope as text/xml, not application/soap+xml (SOAP 1.2).',
  tooLarge: `The request body is larger than this service accepts (${BODY_LIMIT} bytes); a ResetPIN request is a few hundred bytes.`,
  accessDenied: 'The user name or password is incorrect; sign in with your mailbox credentials.',
  twoBodyChildren: 'The Body must hold exactly one element; it holds more.',
  wrongNamespace: (uri: string) => `The Body holds <ResetPIN> in namespace "${uri}"; ResetPIN must be in namespace ${M}.`,
  notWellFormed: (detail: string) => `The request is not well-formed XML: ${detail}.`,
} as const;

/** The one request shape most cases vary: an Envelope, an optional Header, a Body. */
function envelope(bodyContent: string, options: { header?: string; envelopeAttributes?: string; declaration?: string } = {}): string {
  return (
    `${options.declaration ?? '<?xml version="1.0" encoding="utf-8"?>'}\n` +
    `<soap:Envelope xmlns:soap="${SOAP11}"${options.envelopeAttributes ? ` ${options.envelopeAttributes}` : ''}>` +
    (options.header === undefined ? '' : `<soap:Header>${options.header}</soap:Header>`) +
    `<soap:Body>${bodyContent}</soap:Body></soap:Envelope>`
  );
}
const RESET_PIN = `<ResetPIN xmlns="${M}" />`;
const VALID_REQUEST = envelope(RESET_PIN);

// ---------------------------------------------------------------------------
// What came back, whatever client sent it.

interface Answer {
  readonly status: number;
  readonly body: string;
  header(name: string): string | undefined;
}

/** Through the harness' fetch-based client. */
async function post(
  body: string | Uint8Array,
  options: { login?: string; password?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const call = await postSoap(service.endpoint, body, { login: LOGIN, password: PASSWORD, ...options });
  return { status: call.status, body: call.body, header: (name) => call.headers.get(name) ?? undefined };
}

function basicAuthorization(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
}

/**
 * A raw `http.request`, for bodies the server is allowed to stop reading.
 * With `chunked`, chunks are written until the answer arrives (at most
 * `maxBytes`), and only then would the request be ended: a server that reads
 * to the end before answering shows up as `answeredBeforeEnd === false`.
 */
function rawPost(
  body: { fixed: Buffer } | { chunked: Buffer; maxBytes: number },
  headers: Record<string, string>,
): Promise<Answer & { readonly answeredBeforeEnd: boolean; readonly bytesWritten: number }> {
  const url = new URL(service.endpoint);
  return new Promise((resolve, reject) => {
    let settled = false;
    let ended = false;
    let answered = false;
    let answeredBeforeEnd = false;
    let bytesWritten = 0;
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent: false },
      (response) => {
        answered = true;
        answeredBeforeEnd = !ended;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          settled = true;
          const responseHeaders: IncomingHttpHeaders = response.headers;
          const body = Buffer.concat(chunks).toString('utf8');
          outgoing.destroy();
          resolve({
            status: response.statusCode ?? 0,
            body,
            header: (name) => {
              const value = responseHeaders[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            answeredBeforeEnd,
            bytesWritten,
          });
        });
        response.on('error', (error) => { if (!settled) reject(error); });
      },
    );
    // Once the server has answered and closed, our unfinished upload may fail (EPIPE, ECONNRESET): that is expected.
    outgoing.on('error', (error) => { if (!settled && !answered) reject(error); });
    if ('fixed' in body) {
      bytesWritten = body.fixed.length;
      ended = true;
      outgoing.end(body.fixed);
      return;
    }
    const { chunked, maxBytes } = body;
    void (async () => {
      while (!answered && !outgoing.destroyed && bytesWritten < maxBytes) {
        const flushed = outgoing.write(chunked);
        bytesWritten += chunked.length;
        if (!flushed) await new Promise<void>((r) => { outgoing.once('drain', r); outgoing.once('close', r); });
        await new Promise<void>((r) => setTimeout(r, 2));
      }
      if (!answered && !outgoing.destroyed) {
        ended = true;
        outgoing.end();
      }
    })();
  });
}

// ---------------------------------------------------------------------------
// A namespace-aware reading of the answer, so that the assertions are about
// names, namespaces and structure, not about one serialisation.

interface XmlElement {
  readonly uri: string;
  readonly local: string;
  /** Prefix → URI for every binding in scope at this element. */
  readonly scope: Readonly<Record<string, string>>;
  /** The prefixes this element declares itself. */
  readonly declares: Readonly<Record<string, string>>;
  /** Attributes other than namespace declarations, as `{uri}local` → value. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  parser.on('opentag', (tag: SaxesTagNS) => {
    const parent = stack.at(-1);
    const attributes: Record<string, string> = {};
    for (const attribute of Object.values(tag.attributes)) {
      if (attribute.uri === XMLNS || attribute.name === 'xmlns') continue;
      attributes[`{${attribute.uri}}${attribute.local}`] = attribute.value;
    }
    const element: XmlElement = {
      uri: tag.uri,
      local: tag.local,
      scope: { ...parent?.scope, ...tag.ns },
      declares: { ...tag.ns },
      attributes,
      children: [],
      text: '',
    };
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => { stack.pop(); });
  parser.on('text', (value) => { const top = stack.at(-1); if (top) top.text += value; });
  parser.on('cdata', (value) => { const top = stack.at(-1); if (top) top.text += value; });
  parser.on('error', (error) => { throw error; });
  parser.write(text).close();
  assert.ok(root, 'the answer holds no XML element');
  return root;
}

/** Structure only: names, namespaces, attributes, children; whitespace-only text dropped. */
function shape(element: XmlElement): unknown {
  return {
    name: `{${element.uri}}${element.local}`,
    attributes: element.attributes,
    text: element.text.trim(),
    children: element.children.map(shape),
  };
}

function only(parent: XmlElement, uri: string, local: string): XmlElement {
  assert.deepEqual(
    parent.children.map((c) => `{${c.uri}}${c.local}`),
    [`{${uri}}${local}`],
    `<${parent.local}> must hold exactly one {${uri}}${local}`,
  );
  return parent.children[0] as XmlElement;
}

// ---------------------------------------------------------------------------
// The fault a caller sees.

interface ExpectedFault {
  readonly status: number;
  readonly faultcode: SoapFaultCode;
  /** The EWS code in `detail`; undefined means the fault must have no `detail` at all. */
  readonly code: EwsResponseCode | undefined;
  readonly faultstring: string | RegExp;
  /** Extra response headers, exactly. */
  readonly headers?: Readonly<Record<string, string>>;
}

function assertFault(answer: Answer, expected: ExpectedFault): void {
  const context = `answer was HTTP ${answer.status}: ${answer.body}`;
  assert.equal(answer.status, expected.status, `HTTP status; ${context}`);
  assert.equal(answer.header('content-type'), SOAP_CONTENT_TYPE, `content-type; ${context}`);
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    assert.equal(answer.header(name), value, `header ${name}; ${context}`);
  }

  const root = parseXml(answer.body);
  assert.equal(`{${root.uri}}${root.local}`, `{${SOAP11}}Envelope`, context);
  const fault = only(only(root, SOAP11, 'Body'), SOAP11, 'Fault');
  const names = fault.children.map((c) => `{${c.uri}}${c.local}`);
  assert.deepEqual(names, expected.code === undefined ? ['{}faultcode', '{}faultstring'] : ['{}faultcode', '{}faultstring', '{}detail'], context);
  const [faultcode, faultstring, detail] = fault.children as [XmlElement, XmlElement, XmlElement | undefined];

  // The faultcode is a QName: its prefix must be bound to the SOAP 1.1 envelope namespace.
  assert.equal(faultcode.text.trim(), `soap:${expected.faultcode}`, context);
  assert.equal(faultcode.scope.soap, SOAP11, 'the faultcode prefix is bound to the SOAP 1.1 namespace');

  const sentence = faultstring.text;
  if (typeof expected.faultstring === 'string') assert.equal(sentence, expected.faultstring, context);
  else assert.match(sentence, expected.faultstring, context);
  // One plain sentence: no stack trace, no file path, no secret.
  assert.doesNotMatch(sentence, /\n|\bat .+:\d+:\d+|\/(?:etc|tmp|work|home|var)\/|node_modules|\.ts\b/);
  assert.ok(!sentence.includes(PASSWORD), 'the faultstring never holds the password');
  assert.ok(!answer.body.includes(currentPin), 'the answer never holds the PIN');

  if (expected.code !== undefined) {
    assert.ok(detail);
    assert.deepEqual(detail.children.map((c) => `{${c.uri}}${c.local}`), [`{${ERRORS}}ResponseCode`, `{${ERRORS}}Message`], context);
    const [responseCode, message] = detail.children as [XmlElement, XmlElement];
    assert.equal(responseCode.text.trim(), expected.code, context);
    assert.equal(message.text, sentence, 'detail/Message is the faultstring');
  }
}

// ---------------------------------------------------------------------------
// Nothing changed, something changed.

let service: TestService;
/** The PIN that must work now: the welcome PIN until a case that must succeed has reset it. */
let currentPin: string;

/** Sends a request that must be rejected; asserts the fault and that nothing changed. */
async function expectRejected(send: () => Promise<Answer>, expected: ExpectedFault): Promise<Answer> {
  const pickupDir = service.config.pickupDir;
  const before = await snapshotState(service, [LOGIN]);
  const mailsBefore = await listMailFiles(pickupDir);
  try {
    const answer = await send();
    assertFault(answer, expected);
    assert.deepEqual(await snapshotState(service, [LOGIN]), before, 'a rejected request changed the stored state, the pending changes or the pickup directory');
    assert.equal(await isActivePin(service.services, LOGIN, currentPin), true, 'the PIN that worked before still works');
    return answer;
  } finally {
    // Should a rejected request have reset the PIN after all, follow it, so the next case is judged on its own.
    const leaked = await newPinMails(pickupDir, mailsBefore).catch(() => []);
    const last = leaked.at(-1);
    if (last) currentPin = last.pin;
  }
}

/** Sends a request that must succeed; asserts the exact response shape, one new mail, and that its PIN is now the active one. */
async function expectReset(send: () => Promise<Answer>, namespace: typeof M | typeof M_HTTPS = M): Promise<void> {
  const pickupDir = service.config.pickupDir;
  const mailsBefore = await listMailFiles(pickupDir);
  const oldPin = currentPin;
  const answer = await send();
  const mails = await newPinMails(pickupDir, mailsBefore);
  const newest = mails.at(-1);
  if (newest) currentPin = newest.pin;

  assert.equal(answer.status, 200, `answer was HTTP ${answer.status}: ${answer.body}`);
  assert.equal(answer.header('content-type'), SOAP_CONTENT_TYPE);
  const reference = namespace === M ? RESPONSE_FIXTURE : RESPONSE_FIXTURE_HTTPS;
  const root = parseXml(answer.body);
  assert.deepEqual(shape(root), shape(parseXml(reference)), `the response must have the reference shape: ${answer.body}`);
  assert.equal(root.declares.soap, SOAP11);
  assert.equal(root.declares.xsi, XSI);
  assert.equal(root.declares.xsd, XSD);
  assert.equal(only(only(root, SOAP11, 'Body'), namespace, 'ResetPINResponse').uri, namespace);

  assert.equal(mails.length, 1, 'exactly one mail carries the new PIN');
  const mail = mails[0];
  assert.ok(mail);
  assert.ok(mail.to.includes(`${LOGIN}@example.com`), `the mail goes to the caller, not to ${mail.to}`);
  assert.notEqual(mail.pin, oldPin);
  assert.equal(await isActivePin(service.services, LOGIN, mail.pin), true, 'the mailed PIN is the active one');
  assert.equal(await isActivePin(service.services, LOGIN, oldPin), false, 'the old PIN no longer works');
  assert.equal(await countPendingPinChanges(service.services.store), 0, 'no pending change is left behind');
}

const RESPONSE_FIXTURE = readFileSync(`${REPO}test/fixtures/resetpin-response.xml`, 'utf8');
const RESPONSE_FIXTURE_HTTPS = readFileSync(`${REPO}test/fixtures/resetpin-response-https-variant.xml`, 'utf8');

const schemaFault = (faultstring: string | RegExp): ExpectedFault => ({ status: 500, faultcode: 'Client', code: 'ErrorSchemaValidation', faultstring });
const invalidRequest = (faultstring: string | RegExp, status = 500): ExpectedFault => ({ status, faultcode: 'Client', code: 'ErrorInvalidRequest', faultstring });
const accessDenied: ExpectedFault = {
  status: 401,
  faultcode: 'Client',
  code: 'ErrorAccessDenied',
  faultstring: MESSAGES.accessDenied,
  headers: { 'www-authenticate': 'Basic realm="umpin", charset="UTF-8"' },
};

before(async () => {
  service = await startTestService();
  currentPin = await provisionMailbox(service, LOGIN, PASSWORD);
  assert.equal(service.config.bodyLimit, BODY_LIMIT, 'these cases assume the default body limit');
});

after(async () => {
  await service?.close();
});

// ---------------------------------------------------------------------------

describe('hostile or wrong requests: the complete fault, and nothing changed', () => {
  it('malformed XML (an unclosed tag) is soap:Client ErrorSchemaValidation', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11}"><soap:Body><ResetPIN xmlns="${M}" /></soap:Body>`;
    await expectRejected(() => post(body), schemaFault(MESSAGES.notWellFormed('unclosed tag: soap:Envelope')));
  });

  it('a DOCTYPE with an internal subset is refused', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE soap:Envelope [<!ELEMENT soap:Envelope ANY><!ATTLIST soap:Envelope id ID #IMPLIED>]>\n${envelope(RESET_PIN, { declaration: '' })}`;
    await expectRejected(() => post(body), schemaFault(MESSAGES.doctype));
  });

  it('XXE (an external entity naming file:///etc/passwd) is refused and nothing of the file comes back', async () => {
    const body =
      `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n` +
      `<soap:Envelope xmlns:soap="${SOAP11}"><soap:Body><ResetPIN xmlns="${M}">&xxe;</ResetPIN></soap:Body></soap:Envelope>`;
    const answer = await expectRejected(() => post(body), schemaFault(MESSAGES.doctype));
    assert.doesNotMatch(answer.body, /root:|\/bin\/(?:ba)?sh|nologin/);
  });

  it('billion laughs (nested entity definitions) is refused at once', async () => {
    const entities = ['<!ENTITY lol0 "lol">'];
    for (let i = 1; i <= 9; i += 1) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    const body =
      `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE soap:Envelope [${entities.join('')}]>\n` +
      `<soap:Envelope xmlns:soap="${SOAP11}"><soap:Body><ResetPIN xmlns="${M}">&lol9;</ResetPIN></soap:Body></soap:Envelope>`;
    const started = performance.now();
    const answer = await expectRejected(() => post(body), schemaFault(MESSAGES.doctype));
    assert.ok(performance.now() - started < 5_000, 'no entity was expanded');
    assert.ok(answer.body.length < 2_000, 'the answer is a short fault, not an expansion');
  });

  it('a SOAP 1.2 envelope sent as text/xml is soap:VersionMismatch, HTTP 500, without detail', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="${SOAP12}"><env:Body><ResetPIN xmlns="${M}" /></env:Body></env:Envelope>`;
    await expectRejected(() => post(body), { status: 500, faultcode: 'VersionMismatch', code: undefined, faultstring: MESSAGES.soap12Envelope });
  });

  it('Content-Type application/soap+xml is HTTP 415 soap:VersionMismatch, without detail', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="${SOAP12}"><env:Body><ResetPIN xmlns="${M}" /></env:Body></env:Envelope>`;
    await expectRejected(
      () => post(body, { contentType: `application/soap+xml; charset=utf-8; action="${M}/ResetPIN"` }),
      { status: 415, faultcode: 'VersionMismatch', code: undefined, faultstring: MESSAGES.soap12MediaType },
    );
  });

  it('ResetPIN in a wrong messages namespace is refused (dispatch is never by local name alone)', async () => {
    await expectRejected(() => post(envelope('<ResetPIN xmlns="http://example.com/ns" />')), schemaFault(MESSAGES.wrongNamespace('http://example.com/ns')));
  });

  it('ResetPIN in no namespace is refused', async () => {
    await expectRejected(() => post(envelope('<ResetPIN />')), schemaFault(MESSAGES.wrongNamespace('')));
  });

  it('an unbound prefix (<m:ResetPIN/> with m undeclared) is malformed XML', async () => {
    await expectRejected(() => post(envelope('<m:ResetPIN />')), schemaFault(MESSAGES.notWellFormed('unbound namespace prefix: "m"')));
  });

  it('two root elements are refused', async () => {
    const body = VALID_REQUEST + envelope(RESET_PIN, { declaration: '' });
    await expectRejected(() => post(body), schemaFault(MESSAGES.notWellFormed('documents may contain only one root')));
  });

  it('two Body children are refused', async () => {
    await expectRejected(() => post(envelope(RESET_PIN + RESET_PIN)), schemaFault(MESSAGES.twoBodyChildren));
  });

  it('a child element inside ResetPIN is refused', async () => {
    await expectRejected(
      () => post(envelope(`<ResetPIN xmlns="${M}"><Mailbox>someone.else@example.com</Mailbox></ResetPIN>`)),
      schemaFault('<ResetPIN> must be empty, but it holds the element <Mailbox>.'),
    );
  });

  it('non-whitespace text inside ResetPIN is refused', async () => {
    await expectRejected(() => post(envelope(`<ResetPIN xmlns="${M}">  1234  </ResetPIN>`)), schemaFault('<ResetPIN> must be empty, but it holds text.'));
  });

  it('a SOAPAction naming another operation than the body is soap:Client ErrorInvalidRequest', async () => {
    const action = `${M}/IsUMEnabled`;
    await expectRejected(
      () => post(VALID_REQUEST, { headers: { soapaction: `"${action}"` } }),
      invalidRequest(`The SOAPAction header "${action}" does not match the operation in the body (ResetPIN); send SOAPAction "${M}/ResetPIN" or none.`),
    );
  });

  it('an element of the messages namespace that is no operation is refused', async () => {
    await expectRejected(
      () => post(envelope(`<DeleteMailbox xmlns="${M}" />`)),
      schemaFault('The Body holds <DeleteMailbox>, which is not an operation of this service; send one such as <ResetPIN/>.'),
    );
  });

  it('Content-Type application/json is HTTP 415 ErrorInvalidRequest', async () => {
    await expectRejected(
      () => post(VALID_REQUEST, { contentType: 'application/json' }),
      invalidRequest('The Content-Type "application/json" is not accepted; send the SOAP 1.1 envelope as text/xml; charset=utf-8.', 415),
    );
  });

  it('text/xml with a charset other than utf-8 is HTTP 415 ErrorInvalidRequest (DESIGN §1.1: "Anything else: HTTP 415")', async () => {
    await expectRejected(
      () => post(VALID_REQUEST, { contentType: 'text/xml; charset=iso-8859-1' }),
      invalidRequest('The charset "iso-8859-1" is not accepted; this service reads UTF-8 only.', 415),
    );
  });

  it('an XML declaration naming encoding="ISO-8859-1" is soap:Client ErrorInvalidRequest', async () => {
    const body = envelope(RESET_PIN, { declaration: '<?xml version="1.0" encoding="ISO-8859-1"?>' });
    await expectRejected(
      () => post(body, { contentType: 'text/xml' }),
      invalidRequest('The XML declaration names the encoding "ISO-8859-1"; this service accepts UTF-8 only.'),
    );
  });

  it('a body over the limit (70 000 bytes with Content-Length) is HTTP 413 with Connection: close', async () => {
    const padding = `<!--${'x'.repeat(70_000)}-->`;
    const body = Buffer.from(envelope(RESET_PIN, { header: padding }));
    assert.ok(body.length > 70_000);
    await expectRejected(
      () => rawPost({ fixed: body }, {
        'content-type': SOAP_CONTENT_TYPE,
        'content-length': String(body.length),
        authorization: basicAuthorization(LOGIN, PASSWORD),
      }),
      { ...invalidRequest(MESSAGES.tooLarge, 413), headers: { connection: 'close' } },
    );
  });

  it('a chunked body over the limit is HTTP 413 with Connection: close, answered without reading it to the end', async () => {
    const chunk = Buffer.from(`<!--${'y'.repeat(8_185)}-->`); // 8 KiB of comment per chunk
    let answer: Awaited<ReturnType<typeof rawPost>> | undefined;
    await expectRejected(
      async () => {
        answer = await rawPost({ chunked: chunk, maxBytes: 4 * 1024 * 1024 }, {
          'content-type': SOAP_CONTENT_TYPE,
          'transfer-encoding': 'chunked',
          authorization: basicAuthorization(LOGIN, PASSWORD),
        });
        return answer;
      },
      { ...invalidRequest(MESSAGES.tooLarge, 413), headers: { connection: 'close' } },
    );
    assert.ok(answer);
    assert.equal(answer.answeredBeforeEnd, true, `the server read the whole upload (${answer.bytesWritten} bytes) before answering`);
  });

  it('bytes that are not valid UTF-8 (0xC3 0x28) inside a comment are soap:Client ErrorInvalidRequest', async () => {
    const [head, tail] = envelope(RESET_PIN, { header: '<!-- BAD -->' }).split('BAD') as [string, string];
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28]), Buffer.from(tail)]);
    await expectRejected(() => post(body), invalidRequest(MESSAGES.notUtf8));
  });

  it('bytes that are not valid UTF-8 (0xC3 0x28) in text are soap:Client ErrorInvalidRequest', async () => {
    const [head, tail] = envelope(`<ResetPIN xmlns="${M}">BAD</ResetPIN>`).split('BAD') as [string, string];
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28]), Buffer.from(tail)]);
    await expectRejected(() => post(body), invalidRequest(MESSAGES.notUtf8));
  });

  it('a processing instruction other than the XML declaration is refused', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<?xml-stylesheet type="text/xsl" href="http://example.com/x.xsl"?>\n${envelope(RESET_PIN, { declaration: '' })}`;
    await expectRejected(() => post(body), schemaFault(MESSAGES.processingInstruction));
  });

  it('nesting deeper than the bound (40 elements inside a header block) is refused', async () => {
    const depth = 40;
    assert.ok(depth > MAX_DEPTH);
    const header = `<x:Deep xmlns:x="urn:example:deep">${'<x:n>'.repeat(depth)}${'</x:n>'.repeat(depth)}</x:Deep>`;
    await expectRejected(() => post(envelope(RESET_PIN, { header })), schemaFault(`The envelope is nested deeper than ${MAX_DEPTH} elements.`));
  });

  it('an unknown header block with soap:mustUnderstand="1" is soap:MustUnderstand without detail', async () => {
    const header = `<x:Trace xmlns:x="urn:example:trace" soap:mustUnderstand="1">on</x:Trace>`;
    await expectRejected(() => post(envelope(RESET_PIN, { header })), {
      status: 500,
      faultcode: 'MustUnderstand',
      code: undefined,
      faultstring: 'The header {urn:example:trace}Trace is marked mustUnderstand but this service does not understand it; remove it or its mustUnderstand attribute.',
    });
  });

  // Each test that compares with a wrong password's answer asks for one itself, so it runs alone
  // (--test-name-pattern) and always compares. Four wrong passwords in all stay far below the
  // failed sign-in limit (10 per 15 minutes).
  const wrongPasswordBody = async () => (await expectRejected(() => post(VALID_REQUEST, { password: `${PASSWORD}!` }), accessDenied)).body;

  it('a wrong password is HTTP 401 ErrorAccessDenied with WWW-Authenticate', async () => {
    await expectRejected(() => post(VALID_REQUEST, { password: `${PASSWORD}!` }), accessDenied);
  });

  it('an unknown user gets the very same 401 as a wrong password (byte-equal body)', async () => {
    const wrong = await wrongPasswordBody();
    const answer = await expectRejected(() => post(VALID_REQUEST, { login: 'nobody.here', password: PASSWORD }), accessDenied);
    assert.equal(answer.body, wrong);
  });

  it('no Authorization header is HTTP 401 ErrorAccessDenied', async () => {
    const answer = await expectRejected(
      () => postSoap(service.endpoint, VALID_REQUEST).then((c) => ({ status: c.status, body: c.body, header: (n: string) => c.headers.get(n) ?? undefined })),
      accessDenied,
    );
    assert.equal(answer.body, await wrongPasswordBody());
  });

  it('a malformed Authorization header (Basic !!!) is HTTP 401 ErrorAccessDenied', async () => {
    const answer = await expectRejected(
      () => postSoap(service.endpoint, VALID_REQUEST, { headers: { authorization: 'Basic !!!' } })
        .then((c) => ({ status: c.status, body: c.body, header: (n: string) => c.headers.get(n) ?? undefined })),
      accessDenied,
    );
    assert.equal(answer.body, await wrongPasswordBody());
  });
});

describe('hostile or wrong requests to the other operations: ErrorInvalidRequest, and nothing changed', () => {
  const op = (name: string, inner: string) => envelope(`<${name} xmlns="${M}">${inner}</${name}>`);
  const FOLDER = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';
  const cases: Array<[string, string, string]> = [
    ['a wrong type: SetOofStatus status "yes"', op('SetOofStatus', '<status>yes</status>'), '<status> must be true or false (xs:boolean), not "yes".'],
    ['a wrong type: SetMissedCallNotificationEnabled status "2"', op('SetMissedCallNotificationEnabled', '<status>2</status>'), '<status> must be true or false (xs:boolean), not "2".'],
    ['a missing child: SetPlayOnPhoneDialString without dialString', op('SetPlayOnPhoneDialString', ''), '<SetPlayOnPhoneDialString> lacks <dialString>; it takes <dialString>.'],
    ['a missing child: PlayOnPhone without DialString', op('PlayOnPhone', `<entryId>${FOLDER}</entryId>`), '<PlayOnPhone> lacks <DialString>; it takes <entryId> then <DialString>.'],
    ['an extra child: two status elements', op('SetOofStatus', '<status>true</status><status>true</status>'), '<SetOofStatus> holds an unexpected element <status>; it takes <status>.'],
    ['an extra child in IsUMEnabled', op('IsUMEnabled', '<Mailbox>bob</Mailbox>'), '<IsUMEnabled> must be empty, but it holds the element <Mailbox>.'],
    ['an extra child in GetCallInfo', op('GetCallInfo', '<CallId>x</CallId><Force>true</Force>'), '<GetCallInfo> holds an unexpected element <Force>; it takes <CallId>.'],
    ['a huge string: a dial string of 2000 digits', op('SetPlayOnPhoneDialString', `<dialString>${'1'.repeat(2000)}</dialString>`), '<dialString> holds more than 1024 characters.'],
    ['a long but parseable dial string (65 digits)', op('SetPlayOnPhoneDialString', `<dialString>${'1'.repeat(65)}</dialString>`), '<dialString> is longer than 64 characters.'],
    ['a folder id of 600 base64 characters', op('SetTelephoneAccessFolderEmail', `<base64FolderId>${'A'.repeat(600)}</base64FolderId>`), '<base64FolderId> is longer than 512 characters.'],
    ['a wrong namespace on a child', op('SetOofStatus', '<x:status xmlns:x="urn:evil">true</x:status>'), `<SetOofStatus> holds <status> in namespace "urn:evil" where <status> in namespace ${M} belongs; it takes <status>.`],
    ['a child in no namespace', op('SetTelephoneAccessFolderEmail', `<base64FolderId xmlns="">${FOLDER}</base64FolderId>`),
      `<SetTelephoneAccessFolderEmail> holds <base64FolderId> in namespace "" where <base64FolderId> in namespace ${M} belongs; it takes <base64FolderId>.`],
    ['markup inside a value', op('SetPlayOnPhoneDialString', '<dialString><b>1</b></dialString>'), '<dialString> holds text only, but it holds the element <b>.'],
    ['an entity-looking value is text, not expanded, and not a number', op('SetPlayOnPhoneDialString', '<dialString>&amp;lol;</dialString>'),
      '<dialString> is not a telephone number: use digits, an optional leading +, and spaces, dashes, dots or parentheses between them.'],
    ['a greeting type outside the two', op('PlayOnPhoneGreeting', '<GreetingType>Evil</GreetingType><DialString>1</DialString>'), '<GreetingType> must be NormalCustom or OofCustom, not "Evil".'],
  ];
  for (const [name, body, faultstring] of cases) {
    it(name, async () => {
      const operation = /<(\w+) xmlns="http:\/\/schemas\.microsoft\.com/.exec(body)?.[1] ?? '';
      await expectRejected(() => post(body, { headers: { soapaction: `"${M}/${operation}"` } }), invalidRequest(faultstring));
    });
  }

  it('a DOCTYPE before a setter is refused before it is read (ErrorSchemaValidation)', async () => {
    await expectRejected(() => post(`<!DOCTYPE x [<!ENTITY a "1">]>${op('SetPlayOnPhoneDialString', '<dialString>&a;</dialString>')}`), schemaFault(MESSAGES.doctype));
  });

  it('a setter with a wrong password is 401 and changes nothing', async () => {
    await expectRejected(() => post(op('SetOofStatus', '<status>true</status>'), { password: 'wrong' }), accessDenied);
  });
});

describe('unusual but valid requests: ResetPINResponse, and a new mail whose PIN is active', () => {
  it('the m: prefix declared on ResetPIN', async () => {
    await expectReset(() => post(envelope(`<m:ResetPIN xmlns:m="${M}" />`)));
  });

  it('a prefix declared on the Envelope', async () => {
    await expectReset(() => post(envelope('<m:ResetPIN />', { envelopeAttributes: `xmlns:m="${M}"` })));
  });

  it('the https alias namespace, echoed in the response', async () => {
    await expectReset(() => post(envelope(`<ResetPIN xmlns="${M_HTTPS}" />`)), M_HTTPS);
  });

  it('a soap:Header with t:RequestServerVersion marked mustUnderstand="1"', async () => {
    const header = `<t:RequestServerVersion Version="Exchange2010" soap:mustUnderstand="1" xmlns:t="${T}" />`;
    await expectReset(() => post(envelope(RESET_PIN, { header })));
  });

  it('a UTF-8 byte-order mark before the XML declaration', async () => {
    await expectReset(() => post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(VALID_REQUEST)])));
  });

  it('SOAP::Lite style: <m:ResetPIN xsi:nil="true"/> and soap:encodingStyle on the Envelope', async () => {
    const body =
      `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:xsi="${XSI}" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ` +
      `xmlns:xsd="${XSD}" soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soap="${SOAP11}">` +
      `<soap:Body><m:ResetPIN xsi:nil="true" xmlns:m="${M}" /></soap:Body></soap:Envelope>`;
    await expectReset(() => post(body, { headers: { soapaction: `"${M}/ResetPIN"` } }));
  });

  it('SOAPAction absent', async () => {
    await expectReset(() => post(VALID_REQUEST));
  });

  it('SOAPAction empty ("")', async () => {
    await expectReset(() => post(VALID_REQUEST, { headers: { soapaction: '""' } }));
  });

  it('SOAPAction as an unquoted URI', async () => {
    await expectReset(() => post(VALID_REQUEST, { headers: { soapaction: `${M}/ResetPIN` } }));
  });
});
