/**
 * Parses Outlook's POX Autodiscover request ([MS-OXDSCLI] 2.2.3, "the
 * Outlook request schema"):
 *
 *   <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
 *     <Request><EMailAddress>…</EMailAddress><AcceptableResponseSchema>…</AcceptableResponseSchema></Request>
 *   </Autodiscover>
 *
 * With the SOAP parser's defences (soap/envelope.ts): saxes, strict and
 * namespace-aware, never expanding an entity; any DOCTYPE or processing
 * instruction, any encoding but UTF-8, and nesting beyond a small bound are
 * refused in one linear pass over a size-capped body.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AutodiscoverRequestInvalid } from '../errors.ts';
import { withoutStackTraces } from '../lib/without-stack-traces.ts';

export const REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
export const OUTLOOK_RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

export interface AutodiscoverRequest {
  readonly emailAddress: string;
  readonly acceptableResponseSchema: string;
  /** Outlook sends it on a second request for the same user; umpin does not need it. */
  readonly legacyDn?: string;
}

const MAX_DEPTH = 4;
const MAX_TEXT = 1024;
/** The Request's children (MS-OXDSCLI 2.2.3.1.1.1), each at most once, in any order. */
const FIELDS: Readonly<Record<string, keyof AutodiscoverRequest>> = {
  EMailAddress: 'emailAddress',
  AcceptableResponseSchema: 'acceptableResponseSchema',
  LegacyDN: 'legacyDn',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseAutodiscoverRequest(body: Uint8Array): AutodiscoverRequest {
  const invalid = (message: string): never => {
    throw new AutodiscoverRequestInvalid(message);
  };
  let text = '';
  try {
    text = utf8.decode(body);
  } catch {
    invalid('The request body is not valid UTF-8.');
  }
  const parser = new SaxesParser({ xmlns: true, position: false });
  const path: string[] = [];
  const fields: Partial<Record<keyof AutodiscoverRequest, string>> = {};
  let field: keyof AutodiscoverRequest | undefined;
  let sawRoot = false;
  let sawRequest = false;

  parser.on('xmldecl', (decl) => {
    if (decl.encoding !== undefined && decl.encoding.toLowerCase() !== 'utf-8') invalid(`The XML declaration names the encoding "${decl.encoding}"; only UTF-8 is accepted.`);
  });
  parser.on('doctype', () => invalid('The request contains a DOCTYPE declaration, which this service never accepts.'));
  parser.on('processinginstruction', () => invalid('The request contains a processing instruction, which this service does not accept.'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (path.length >= MAX_DEPTH) invalid(`The request is nested deeper than ${MAX_DEPTH} elements.`);
    if (tag.uri !== REQUEST_NS) invalid(`<${tag.local}> is in namespace "${tag.uri}"; the request must be in ${REQUEST_NS}.`);
    const where = path.join('/');
    if (where === '') {
      if (sawRoot || tag.local !== 'Autodiscover') invalid(`The root element must be <Autodiscover>, not <${tag.local}>.`);
      sawRoot = true;
    } else if (where === 'Autodiscover') {
      if (tag.local !== 'Request' || sawRequest) invalid('<Autodiscover> must hold one <Request> and nothing else.');
      sawRequest = true;
    } else if (where === 'Autodiscover/Request') {
      const key = Object.hasOwn(FIELDS, tag.local) ? FIELDS[tag.local] : undefined;
      if (key === undefined) invalid(`<Request> holds <${tag.local}>, which the Outlook request schema does not define.`);
      if (fields[key as keyof AutodiscoverRequest] !== undefined) invalid(`<Request> holds <${tag.local}> twice.`);
      field = key;
      fields[key as keyof AutodiscoverRequest] = '';
    } else {
      invalid(`<${path.at(-1)}> holds text only, but it holds <${tag.local}>.`);
    }
    path.push(tag.local);
  });
  parser.on('closetag', () => {
    path.pop();
    if (path.length === 2) field = undefined;
  });
  const onText = (value: string) => {
    if (field !== undefined && path.length === 3) {
      const next = (fields[field] ?? '') + value;
      if (next.length > MAX_TEXT) invalid(`<${path.at(-1)}> is longer than ${MAX_TEXT} characters.`);
      fields[field] = next;
    } else if (value.trim() !== '') {
      invalid('The request holds text outside of the elements that carry it.');
    }
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('error', (error) => invalid(`The request is not well-formed XML: ${error.message.replace(/^[^:]*:\d+:\d+:\s*/, '').replace(/\.$/, '')}.`));

  withoutStackTraces(() => parser.write(text).close());
  if (!sawRoot) invalid('The request body holds no <Autodiscover> element.');
  const emailAddress = fields.emailAddress?.trim();
  const schema = fields.acceptableResponseSchema?.trim();
  if (emailAddress === undefined || emailAddress === '') invalid('<Request> lacks <EMailAddress>.');
  if (schema === undefined || schema === '') invalid('<Request> lacks <AcceptableResponseSchema>.');
  const legacyDn = fields.legacyDn?.trim();
  return { emailAddress: emailAddress as string, acceptableResponseSchema: schema as string, ...(legacyDn ? { legacyDn } : {}) };
}
