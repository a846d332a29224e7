/**
 * DESIGN §7: three third-party SOAP clients, installed from Debian packages,
 * against a running service. Each client script (test/e2e/clients/) builds the
 * request its own way, parses the answer itself and prints one JSON line; the
 * test then checks what a user would see (the PIN mail) and what must not
 * change (the stored state).
 *
 * A missing client skips its tests with what to install, unless
 * UMPIN_REQUIRE_PEERS=1 (CI), where it fails them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  REPO,
  isActivePin,
  listMailFiles,
  newPinMails,
  provisionMailbox,
  snapshotState,
  startTestService,
  type TestService,
} from '../support/service.ts';
import { PEERS_REQUIRED } from '../support/peers.ts';

const CLIENTS_DIR = join(REPO, 'test/e2e/clients');
const REQUIRE_THIRD_PARTY = PEERS_REQUIRED;
const CLIENT_TIMEOUT_MS = 60_000;
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const ACCESS_DENIED_TEXT = 'The user name or password is incorrect';

/** The clients' environment: no proxy (the service is on 127.0.0.1), no pyenv/perlbrew leakage. */
function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(https?_proxy|all_proxy|no_proxy|python(path|home)|perl5lib|perl5opt|php_ini_scan_dir)$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, LC_ALL: 'C.UTF-8', NO_PROXY: '*', no_proxy: '*' };
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly spawnError?: NodeJS.ErrnoException;
}

function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env: clientEnv(), timeout: CLIENT_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ code: 0, stdout, stderr });
      } else if (typeof error.code === 'string') {
        resolve({ code: null, stdout, stderr, spawnError: { ...error, code: error.code } }); // e.g. ENOENT: not installed
      } else if (error.killed || error.signal) {
        resolve({ code: null, stdout, stderr: `${stderr}\n[killed by ${error.signal ?? 'signal'}; timeout ${CLIENT_TIMEOUT_MS} ms]` });
      } else {
        resolve({ code: typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      }
    });
  });
}

/** The JSON line a client script prints. */
interface Outcome {
  readonly ok?: boolean;
  readonly fault?: boolean;
  readonly missing?: boolean;
  readonly code?: string | null;
  readonly message?: string | null;
  readonly [key: string]: unknown;
}

interface Client {
  readonly name: string;
  /** The Debian package(s) that provide the client. */
  readonly install: string;
  readonly command: string;
  readonly script: string;
  /** A command that exits 0 when the client library is usable. */
  readonly probe: readonly string[];
  /** Client-specific evidence in a successful outcome. */
  readonly checkSuccess: (outcome: Outcome, endpoint: string) => void;
}

const CLIENTS: readonly Client[] = [
  {
    name: 'python3-zeep (WSDL-driven)',
    install: 'apt-get install python3-zeep (run with /usr/bin/python3)',
    command: '/usr/bin/python3',
    script: 'zeep_reset.py',
    probe: ['-c', 'import zeep, requests'],
    checkSuccess(outcome, endpoint) {
      // zeep built the call from the served WSDL and posted to its (rewritten) soap:address.
      assert.ok((outcome.operations as string[]).includes('ResetPIN'));
      assert.equal(outcome.address, endpoint);
      assert.equal(outcome.result, null, 'ResetPINResponse is empty');
    },
  },
  {
    name: 'Perl SOAP::Lite (hand-built request)',
    install: 'apt-get install libsoap-lite-perl',
    command: '/usr/bin/perl',
    script: 'soaplite_reset.pl',
    probe: ['-MSOAP::Lite', '-MJSON::PP', '-e', '1'],
    checkSuccess(outcome) {
      // SOAP::Lite reports the response element it parsed.
      assert.equal(outcome.response, 'ResetPINResponse');
      assert.equal(outcome.uri, M);
      // It sent its own dialect, which the service must accept (DESIGN §1.5).
      assert.match(String(outcome.request), /soap:encodingStyle=/);
      assert.match(String(outcome.request), /<m:ResetPIN xsi:nil="true"\s*\/>/);
    },
  },
  {
    name: 'PHP SoapClient (WSDL-driven)',
    install: 'apt-get install php-cli php-soap',
    command: '/usr/bin/php',
    script: 'php_reset.php',
    probe: ['-r', 'exit(class_exists("SoapClient") ? 0 : 3);'],
    checkSuccess(outcome) {
      // SoapClient built the call from the served WSDL.
      assert.ok((outcome.functions as string[]).some((f) => /^ResetPINResponse ResetPIN\(/.test(f)), String(outcome.functions));
      assert.match(String(outcome.request), /<ns1:ResetPIN\/>/);
    },
  },
];

/** Undefined when the client is usable, else why not. */
async function missingReason(client: Client): Promise<string | undefined> {
  const probe = await run(client.command, client.probe);
  if (probe.spawnError) return `${client.command} not runnable (${probe.spawnError.code}); install with: ${client.install}`;
  if (probe.code !== 0) {
    const why = (probe.stderr.trim().split('\n')[0] ?? '').replace(/ \(@INC contains:.*$/, '').slice(0, 160);
    return `${client.name} not available (${why}); install with: ${client.install}`;
  }
  return undefined;
}

/** Skips (or, when required, fails) a test whose client is missing; true when the test may go on. */
function clientUsable(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return true;
  if (REQUIRE_THIRD_PARTY) assert.fail(`UMPIN_REQUIRE_PEERS=1 but ${reason}`);
  t.skip(reason);
  return false;
}

/** Runs a client script and returns the JSON line it printed. */
async function callClient(client: Client, endpoint: string, login: string, password: string): Promise<Outcome> {
  const result = await run(client.command, [join(CLIENTS_DIR, client.script), endpoint, login, password]);
  const context = `${client.script} exited ${result.code ?? result.spawnError?.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assert.equal(result.code, 0, context);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let outcome: Outcome;
  try {
    outcome = JSON.parse(line) as Outcome;
  } catch {
    assert.fail(`no JSON outcome line\n${context}`);
  }
  assert.notEqual(outcome.missing, true, `client library missing: ${String(outcome.message)}; install with: ${client.install}`);
  return outcome;
}

let service: TestService;

before(async () => {
  service = await startTestService();
});

after(async () => {
  await service?.close();
});

for (const [index, client] of CLIENTS.entries()) {
  describe(client.name, () => {
    const login = `thirdparty${index}`;
    const password = `Correct horse ${index} battery staple`;
    let reason: string | undefined;
    let welcomePin: string;

    before(async () => {
      reason = await missingReason(client);
      if (reason === undefined) welcomePin = await provisionMailbox(service, login, password);
    });

    it('resets the PIN: the client gets a ResetPINResponse and the mailed PIN is the active one', async (t) => {
      if (!clientUsable(t, reason)) return;
      const mailsBefore = await listMailFiles(service.config.pickupDir);
      assert.ok(await isActivePin(service.services, login, welcomePin), 'the welcome PIN is active before the reset');

      const outcome = await callClient(client, service.endpoint, login, password);
      t.diagnostic(`${client.script}: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.fault, undefined, `the client reported a fault: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.ok, true);
      client.checkSuccess(outcome, service.endpoint);

      const mails = await newPinMails(service.config.pickupDir, mailsBefore);
      assert.equal(mails.length, 1, 'exactly one new PIN mail');
      const [mail] = mails;
      assert.ok(mail);
      assert.match(mail.to, new RegExp(`${login}@example\\.com`));
      assert.ok(await isActivePin(service.services, login, mail.pin), 'the mailed PIN is the active PIN');
      assert.notEqual(mail.pin, welcomePin);
      assert.equal(await isActivePin(service.services, login, welcomePin), false, 'the old PIN no longer works');
    });

    it('a wrong password: the client parses the SOAP fault itself and nothing changes', async (t) => {
      if (!clientUsable(t, reason)) return;
      const stateBefore = await snapshotState(service, [login]);
      const mailsBefore = await listMailFiles(service.config.pickupDir);

      const outcome = await callClient(client, service.endpoint, login, `${password} (wrong)`);
      t.diagnostic(`${client.script}: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.ok, undefined, `the client reported success: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.fault, true);
      // Every client here reads the SOAP fault out of the HTTP 401 body.
      assert.equal(typeof outcome.code, 'string', `the client parsed no faultcode: ${JSON.stringify(outcome)}`);
      assert.match(String(outcome.code), /(^|:)Client$/);
      assert.ok(String(outcome.message).includes(ACCESS_DENIED_TEXT), `fault text: ${String(outcome.message)}`);

      assert.deepEqual(await newPinMails(service.config.pickupDir, mailsBefore), [], 'no PIN mail');
      assert.deepEqual(await snapshotState(service, [login]), stateBefore, 'stored state unchanged');
    });
  });
}
