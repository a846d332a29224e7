/**
 * The benchmark peer: ResetPIN as a plain node-soap (`soap` package) server
 * would do it, with the same work per request as umpin — HTTP Basic
 * credentials checked with argon2id against a stored verifier, a random PIN
 * hashed with argon2id under the mailbox's salt, the mail composed with
 * nodemailer and written to a pickup directory (flushed, renamed, directory
 * flushed), the new verifier and an audit row written to SQLite in one
 * transaction. No KDF limit: the usual code lets libuv's thread pool bound it.
 *
 * With `cache`, it also remembers verified credentials for a minute, as any
 * server that expects repeat callers would (and as umpin does): a map from an
 * HMAC of login, password and stored verifier to when the entry expires;
 * a hit skips the password's argon2id call. Entries live a minute from the
 * miss that made them, as umpin's do, so both miss equally often.
 *
 * Usage: node --import tsx bench/peer/node-soap-server.ts <data dir> <port> [cache]
 * Benchmark code, not product code.
 */
import { hashRaw, verify } from '@node-rs/argon2';
import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { listen } from 'soap';
import { openPeerDatabase, peerKdfOptions, peerPepper } from './peer-store.ts';

const [dir, portText, mode] = process.argv.slice(2);
if (!dir || !portText || (mode !== undefined && mode !== 'cache')) throw new TypeError('usage: node-soap-server.ts <data dir> <port> [cache]');
const CACHE_TTL_MS = 60_000;

const db = openPeerDatabase(dir);
const pepper = peerPepper(dir);
const options = peerKdfOptions(pepper);
/** Verified credentials (cache mode): HMAC of login, password and verifier → expiry. */
const verified = new Map<string, { tag: Buffer; expires: number }>();
const pickup = join(dir, 'pickup');
mkdirSync(pickup, { recursive: true });
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
const findUser = db.prepare<[string], { password_verifier: string }>('SELECT password_verifier FROM users WHERE login = ?');
const findMailbox = db.prepare<[string], { email: string; pin_salt: Buffer }>('SELECT email, pin_salt FROM mailboxes WHERE login = ?');
const setPin = db.prepare('UPDATE mailboxes SET pin_verifier = ?, pin_expired = 1, failed_logons = 0, updated_at = ? WHERE login = ?');
const addAudit = db.prepare('INSERT INTO audit_events (at, event, outcome, login, source) VALUES (?, ?, ?, ?, ?)');
const activate = db.transaction((login: string, verifier: Buffer, source: string) => {
  const at = new Date().toISOString();
  setPin.run(verifier, at, login);
  addAudit.run(at, 'pin.reset', 'success', login, source);
});
let decoy: string | undefined;

function fault(statusCode: number, faultstring: string): { Fault: object } {
  return { Fault: { faultcode: statusCode < 500 ? 'soap:Client' : 'soap:Server', faultstring, statusCode } };
}

function basicCredentials(header: string | undefined): { login: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined;
}

async function writeMail(raw: Buffer): Promise<void> {
  const id = randomUUID();
  const temporary = join(pickup, `.${id}.tmp`);
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(raw);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(pickup, `${id}.eml`));
  const directory = await open(pickup, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

async function checkPassword(login: string, password: string, verifier: string | undefined): Promise<boolean> {
  if (mode !== 'cache' || verifier === undefined) return verify(verifier ?? decoy ?? '', password, options).catch(() => false);
  const tag = createHmac('sha256', pepper).update(`${login.length}:${login}${password.length}:${password}${verifier}`).digest();
  const entry = verified.get(login);
  if (entry && entry.expires > Date.now() && timingSafeEqual(entry.tag, tag)) return true;
  const valid = await verify(verifier, password, options).catch(() => false);
  if (valid) verified.set(login, { tag, expires: Date.now() + CACHE_TTL_MS });
  return valid;
}

async function resetPin(req: IncomingMessage): Promise<Record<string, never>> {
  const credentials = basicCredentials(req.headers.authorization);
  if (!credentials) throw fault(401, 'Authentication failed.');
  const user = findUser.get(credentials.login);
  decoy ??= user?.password_verifier;
  const valid = await checkPassword(credentials.login, credentials.password, user?.password_verifier);
  if (!user || !valid) throw fault(401, 'Authentication failed.');
  const mailbox = findMailbox.get(credentials.login);
  if (!mailbox) throw fault(403, 'The mailbox is not enabled for voice mail.');
  const pin = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const verifier = await hashRaw(pin, { ...options, salt: mailbox.pin_salt });
  const mail = await composer.sendMail({
    from: 'Voice Mail <voicemail@localhost>',
    to: mailbox.email,
    subject: 'Your voice mail PIN was reset',
    text: `Your new voice mail PIN is:\r\n\r\n    ${pin}\r\n\r\nYou will be asked to choose your own PIN when you next call.\r\n`,
    date: new Date(),
  });
  await writeMail(mail.message as Buffer);
  activate(credentials.login, verifier, req.socket.remoteAddress ?? '');
  return {};
}

const services = {
  UMService: {
    UMServiceSoap: {
      ResetPIN: (_args: unknown, _callback: unknown, _headers: unknown, req: IncomingMessage) => resetPin(req),
    },
  },
};

const wsdl = readFileSync(new URL('../../wsdl/ms-oxwums.wsdl', import.meta.url), 'utf8');
const server = createServer((_req, res) => {
  res.statusCode = 404;
  res.end('not found\n');
});
listen(server, { path: '/EWS/UM2007Legacy.asmx', services, xml: wsdl, suppressStack: true });
server.listen(Number(portText), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  db.close();
  process.exit(0);
});
