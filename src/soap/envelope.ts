/**
 * Parses a SOAP 1.1 request envelope into the one operation it asks for.
 *
 * saxes is strict, namespace-aware and never expands entities; on top of it
 * this module rejects every DOCTYPE (the only way to declare an entity), every
 * processing instruction but the XML declaration, any encoding but UTF-8 and
 * nesting deeper than MAX_DEPTH, so hostile XML costs one linear pass and no
 * memory beyond the (already size-capped) body. Dispatch is by namespace URI
 * and local name, never by local name alone (DESIGN §1.2).
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { InvalidRequest, SoapMustUnderstand, SoapSchemaViolation, SoapVersionMismatch } from '../errors.ts';
import {
  MESSAGES_NS,
  SOAP11_ENVELOPE_NS,
  SOAP12_ENVELOPE_NS,
  TYPES_NS,
  isMessagesNamespace,
  type MessagesNamespace,
} from './namespaces.ts';

export interface SoapRequest {
  readonly operation: 'ResetPIN';
  /** The messages namespace the caller used; the response echoes it. */
  readonly namespace: MessagesNamespace;
}

export const MAX_DEPTH = 16;

/** Header blocks this service understands (and ignores): EWS clients send them with every call. */
const UNDERSTOOD_HEADERS = new Set([`{${TYPES_NS}}RequestServerVersion`]);
const NEXT_ACTOR = 'http://schemas.xmlsoap.org/soap/actor/next';

/** Operations of the WSDL's portType that umpin does not implement yet; named so the fault can say so. */
const UNSUPPORTED_OPERATIONS = new Set([
  'IsUMEnabled', 'GetUMProperties', 'SetOofStatus', 'SetPlayOnPhoneDialString', 'SetTelephoneAccessFolderEmail',
  'SetMissedCallNotificationEnabled', 'PlayOnPhone', 'GetCallInfo', 'Disconnect', 'PlayOnPhoneGreeting',
]);

type Role = 'envelope' | 'header' | 'header-block' | 'body' | 'operation';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseSoapRequest(body: Uint8Array, soapActionHeader?: string): SoapRequest {
  const text = decodeUtf8(body);
  const parsed = parseEnvelope(text);
  checkSoapAction(soapActionHeader, parsed.operationLocalName, parsed.namespace);
  if (parsed.operationLocalName !== 'ResetPIN') {
    throw new InvalidRequest(`The operation ${parsed.operationLocalName} is not supported by this service; only ResetPIN is.`);
  }
  return { operation: 'ResetPIN', namespace: parsed.namespace };
}

function decodeUtf8(body: Uint8Array): string {
  try {
    // Drops a leading UTF-8 byte-order mark, which .NET clients send.
    return utf8.decode(body);
  } catch {
    throw new InvalidRequest('The request body is not valid UTF-8; send the envelope encoded as UTF-8.');
  }
}

interface ParsedEnvelope {
  readonly operationLocalName: string;
  readonly namespace: MessagesNamespace;
}

function parseEnvelope(text: string): ParsedEnvelope {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: Role[] = [];
  let sawRoot = false;
  let sawHeader = false;
  let sawBody = false;
  let operation: { local: string; namespace: MessagesNamespace } | undefined;
  let headerDepth = 0;

  const schema = (message: string): never => {
    throw new SoapSchemaViolation(message);
  };

  parser.on('xmldecl', (decl) => {
    if (decl.encoding !== undefined && decl.encoding.toLowerCase() !== 'utf-8') {
      throw new InvalidRequest(`The XML declaration names the encoding "${decl.encoding}"; this service accepts UTF-8 only.`);
    }
  });
  parser.on('doctype', () => schema('The request contains a DOCTYPE declaration, which this service never accepts.'));
  parser.on('processinginstruction', () => schema('The request contains a processing instruction, which this service does not accept.'));

  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length + headerDepth >= MAX_DEPTH) schema(`The envelope is nested deeper than ${MAX_DEPTH} elements.`);
    const parent = stack.at(-1);
    if (parent === undefined) {
      if (sawRoot) schema('The request has more than one root element.');
      sawRoot = true;
      if (tag.local !== 'Envelope' || tag.uri !== SOAP11_ENVELOPE_NS) {
        throw new SoapVersionMismatch(
          tag.local === 'Envelope' && tag.uri === SOAP12_ENVELOPE_NS
            ? 'This service speaks SOAP 1.1 only, and the request is a SOAP 1.2 envelope; send a SOAP 1.1 envelope as text/xml.'
            : 'The root element is not a SOAP 1.1 Envelope (namespace http://schemas.xmlsoap.org/soap/envelope/).',
        );
      }
      stack.push('envelope');
      return;
    }
    switch (parent) {
      case 'envelope':
        if (tag.uri === SOAP11_ENVELOPE_NS && tag.local === 'Header' && !sawHeader && !sawBody) {
          sawHeader = true;
          stack.push('header');
        } else if (tag.uri === SOAP11_ENVELOPE_NS && tag.local === 'Body' && !sawBody) {
          sawBody = true;
          stack.push('body');
        } else {
          schema(`The Envelope may hold one Header and then one Body; <${tag.name}> is not allowed there.`);
        }
        return;
      case 'header':
        checkHeaderBlock(tag);
        stack.push('header-block');
        return;
      case 'header-block':
        // Header blocks we ignore may hold anything; only their depth counts.
        headerDepth += 1;
        return;
      case 'body':
        if (operation !== undefined) schema('The Body must hold exactly one element; it holds more.');
        if (!isMessagesNamespace(tag.uri)) {
          schema(`The Body holds <${tag.local}> in namespace "${tag.uri}"; ResetPIN must be in namespace ${MESSAGES_NS}.`);
        }
        if (tag.local !== 'ResetPIN' && !UNSUPPORTED_OPERATIONS.has(tag.local)) {
          schema(`The Body holds <${tag.local}>, which is not an operation of this service; send <ResetPIN/>.`);
        }
        operation = { local: tag.local, namespace: tag.uri as MessagesNamespace };
        stack.push('operation');
        return;
      case 'operation':
        schema(`<${operation?.local}> must be empty, but it holds the element <${tag.name}>.`);
    }
  });

  parser.on('closetag', () => {
    if (headerDepth > 0) headerDepth -= 1;
    else stack.pop();
  });

  parser.on('text', (value) => {
    const where = stack.at(-1);
    if (where === 'header-block' || value.trim() === '') return;
    if (where === 'operation') schema(`<${operation?.local}> must be empty, but it holds text.`);
    schema('The envelope holds text outside of any element that may contain text.');
  });
  parser.on('cdata', (value) => {
    if (stack.at(-1) !== 'header-block' && value.trim() !== '') schema('The envelope holds character data where none is allowed.');
  });

  parser.on('error', (error) => {
    throw new SoapSchemaViolation(`The request is not well-formed XML: ${describeSaxesError(error.message)}.`, { cause: error });
  });

  // saxes builds an Error (with a stack) for every malformed input; only its message is used.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    parser.write(text).close();
  } finally {
    Error.stackTraceLimit = limit;
  }

  if (!sawRoot) schema('The request body is empty or holds no XML element; send a SOAP 1.1 envelope.');
  if (!sawBody) schema('The Envelope has no Body.');
  if (operation === undefined) throw new SoapSchemaViolation('The Body is empty; it must hold <ResetPIN/>.');
  return { operationLocalName: operation.local, namespace: operation.namespace };
}

function checkHeaderBlock(tag: SaxesTagNS): void {
  // saxes keys attributes by qualified name; the SOAP ones are found by namespace URI, whatever their prefix.
  const attributes = Object.values(tag.attributes);
  const soapAttribute = (local: string) => attributes.find((a) => a.uri === SOAP11_ENVELOPE_NS && a.local === local)?.value;
  const actor = soapAttribute('actor');
  if (actor !== undefined && actor !== NEXT_ACTOR) return; // SOAP 1.1 §4.2.2: the block is meant for another node
  const mustUnderstand = soapAttribute('mustUnderstand')?.trim();
  if (mustUnderstand !== '1' && mustUnderstand !== 'true') return;
  if (UNDERSTOOD_HEADERS.has(`{${tag.uri}}${tag.local}`)) return;
  throw new SoapMustUnderstand(tag.uri === '' ? tag.local : `{${tag.uri}}${tag.local}`);
}

/** saxes prefixes messages with positions and internal wording; keep the part a client can act on. */
function describeSaxesError(message: string): string {
  return message.replace(/^[^:]*:\d+:\d+:\s*/, '').replace(/\.$/, '');
}

/**
 * DESIGN §1.1: SOAPAction may be absent, empty, or name the operation the
 * body asks for (quoted or not). Naming another operation is a client error.
 * `<namespace>#<operation>` is SOAP::Lite's default form and names the same
 * operation, so it is accepted too.
 */
function checkSoapAction(header: string | undefined, operationLocalName: string, namespace: MessagesNamespace): void {
  if (header === undefined) return;
  const action = header.trim().replace(/^"(.*)"$/, '$1');
  if (action === '') return;
  const accepted = [MESSAGES_NS, namespace].flatMap((ns) => [`${ns}/${operationLocalName}`, `${ns}#${operationLocalName}`]);
  if (!accepted.includes(action)) {
    throw new InvalidRequest(`The SOAPAction header "${action}" does not match the operation in the body (${operationLocalName}); send SOAPAction "${MESSAGES_NS}/${operationLocalName}" or none.`);
  }
}
