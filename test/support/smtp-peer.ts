/**
 * A real SMTP relay for tests: smtp-server on 127.0.0.1:0, with the TLS,
 * AUTH and reply behaviour a test asks for, recording every message it
 * accepted (parsed as a mail client would) and every connection.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { generate } from 'selfsigned';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
  /** The certificate as a PEM file, to give a client as its CA file. */
  readonly certFile: string;
  /** The private key as a PEM file (mode 0600). */
  readonly keyFile: string;
  dispose(): Promise<void>;
}

/**
 * A self-signed certificate, valid one day; by default for localhost and
 * 127.0.0.1 (`subjectAltName` in openssl's syntax: `DNS:name,IP:address`).
 * Made in-process by `selfsigned` (WebCrypto), so the tests need no openssl
 * binary (issue 18: `npm test` on a machine with only Node.js).
 */
export async function makeTestCertificate(subjectAltName = 'DNS:localhost,IP:127.0.0.1', keyType: 'rsa' | 'ec' = 'rsa'): Promise<TestCertificate> {
  const altNames = subjectAltName.split(',').map((entry) => {
    const [kind, value = ''] = entry.trim().split(':', 2) as [string, string?];
    // Node checks the name against subjectAltName only; the tests connect to 127.0.0.1.
    if (kind === 'DNS') return { type: 2 as const, value };
    if (kind === 'IP') return { type: 7 as const, ip: value };
    throw new TypeError(`makeTestCertificate: ${entry} is neither DNS:name nor IP:address`);
  });
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType,
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 24 * 3600_000),
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'subjectAltName', altNames }],
  });
  const dir = await mkdtemp(join(tmpdir(), 'umpin-test-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await writeFile(certFile, pems.cert);
  return {
    key: pems.private,
    cert: pems.cert,
    certFile,
    keyFile,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What the peer answers to the end of DATA. */
export type PeerReply =
  | { readonly kind: 'accept' }
  | { readonly kind: 'reject'; readonly code: number; readonly message: string }
  /** Takes the whole message and never answers, as a wedged relay does. */
  | { readonly kind: 'stall' };

export interface SmtpPeerOptions {
  /**
   * `starttls`: offers STARTTLS with `certificate`. `hidden-starttls`: does
   * not advertise STARTTLS in EHLO but still accepts the command
   * (smtp-server's hideSTARTTLS). `none`: no STARTTLS at all (the command is
   * unknown). `implicit`: TLS from the first byte.
   */
  readonly tls: 'starttls' | 'hidden-starttls' | 'none' | 'implicit';
  readonly certificate?: TestCertificate;
  /** AUTH PLAIN/LOGIN with these credentials, required before MAIL; none: no AUTH. */
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly reply?: PeerReply;
}

export interface ReceivedMail {
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
  readonly parsed: ParsedMail;
  /** Whether the session was under TLS (implicit or after STARTTLS) when the message came. */
  readonly secure: boolean;
  readonly user: string | undefined;
  /** The onConnect number of the session that brought it, from 1. */
  readonly connection: number;
}

export interface SmtpPeer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Messages the peer answered 250 to. */
  readonly received: ReceivedMail[];
  /** Messages that reached the end of DATA, whatever the answer. */
  readonly dataCount: () => number;
  readonly connectionCount: () => number;
  readonly authFailures: () => number;
  setReply(reply: PeerReply): void;
  close(): Promise<void>;
}

export async function startSmtpPeer(options: SmtpPeerOptions): Promise<SmtpPeer> {
  let reply: PeerReply = options.reply ?? { kind: 'accept' };
  let connections = 0;
  let dataMessages = 0;
  let authFailures = 0;
  const received: ReceivedMail[] = [];
  const sessionNumbers = new Map<string, number>();
  const needsCertificate = options.tls !== 'none';
  if (needsCertificate && !options.certificate) throw new TypeError(`an SMTP peer with tls=${options.tls} needs a certificate`);

  const serverOptions: SMTPServerOptions = {
    logger: false,
    secure: options.tls === 'implicit',
    ...(needsCertificate && options.certificate ? { key: options.certificate.key, cert: options.certificate.cert } : {}),
    hideSTARTTLS: options.tls === 'hidden-starttls',
    disabledCommands: [...(options.tls === 'none' ? ['STARTTLS'] : []), ...(options.auth ? [] : ['AUTH'])],
    authMethods: ['PLAIN', 'LOGIN'],
    // Without TLS on offer, AUTH over plain text is the only AUTH there is.
    allowInsecureAuth: options.tls === 'none' || options.tls === 'hidden-starttls',
    // A stalled session must not hold close() for the default 30 s.
    closeTimeout: 200,
    onConnect(session, callback) {
      connections += 1;
      sessionNumbers.set(session.id, connections);
      callback();
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
        return;
      }
      authFailures += 1;
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        dataMessages += 1;
        const current = reply;
        if (current.kind === 'stall') return;
        if (current.kind === 'reject') {
          callback(Object.assign(new Error(current.message), { responseCode: current.code }));
          return;
        }
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            received.push({
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              },
              parsed,
              secure: session.secure,
              user: typeof session.user === 'string' ? session.user : undefined,
              connection: sessionNumbers.get(session.id) ?? 0,
            });
            callback(null, 'Queued as test');
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  };

  const server = new SMTPServer(serverOptions);
  // A client dropping the connection mid-session is expected here (aborts, stalls).
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    received,
    dataCount: () => dataMessages,
    connectionCount: () => connections,
    authFailures: () => authFailures,
    setReply(next) {
      reply = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
