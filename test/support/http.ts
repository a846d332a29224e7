/**
 * Unit-test harness for src/http/: the app `buildHttpServer` makes, over the
 * real services (a real SQLite store in a temporary data directory, the real
 * KDF, the pickup directory), driven with `app.inject()`: the whole request
 * pipeline (hooks, body limit, content-type check, error handlers) without a
 * socket. The log lines the app writes are kept for the test to read.
 */
import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { openServices } from '../../src/open-services.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { PrometheusMetrics } from '../../src/observability/prometheus-metrics.ts';
import { enableMailbox } from '../../src/operations/admin/mailboxes.ts';
import { addUser } from '../../src/operations/admin/users.ts';
import type { Services } from '../../src/operations/services.ts';
import { listMailFiles, makeDataDir, newPinMails } from './service.ts';

export interface HttpHarness {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly config: Config;
  /** Every line the app logged, parsed. */
  readonly logLines: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface HttpHarnessOptions {
  /** UMPIN_* settings besides the data directory. */
  readonly env?: Record<string, string>;
  /** Services replaced for this app only (a fixed digit source, say). */
  readonly overrides?: Partial<Services>;
  /** Prometheus metrics, as `umpin serve` has them; without, the CLI's none. */
  readonly metrics?: boolean;
  /** The pino level of the app's logger; silent unless a test reads the log. */
  readonly logLevel?: string;
}

export async function openHttpHarness(options: HttpHarnessOptions = {}): Promise<HttpHarness> {
  const dir = await makeDataDir();
  const config = loadConfig({ UMPIN_DATA_DIR: dir, UMPIN_KDF_CONCURRENCY: '2', ...options.env });
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: options.logLevel ?? 'silent' }, { write: (line: string) => { logLines.push(JSON.parse(line) as Record<string, unknown>); } });
  const opened = await openServices(config, logger, options.metrics
    ? { metrics: (store) => new PrometheusMetrics({ outboxDepth: () => store.countQueuedMail(), processMetrics: false }) }
    : {});
  const services: Services = Object.freeze({ ...opened.services, ...options.overrides });
  const app = buildHttpServer(services, config, logger);
  return {
    app, services, config, logLines,
    async close() {
      await app.close();
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let nextExtension = 47001;

/** A user with a mailbox, as `umpin user add` and `umpin mailbox enable` make one; returns the welcome mail's PIN. */
export async function provisionUser(h: Pick<HttpHarness, 'services' | 'config'>, login: string, password: string): Promise<string> {
  await addUser(h.services, login, password);
  const before = await listMailFiles(h.config.pickupDir);
  await enableMailbox(h.services, login, { email: `${login}@example.com`, extension: String(nextExtension++) });
  const [mail] = await newPinMails(h.config.pickupDir, before);
  if (mail === undefined) throw new Error(`no welcome mail for ${login} in ${h.config.pickupDir}`);
  return mail.pin;
}

export function basicAuthorization(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
}

/** What every SOAP answer is sent as. */
export const SOAP_TYPE = 'text/xml; charset=utf-8';
const ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';
/** The envelope around every SOAP answer, as soap/render.ts writes it. */
export const ENVELOPE_OPEN = '<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>';
export const ENVELOPE_CLOSE = '</soap:Body></soap:Envelope>';

/** The whole fault a client gets, with the EWS detail, written out here rather than by the renderer under test. */
export function expectedFault(faultCode: 'Client' | 'Server', responseCode: string, message: string): string {
  const text = message.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
  return `${ENVELOPE_OPEN}<soap:Fault><faultcode>soap:${faultCode}</faultcode><faultstring xml:lang="en">${text}</faultstring>` +
    `<detail><e:ResponseCode xmlns:e="${ERRORS}">${responseCode}</e:ResponseCode><e:Message xmlns:e="${ERRORS}">${text}</e:Message></detail>` +
    `</soap:Fault>${ENVELOPE_CLOSE}`;
}
