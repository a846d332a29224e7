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
import { InvalidRequest, InvalidRequestValue, SoapMustUnderstand, SoapSchemaViolation, SoapVersionMismatch } from '../errors.ts';
import { withoutStackTraces } from '../lib/without-stack-traces.ts';
import {
  MESSAGES_NS,
  SOAP11_ENVELOPE_NS,
  SOAP12_ENVELOPE_NS,
  TYPES_NS,
  isMessagesNamespace,
  type MessagesNamespace,
} from './namespaces.ts';

/** What each operation's request element holds ([MS-OXWUMS] 3.1.4; wsdl/ms-oxwums.wsdl). */
export interface SoapArguments {
  readonly ResetPIN: Record<never, never>;
  readonly IsUMEnabled: Record<never, never>;
  readonly GetUMProperties: Record<never, never>;
  readonly SetOofStatus: { readonly status: boolean };
  readonly SetMissedCallNotificationEnabled: { readonly status: boolean };
  readonly SetPlayOnPhoneDialString: { readonly dialString: string };
  readonly SetTelephoneAccessFolderEmail: { readonly base64FolderId: string };
  readonly PlayOnPhone: { readonly entryId: string; readonly dialString: string };
  readonly PlayOnPhoneGreeting: { readonly greetingType: string; readonly dialString: string };
  readonly GetCallInfo: { readonly callId: string };
  readonly Disconnect: { readonly callId: string };
}

export type SoapOperation = keyof SoapArguments;

/** One request, typed by its operation: `switch (request.operation)` narrows `request.arguments`. */
export type SoapRequest = {
  readonly [K in SoapOperation]: {
    readonly operation: K;
    /** The messages namespace the caller used; the response echoes it. */
    readonly namespace: MessagesNamespace;
    readonly arguments: SoapArguments[K];
  };
}[SoapOperation];

export const MAX_DEPTH = 16;

/** The longest argument text read; a dial string, a folder id or a call id is far shorter. */
export const MAX_ARGUMENT_LENGTH = 1024;

/** Header blocks this service understands (and ignores): EWS clients send them with every call. */
const UNDERSTOOD_HEADERS = new Set([`{${TYPES_NS}}RequestServerVersion`]);
const NEXT_ACTOR = 'http://schemas.xmlsoap.org/soap/actor/next';

interface ArgumentShape {
  /** The element's local name on the wire, and the key it is read into. */
  readonly element: string;
  readonly key: string;
  readonly type: 'boolean' | 'string';
  /** Other spellings accepted for the same element. */
  readonly aliases?: readonly string[];
}

const arg = (element: string, type: ArgumentShape['type'], key = element, aliases?: readonly string[]): ArgumentShape => ({ element, key, type, ...(aliases ? { aliases } : {}) });

/**
 * Each operation's children, in their xs:sequence order, all required, none repeated (the WSDL's
 * inline schema). Names are case-sensitive and differ between operations: `dialString` in
 * SetPlayOnPhoneDialString, `DialString` in PlayOnPhone (the REF examples and SPEC 3.1.4.8).
 * `base64FolderID` is accepted beside `base64FolderId`: the REF operation example spells it so,
 * its element pages do not (the WSDL's [CHOSEN] note).
 */
const OPERATIONS: Readonly<Record<SoapOperation, readonly ArgumentShape[]>> = {
  ResetPIN: [],
  IsUMEnabled: [],
  GetUMProperties: [],
  SetOofStatus: [arg('status', 'boolean')],
  SetMissedCallNotificationEnabled: [arg('status', 'boolean')],
  SetPlayOnPhoneDialString: [arg('dialString', 'string')],
  SetTelephoneAccessFolderEmail: [arg('base64FolderId', 'string', 'base64FolderId', ['base64FolderID'])],
  PlayOnPhone: [arg('entryId', 'string'), arg('DialString', 'string', 'dialString')],
  PlayOnPhoneGreeting: [arg('GreetingType', 'string', 'greetingType'), arg('DialString', 'string', 'dialString')],
  GetCallInfo: [arg('CallId', 'string', 'callId')],
  Disconnect: [arg('CallId', 'string', 'callId')],
};

function isOperation(local: string): local is SoapOperation {
  return Object.hasOwn(OPERATIONS, local);
}

type Role = 'envelope' | 'header' | 'header-block' | 'body' | 'operation' | 'argument';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseSoapRequest(body: Uint8Array, soapActionHeader?: string): SoapRequest {
  const text = decodeUtf8(body);
  const parsed = parseEnvelope(text);
  checkSoapAction(soapActionHeader, parsed.operation, parsed.namespace);
  return parsed as SoapRequest;
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
  readonly operation: SoapOperation;
  readonly namespace: MessagesNamespace;
  readonly arguments: Record<string, string | boolean>;
}

function parseEnvelope(text: string): ParsedEnvelope {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: Role[] = [];
  let sawRoot = false;
  let sawHeader = false;
  let sawBody = false;
  let operation: { local: SoapOperation; namespace: MessagesNamespace } | undefined;
  let headerDepth = 0;
  // The operation's children: the next one expected, the one open, and the values read.
  let expected: readonly ArgumentShape[] = [];
  let current: ArgumentShape | undefined;
  let argumentText = '';
  const values: Record<string, string | boolean> = {};

  const schema = (message: string): never => {
    throw new SoapSchemaViolation(message);
  };
  // ResetPIN keeps the answer DESIGN §1.2 settled (ErrorSchemaValidation); for the other operations a
  // request outside the schema is [MS-OXWUMS]'s malformed-request fault, ErrorInvalidRequest.
  const argumentError = (message: string): never => {
    if (operation?.local === 'ResetPIN') schema(message);
    throw new InvalidRequestValue(message);
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
      case 'body': {
        if (operation !== undefined) schema('The Body must hold exactly one element; it holds more.');
        const known = isOperation(tag.local);
        if (!isMessagesNamespace(tag.uri)) {
          schema(known
            ? `The Body holds <${tag.local}> in namespace "${tag.uri}"; ${tag.local} must be in namespace ${MESSAGES_NS}.`
            : `The Body holds <${tag.local}> in namespace "${tag.uri}", which is not an operation of this service.`);
        }
        if (!known) schema(`The Body holds <${tag.local}>, which is not an operation of this service; send one such as <ResetPIN/>.`);
        operation = { local: tag.local as SoapOperation, namespace: tag.uri as MessagesNamespace };
        expected = OPERATIONS[operation.local];
        stack.push('operation');
        return;
      }
      case 'operation': {
        const op = operation as { local: SoapOperation; namespace: MessagesNamespace };
        if (expected.length === 0 && OPERATIONS[op.local].length === 0) {
          argumentError(`<${op.local}> must be empty, but it holds the element <${tag.name}>.`);
        }
        const next = expected[0];
        if (next === undefined) argumentError(`<${op.local}> holds an unexpected element <${tag.name}>; it takes ${describeArguments(op.local)}.`);
        const shape = next as ArgumentShape;
        // Children are in the operation's namespace ("elementFormDefault qualified"): never matched by local name alone.
        if (tag.uri !== op.namespace || (tag.local !== shape.element && !shape.aliases?.includes(tag.local))) {
          argumentError(`<${op.local}> holds <${tag.local}> in namespace "${tag.uri}" where <${shape.element}> in namespace ${op.namespace} belongs; it takes ${describeArguments(op.local)}.`);
        }
        current = shape;
        expected = expected.slice(1);
        argumentText = '';
        stack.push('argument');
        return;
      }
      case 'argument':
        argumentError(`<${current?.element}> holds text only, but it holds the element <${tag.name}>.`);
    }
  });

  parser.on('closetag', () => {
    if (headerDepth > 0) {
      headerDepth -= 1;
      return;
    }
    const closed = stack.pop();
    if (closed === 'argument' && current !== undefined) {
      values[current.key] = current.type === 'boolean' ? parseBoolean(current.element, argumentText, argumentError) : argumentText;
      current = undefined;
    } else if (closed === 'operation' && expected.length > 0) {
      argumentError(`<${operation?.local}> lacks <${expected[0]?.element}>; it takes ${describeArguments(operation?.local as SoapOperation)}.`);
    }
  });

  const onText = (value: string, what: string) => {
    const where = stack.at(-1);
    if (where === 'argument') {
      if (argumentText.length + value.length > MAX_ARGUMENT_LENGTH) {
        argumentError(`<${current?.element}> holds more than ${MAX_ARGUMENT_LENGTH} characters.`);
      }
      argumentText += value;
      return;
    }
    if (where === 'header-block' || value.trim() === '') return;
    if (where === 'operation') {
      const op = operation?.local as SoapOperation;
      if (OPERATIONS[op].length > 0) argumentError(`<${op}> must hold elements only, but it holds ${what}.`);
      if (what === 'text') argumentError(`<${op}> must be empty, but it holds text.`);
    }
    schema(what === 'text' ? 'The envelope holds text outside of any element that may contain text.' : 'The envelope holds character data where none is allowed.');
  };
  parser.on('text', (value) => onText(value, 'text'));
  parser.on('cdata', (value) => onText(value, 'character data'));

  parser.on('error', (error) => {
    throw new SoapSchemaViolation(`The request is not well-formed XML: ${describeSaxesError(error.message)}.`, { cause: error });
  });

  withoutStackTraces(() => parser.write(text).close());

  if (!sawRoot) schema('The request body is empty or holds no XML element; send a SOAP 1.1 envelope.');
  if (!sawBody) schema('The Envelope has no Body.');
  if (operation === undefined) throw new SoapSchemaViolation('The Body is empty; it must hold one operation, such as <ResetPIN/>.');
  return { operation: operation.local, namespace: operation.namespace, arguments: values };
}

/** xs:boolean's lexical space after whitespace collapsing: true, false, 1, 0. */
function parseBoolean(element: string, text: string, fail: (message: string) => never): boolean {
  switch (text.trim()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      return fail(`<${element}> must be true or false (xs:boolean), not "${text.trim().slice(0, 40)}".`);
  }
}

function describeArguments(operation: SoapOperation): string {
  const shapes = OPERATIONS[operation];
  return shapes.length === 0 ? 'no arguments' : shapes.map((a) => `<${a.element}>`).join(' then ');
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
