/**
 * fast-check generators of hostile ResetPIN requests (issue 7), shared by
 * the bounded test (`envelopes.test.ts`) and the long run (`scripts/fuzz.ts`).
 *
 * Every generated value is plain data (a base envelope plus a list of
 * mutations, or a random XML tree), so a counterexample prints readably and
 * replays from its seed and path; `renderFuzzRequest` turns it into bytes.
 * Mutations work on the reference request's tokens (tags and text), on its
 * characters and on its bytes, so both "almost valid" and "nowhere near"
 * envelopes come out, and some valid ones survive.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const M_HTTPS = 'https://schemas.microsoft.com/exchange/services/2006/messages';
const T = 'http://schemas.microsoft.com/exchange/services/2006/types';

/** The envelopes mutations start from: all of them are accepted as they are (the call operations' with their typed faults). */
export const BASE_ENVELOPES: readonly string[] = [
  readFileSync(new URL('resetpin-request.xml', FIXTURES), 'utf8'),
  readFileSync(new URL('resetpin-request-https-variant.xml', FIXTURES), 'utf8'),
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11}" xmlns:t="${T}">` +
    `<soap:Header><t:RequestServerVersion Version="Exchange2010" soap:mustUnderstand="1"/></soap:Header>` +
    `<soap:Body><m:ResetPIN xmlns:m="${M}"/></soap:Body></soap:Envelope>`,
  `<s:Envelope xmlns:s="${SOAP11}"><s:Body><ResetPIN xmlns="${M}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"></ResetPIN></s:Body></s:Envelope>`,
  // The other operations of [MS-OXWUMS] (issue 14), each as a client sends it.
  ...[
    `<IsUMEnabled xmlns="${M}" />`,
    `<m:GetUMProperties xmlns:m="${M}"/>`,
    `<SetOofStatus xmlns="${M}"><status>true</status></SetOofStatus>`,
    `<SetMissedCallNotificationEnabled xmlns="${M}"><status>0</status></SetMissedCallNotificationEnabled>`,
    `<SetPlayOnPhoneDialString xmlns="${M}"><dialString>+1 555 0100</dialString></SetPlayOnPhoneDialString>`,
    `<SetTelephoneAccessFolderEmail xmlns="${M}"><base64FolderId>AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==</base64FolderId></SetTelephoneAccessFolderEmail>`,
    `<PlayOnPhone xmlns="${M}"><entryId>AAAAAGsd2rbQ</entryId><DialString>12345</DialString></PlayOnPhone>`,
    `<PlayOnPhoneGreeting xmlns="${M}"><GreetingType>OofCustom</GreetingType><DialString>12345</DialString></PlayOnPhoneGreeting>`,
    `<GetCallInfo xmlns="${M}"><CallId>MDlkZjllZGMtNGUy</CallId></GetCallInfo>`,
    `<Disconnect xmlns="${M}"><CallId>MDlkZjllZGMtNGUy</CallId></Disconnect>`,
  ].map((body) => `<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="${SOAP11}"><soap:Body>${body}</soap:Body></soap:Envelope>`),
];

export const SOAP_ACTION_RESET_PIN = `"${M}/ResetPIN"`;

/** Whole XML constructs a parser must refuse or survive, inserted anywhere. */
const HOSTILE_FRAGMENTS = [
  '<!DOCTYPE Envelope [<!ENTITY x "y">]>',
  '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>',
  '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
  '<!DOCTYPE foo SYSTEM "http://127.0.0.1:1/evil.dtd">',
  '<!ENTITY % p SYSTEM "http://127.0.0.1:1/x">',
  '&xxe;', '&lol2;', '&amp;', '&#0;', '&#x110000;', '&#65;', '&unknown;', '&',
  '<?xml version="1.0" encoding="utf-8"?>', '<?xml-stylesheet href="x"?>', '<?php echo 1; ?>', '<?pi?>',
  '<![CDATA[<ResetPIN/>]]>', '<![CDATA[]]>', ']]>', '<!-- comment -->', '<!-- -- -->', '<!--',
  '<ResetPIN xmlns="' + M + '"/>', '<m:IsUMEnabled xmlns:m="' + M + '"/>',
  '<soap:Body/>', '<soap:Header/>', '</soap:Body>', '</soap:Envelope>', '<soap:Envelope xmlns:soap="' + SOAP11 + '">',
  '<x:h xmlns:x="urn:x" soap:mustUnderstand="1"/>', '<x:h xmlns:x="urn:x" soap:mustUnderstand="1" soap:actor="urn:other"/>',
  '<a xmlns:p="urn:p" p:b="c" p:b="d"/>', '<a b="1" b="2"/>', '<a xmlns:="x"/>', '<p:a/>', '<a xmlns:xml="urn:wrong"/>',
  '<a xmlns:xmlns="urn:x"/>', '<1a/>', '<a b=c/>', '<a b="<"/>', '< a/>', '<a/ >', '<>', '</>', '<a></b>',
  'text', ' \t\r\n ', '\u0000', '\u0001', '\uFFFE', '\uD800', '\u{1F600}', '\u00A0', '\u2028', '\u202E',
  'xmlns="' + M + '"', 'xmlns:soap="' + SOAP12 + '"', 'soap:mustUnderstand="1"', 'xsi:nil="true"',
];

const NAMESPACE_CHOICES = [
  SOAP11, SOAP12, M, M_HTTPS, T, '', ' ', `${M}/`, M.toUpperCase(), `${SOAP11}#`, 'urn:x', 'http://www.w3.org/XML/1998/namespace',
  'http://www.w3.org/2000/xmlns/', 'http://schemas.microsoft.com/exchange/services/2006/errors', 'x'.repeat(2000), '&amp;', '&xxe;', '"',
];

const NAME_CHOICES = [
  'Envelope', 'Body', 'Header', 'Fault', 'ResetPIN', 'resetpin', 'ResetPin', 'ResetPINResponse', 'IsUMEnabled', 'GetUMProperties',
  'PlayOnPhone', 'Disconnect', 'SetOofStatus', 'status', 'dialString', 'DialString', 'CallId', 'soap:Envelope', 'soap:Body', 'soap:Header', 's:Envelope', 'm:ResetPIN', 'x', 'a:b:c', ':a', 'a:', '',
  'xml', 'xmlns', 'xmlns:x', 'Δ', '\u00E9l\u00E9ment', 'a'.repeat(300),
];

const DECLARATIONS = [
  '', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="utf-16"?>',
  '<?xml version="1.0" encoding="iso-8859-1"?>', '<?xml version="1.0" encoding="us-ascii"?>', '<?xml version="1.1" encoding="utf-8"?>',
  '<?xml version="2.0"?>', '<?xml encoding="utf-8"?>', '<?xml version="1.0" standalone="yes"?>', '<?xml version="1.0" standalone="maybe"?>',
  '<?XML version="1.0"?>', ' <?xml version="1.0"?>', '\uFEFF<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding=""?>',
];

/** Byte sequences that are not UTF-8, or that are UTF-8 of things XML forbids. */
const BAD_BYTES: readonly (readonly number[])[] = [
  [0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xc3],
  [0x00], [0x00, 0x00, 0xfe, 0xff], [0xef, 0xbb, 0xbf], [0xef, 0xbf, 0xbe], [0x1b, 0x5b, 0x33, 0x31, 0x6d],
];

export type StringMutation =
  | { readonly kind: 'delete-token'; readonly at: number }
  | { readonly kind: 'duplicate-token'; readonly at: number }
  | { readonly kind: 'swap-tokens'; readonly a: number; readonly b: number }
  | { readonly kind: 'insert-fragment'; readonly at: number; readonly fragment: string }
  | { readonly kind: 'insert-at-char'; readonly at: number; readonly fragment: string }
  | { readonly kind: 'replace-namespace'; readonly which: number; readonly uri: string }
  | { readonly kind: 'rename-tag'; readonly which: number; readonly name: string }
  | { readonly kind: 'declaration'; readonly declaration: string; readonly doctype: string }
  | { readonly kind: 'huge-attribute'; readonly which: number; readonly length: number; readonly char: string }
  | { readonly kind: 'deep-nesting'; readonly at: number; readonly depth: number; readonly name: string }
  | { readonly kind: 'case-flip'; readonly at: number };

export type ByteMutation =
  | { readonly kind: 'flip'; readonly at: number; readonly value: number }
  | { readonly kind: 'insert-bytes'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'encode'; readonly encoding: 'utf16le' | 'utf16be' | 'latin1' | 'utf8-bom' | 'double-bom' };

export type Caller = 'owner' | 'stranger' | 'no-mailbox' | 'none' | 'garbage';

export type FuzzBody =
  | { readonly kind: 'mutated'; readonly base: number; readonly strings: readonly StringMutation[]; readonly bytes: readonly ByteMutation[] }
  | { readonly kind: 'tree'; readonly wrap: 'bare' | 'body' | 'header'; readonly xml: string }
  | { readonly kind: 'random-bytes'; readonly bytes: Uint8Array };

export interface FuzzRequest {
  readonly body: FuzzBody;
  readonly contentType: string | undefined;
  readonly soapAction: string | undefined;
  readonly caller: Caller;
  /** Only for `garbage`: an Authorization header that is not valid Basic credentials of anyone. */
  readonly authorization: string;
}

// ---------------------------------------------------------------------------
// Generators

const index = fc.nat({ max: 10_000 });
const fragment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

const stringMutation: fc.Arbitrary<StringMutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete-token'), at: index }),
  fc.record({ kind: fc.constant('duplicate-token'), at: index }),
  fc.record({ kind: fc.constant('swap-tokens'), a: index, b: index }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert-fragment'), at: index, fragment }) },
  fc.record({ kind: fc.constant('insert-at-char'), at: index, fragment }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replace-namespace'), which: index, uri: fc.constantFrom(...NAMESPACE_CHOICES) }) },
  fc.record({ kind: fc.constant('rename-tag'), which: index, name: fc.constantFrom(...NAME_CHOICES) }),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('declaration'),
      declaration: fc.constantFrom(...DECLARATIONS),
      doctype: fc.constantFrom('', ...HOSTILE_FRAGMENTS.slice(0, 5), '<?pi?>', '<!-- c -->'),
    }),
  },
  fc.record({
    kind: fc.constant('huge-attribute'),
    which: index,
    // Rarely near the 65 536-byte body limit (some fit, some get 413): big bodies are the slow ones to make and parse.
    length: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 2048 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }) }),
    char: fc.constantFrom('a', '&amp;', '\u00E9', '\u{1F600}', '"', '<', ' '),
  }),
  fc.record({ kind: fc.constant('deep-nesting'), at: index, depth: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 24 }) }, { weight: 1, arbitrary: fc.integer({ min: 25, max: 5000 }) }), name: fc.constantFrom('a', 'x:a', 'soap:Body', 'ResetPIN') }),
  fc.record({ kind: fc.constant('case-flip'), at: index }),
);

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip'), at: index, value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert-bytes'), at: index, bytes: fc.constantFrom(...BAD_BYTES) }) },
  fc.record({ kind: fc.constant('truncate'), at: index }),
  fc.record({ kind: fc.constant('encode'), encoding: fc.constantFrom('utf16le', 'utf16be', 'latin1', 'utf8-bom', 'double-bom') }),
);

const mutatedBody: fc.Arbitrary<FuzzBody> = fc.record({
  kind: fc.constant('mutated'),
  base: fc.nat({ max: BASE_ENVELOPES.length - 1 }),
  strings: fc.array(stringMutation, { minLength: 0, maxLength: 3 }),
  bytes: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(byteMutation, { minLength: 1, maxLength: 2 }) }),
});

/** A random XML tree, serialised with names, namespaces and text from pools that include SOAP's own. */
const xmlTree: fc.Arbitrary<string> = fc.letrec<{ node: string; element: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...HOSTILE_FRAGMENTS)),
    tie('element'),
  ),
  element: fc
    .tuple(
      fc.constantFrom(...NAME_CHOICES.slice(0, 22)),
      fc.array(fc.tuple(fc.constantFrom('xmlns', 'xmlns:soap', 'xmlns:m', 'xmlns:s', 'soap:mustUnderstand', 'soap:actor', 'a', 'xsi:nil'), fc.constantFrom(...NAMESPACE_CHOICES.slice(0, 12), '1', 'true')), { maxLength: 3 }),
      fc.array(tie('node'), { maxLength: 4 }),
    )
    .map(([name, attributes, children]) => {
      const attrs = attributes.map(([k, v]) => ` ${k}="${v}"`).join('');
      return children.length === 0 ? `<${name}${attrs}/>` : `<${name}${attrs}>${children.join('')}</${name}>`;
    }),
})).element;

const treeBody: fc.Arbitrary<FuzzBody> = fc.record({
  kind: fc.constant('tree'),
  wrap: fc.constantFrom('bare', 'body', 'header'),
  xml: xmlTree,
});

const randomBytesBody: fc.Arbitrary<FuzzBody> = fc.record({ kind: fc.constant('random-bytes'), bytes: fc.uint8Array({ maxLength: 300 }) });

export const fuzzBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  { weight: 14, arbitrary: mutatedBody },
  { weight: 5, arbitrary: treeBody },
  { weight: 1, arbitrary: randomBytesBody },
);

const contentType = fc.oneof(
  { weight: 30, arbitrary: fc.constant('text/xml; charset=utf-8') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'text/xml', 'TEXT/XML; Charset="UTF-8"', 'text/xml;charset=UTF-8;action="x"', 'application/soap+xml; charset=utf-8',
      'text/xml; charset=utf-16', 'text/xml; charset=iso-8859-1', 'application/xml', 'text/plain', 'multipart/related; type="text/xml"',
      'text/xml; charset=', 'text/xml;;', ';', '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const soapAction = fc.oneof(
  { weight: 10, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.constant(SOAP_ACTION_RESET_PIN) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', '""', `${M}/ResetPIN`, `"${M}#ResetPIN"`, `"${M_HTTPS}/ResetPIN"`, `"${M}/IsUMEnabled"`, '"urn:other"', `"${M}/"`, '"'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const caller = fc.oneof(
  { weight: 40, arbitrary: fc.constant<Caller>('owner') },
  { weight: 2, arbitrary: fc.constant<Caller>('stranger') },
  { weight: 2, arbitrary: fc.constant<Caller>('no-mailbox') },
  { weight: 1, arbitrary: fc.constant<Caller>('none') },
  { weight: 1, arbitrary: fc.constant<Caller>('garbage') },
);

const garbageAuthorization = fc.oneof(
  fc.constantFrom('Basic', 'Basic ', 'Basic !!!', 'Basic Og==', 'Bearer x', 'basic YTpi', `Basic ${Buffer.from('no-colon').toString('base64')}`, 'Digest username="a"'),
  // No colon, so never credentials of anyone: a random login would cost a decoy KDF call each time.
  fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s.replaceAll(':', '')).toString('base64')}`),
);

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  body: fuzzBody,
  contentType,
  soapAction,
  caller,
  authorization: garbageAuthorization,
});

// ---------------------------------------------------------------------------
// Rendering

const TOKEN = /<[^>]*>|[^<]+/g;
const NAMESPACE_VALUE = /(xmlns(?::[^=\s]*)?=")([^"]*)(")/g;

function tokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** Replaces the `which`-th match of `pattern` (modulo the count), or returns the text as it was. */
function replaceNth(text: string, pattern: RegExp, which: number, replace: (match: RegExpExecArray) => string): string {
  const matches = [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))];
  if (matches.length === 0) return text;
  const match = matches[which % matches.length] as RegExpExecArray;
  return text.slice(0, match.index) + replace(match) + text.slice(match.index + match[0].length);
}

export function applyStringMutation(text: string, mutation: StringMutation): string {
  const parts = tokens(text);
  const at = (i: number, length: number) => (length === 0 ? 0 : i % length);
  switch (mutation.kind) {
    case 'delete-token':
      if (parts.length > 0) parts.splice(at(mutation.at, parts.length), 1);
      return parts.join('');
    case 'duplicate-token': {
      if (parts.length === 0) return text;
      const i = at(mutation.at, parts.length);
      parts.splice(i, 0, parts[i] as string);
      return parts.join('');
    }
    case 'swap-tokens': {
      if (parts.length === 0) return text;
      const a = at(mutation.a, parts.length);
      const b = at(mutation.b, parts.length);
      [parts[a], parts[b]] = [parts[b] as string, parts[a] as string];
      return parts.join('');
    }
    case 'insert-fragment':
      parts.splice(at(mutation.at, parts.length + 1), 0, mutation.fragment);
      return parts.join('');
    case 'insert-at-char': {
      const i = at(mutation.at, text.length + 1);
      return text.slice(0, i) + mutation.fragment + text.slice(i);
    }
    case 'replace-namespace':
      return replaceNth(text, NAMESPACE_VALUE, mutation.which, (m) => `${m[1]}${mutation.uri}${m[3]}`);
    case 'rename-tag':
      return replaceNth(text, /<\/?[^\s/>!?]+/g, mutation.which, (m) => (m[0].startsWith('</') ? `</${mutation.name}` : `<${mutation.name}`));
    case 'declaration': {
      const body = text.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
      return `${mutation.declaration}${mutation.doctype}${body}`;
    }
    case 'huge-attribute': {
      const value = mutation.char.repeat(Math.ceil(mutation.length / Math.max(1, Buffer.byteLength(mutation.char))));
      return replaceNth(text, /<[^\s/>!?]+(?=[\s/>])/g, mutation.which, (m) => `${m[0]} huge="${value}"`);
    }
    case 'deep-nesting': {
      const i = at(mutation.at, parts.length + 1);
      const nest = `<${mutation.name}>`.repeat(mutation.depth) + `</${mutation.name}>`.repeat(mutation.depth);
      parts.splice(i, 0, nest);
      return parts.join('');
    }
    case 'case-flip': {
      const i = at(mutation.at, text.length);
      const c = text.charAt(i);
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return text.slice(0, i) + flipped + text.slice(i + 1);
    }
  }
}

export function applyByteMutation(bytes: Buffer, mutation: ByteMutation): Buffer {
  const at = (i: number) => (bytes.length === 0 ? 0 : i % (bytes.length + 1));
  switch (mutation.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      copy[mutation.at % copy.length] = mutation.value;
      return copy;
    }
    case 'insert-bytes': {
      const i = at(mutation.at);
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(mutation.bytes), bytes.subarray(i)]);
    }
    case 'truncate':
      return bytes.subarray(0, at(mutation.at));
    case 'encode': {
      const text = bytes.toString('utf8');
      switch (mutation.encoding) {
        case 'utf16le':
          return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
        case 'utf16be': {
          const le = Buffer.from(text, 'utf16le');
          return Buffer.concat([Buffer.from([0xfe, 0xff]), le.swap16()]);
        }
        case 'latin1':
          return Buffer.from(text.replace(/(encoding=")[^"]*"/, '$1iso-8859-1"') + '\u00E9', 'latin1');
        case 'utf8-bom':
          return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
        case 'double-bom':
          return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), bytes]);
      }
    }
  }
}

export function renderFuzzBody(body: FuzzBody): Buffer {
  switch (body.kind) {
    case 'mutated': {
      const text = body.strings.reduce(applyStringMutation, BASE_ENVELOPES[body.base] ?? '');
      return body.bytes.reduce(applyByteMutation, Buffer.from(text, 'utf8'));
    }
    case 'tree':
      return Buffer.from(wrapTree(body.wrap, body.xml), 'utf8');
    case 'random-bytes':
      return Buffer.from(body.bytes);
  }
}

function wrapTree(wrap: 'bare' | 'body' | 'header', xml: string): string {
  const open = `<soap:Envelope xmlns:soap="${SOAP11}">`;
  switch (wrap) {
    case 'bare':
      return xml;
    case 'body':
      return `${open}<soap:Body>${xml}</soap:Body></soap:Envelope>`;
    case 'header':
      return `${open}<soap:Header>${xml}</soap:Header><soap:Body><ResetPIN xmlns="${M}"/></soap:Body></soap:Envelope>`;
  }
}

/** Which generator made the body, for the report of the mix. */
export function describeFuzzBody(body: FuzzBody): string {
  if (body.kind !== 'mutated') return body.kind === 'tree' ? `tree/${body.wrap}` : body.kind;
  const kinds = [...body.strings.map((m) => m.kind), ...body.bytes.map((m) => m.kind)];
  return kinds.length === 0 ? 'mutated/none' : `mutated/${kinds[0]}`;
}
