/**
 * Slow clients (issue 7): a slowloris that never finishes its headers, and
 * a body that trickles in, are cut off at UMPIN_HEADERS_TIMEOUT_MS and
 * UMPIN_REQUEST_TIMEOUT_MS, while a normal client is served meanwhile.
 * Raw sockets, so the test controls every byte and its timing.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  REQUEST_XML, isActivePin, listMailFiles, newPinMails, postSoap, provisionMailboxInProcess, snapshotState, startTestService, type TestService,
} from '../support/service.ts';

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
/**
 * A cut-off must come within its timeout plus this: the server checks the
 * deadlines every second, and the rest is slack for a loaded machine. Node's
 * default check (every 30 s) would usually miss it.
 */
const SLACK_MS = 9_000;
const GIVE_UP_MS = 30_000;
const TRICKLE_EVERY_MS = 200;

interface Cutoff {
  /** What the server wrote before it closed the connection. */
  readonly received: string;
  readonly afterMs: number;
  /** Bytes the client had sent by then. */
  readonly sent: number;
}

/**
 * Opens a connection, writes `head` at once, then one byte of `trickle` every
 * TRICKLE_EVERY_MS, and resolves when the server closes the connection.
 */
function trickle(url: string, head: string, trickleBytes: string): Promise<Cutoff> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server never cut the slow client off; it had sent ${sent} bytes and received ${JSON.stringify(received)}`));
    }, GIVE_UP_MS);
    socket.on('connect', () => {
      socket.write(head);
      sent += Buffer.byteLength(head);
      let next = 0;
      timer = setInterval(() => {
        if (next >= trickleBytes.length || socket.destroyed) return;
        socket.write(trickleBytes[next++] ?? '');
        sent += 1;
      }, TRICKLE_EVERY_MS);
    });
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('utf8'); });
    socket.on('error', () => { /* a reset after the 408 is a cut-off too; 'close' follows */ });
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ received, afterMs: Date.now() - started, sent });
    });
  });
}

describe('slow clients', () => {
  let service: TestService;
  let request: Buffer;
  // Every test signs in as a mailbox of its own, so each can run alone
  // (--test-name-pattern) and none checks a PIN another test changed.
  const provision = (login: string) => provisionMailboxInProcess(service, login, `pw-${login}`);
  const auth = (login: string) => `Basic ${Buffer.from(`${login}:pw-${login}`).toString('base64')}`;

  before(async () => {
    service = await startTestService({ UMPIN_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), UMPIN_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
    request = await readFile(REQUEST_XML);
  });
  after(() => service.close());

  it('a slowloris sending its headers a byte at a time is cut off with 408 after the headers timeout, while a normal client is served', async () => {
    await provision('dave');
    const path = '/EWS/UM2007Legacy.asmx';
    const slow = trickle(service.url, `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`, 'X-Slow: ' + 'a'.repeat(1_000));
    // A normal ResetPIN while the slowloris holds its connection open.
    const before = await listMailFiles(service.config.pickupDir);
    const normal = await postSoap(service.endpoint, request, { login: 'dave', password: 'pw-dave' });
    assert.equal(normal.status, 200, normal.body);
    const [mail] = await newPinMails(service.config.pickupDir, before);
    assert.ok(mail);
    assert.equal(await isActivePin(service.services, 'dave', mail.pin), true);

    const cut = await slow;
    assert.match(cut.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(cut.afterMs >= HEADERS_TIMEOUT_MS * 0.9, `cut after ${cut.afterMs} ms: not before the headers timeout`);
    assert.ok(cut.afterMs < HEADERS_TIMEOUT_MS + SLACK_MS, `cut after ${cut.afterMs} ms: soon after the headers timeout`);
    assert.ok(cut.sent < 200, `cut while the headers were still coming (${cut.sent} bytes sent)`);
  });

  it('a body that trickles in is cut off with 408 after the request timeout; the password is never checked and nothing changed', async () => {
    const welcomePin = await provision('erin');
    const body = request.toString('utf8');
    const head = `POST /EWS/UM2007Legacy.asmx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n` +
      `Authorization: ${auth('erin')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const state = await snapshotState(service, ['erin']);
    const audit = await service.services.store.listAudit({});
    const cut = await trickle(service.url, head, body);
    assert.match(cut.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(cut.afterMs >= REQUEST_TIMEOUT_MS * 0.9, `cut after ${cut.afterMs} ms: not before the request timeout`);
    assert.ok(cut.afterMs < REQUEST_TIMEOUT_MS + SLACK_MS, `cut after ${cut.afterMs} ms: soon after the request timeout`);
    assert.ok(cut.sent < Buffer.byteLength(head) + Buffer.byteLength(body), 'cut before the body was complete');
    assert.deepEqual(await snapshotState(service, ['erin']), state);
    assert.deepEqual(await service.services.store.listAudit({}), audit, 'no sign-in was attempted');
    assert.equal(await isActivePin(service.services, 'erin', welcomePin), true, 'the old PIN still works');
  });

  it('a client that is merely not fast, but sends within the timeouts, is served', async () => {
    await provision('frank');
    const body = request.toString('utf8');
    const head = `POST /EWS/UM2007Legacy.asmx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n` +
      `Authorization: ${auth('frank')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    // The body in three pieces, a quarter of the request timeout apart.
    const { hostname, port } = new URL(service.url);
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) });
      let text = '';
      const pieces = [head + body.slice(0, 100), body.slice(100, 200), body.slice(200)];
      socket.on('connect', () => {
        pieces.forEach((piece, i) => setTimeout(() => socket.write(piece), i * REQUEST_TIMEOUT_MS / 4));
      });
      socket.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    assert.match(received, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(received, /ResetPINResponse/);
  });
});
