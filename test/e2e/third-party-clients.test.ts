/**
 * DESIGN §7: three third-party SOAP clients, installed from Debian packages,
 * against a running service. Each client script (test/e2e/clients/) builds the
 * request its own way, parses the answer itself and prints one JSON line; the
 * test then checks what a user would see (the PIN mail) and what must not
 * change (the stored state).
 *
 * Each client also calls every other operation of the service (the *_all
 * scripts): IsUMEnabled, GetUMProperties, the four setters with their values
 * read back, and the faults of a refused value and of the call operations,
 * parsing every answer and fault itself.
 *
 * A missing client skips its tests with what to install (test/support/peers.ts),
 * or under UMPIN_REQUIRE_PEERS=1 (CI) fails them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findExecutable, findZeepPython, peerSkip, type PeerName } from '../support/peers.ts';
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

const CLIENTS_DIR = join(REPO, 'test/e2e/clients');
const CLIENT_TIMEOUT_MS = 60_000;
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const ACCESS_DENIED_TEXT = 'The user name or password is incorrect';
const FOLDER = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';

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
  readonly peer: PeerName;
  /** The Debian package(s) that provide the client. */
  readonly install: string;
  /** The interpreter, as found on this machine (peers.ts); undefined when the peer is missing. */
  readonly command: string | undefined;
  readonly script: string;
  /** Calls every operation (see the header). */
  readonly allScript: string;
  /** Client-specific evidence in a successful outcome. */
  readonly checkSuccess: (outcome: Outcome, endpoint: string) => void;
  /** The client's rendering of IsUMEnabled's value, and of GetUMProperties' five fields. */
  readonly enabled: (result: unknown) => unknown;
  readonly properties: (result: unknown) => Record<string, unknown>;
  /** How the client shows xs:boolean true and false, and an empty string. */
  readonly yes: unknown;
  readonly no: unknown;
  readonly empty: unknown;
}

const CLIENTS: readonly Client[] = [
  {
    name: 'python3-zeep (WSDL-driven)',
    peer: 'zeep',
    install: 'apt-get install python3-zeep',
    command: await findZeepPython(),
    script: 'zeep_reset.py',
    allScript: 'zeep_all.py',
    checkSuccess(outcome, endpoint) {
      // zeep built the call from the served WSDL and posted to its (rewritten) soap:address.
      assert.ok((outcome.operations as string[]).includes('ResetPIN'));
      assert.equal(outcome.address, endpoint);
      assert.equal(outcome.result, null, 'ResetPINResponse is empty');
    },
    enabled: (result) => result,
    properties: (result) => result as Record<string, unknown>,
    yes: true,
    no: false,
    // zeep reads an empty xs:string element that may be absent (minOccurs="0") as None.
    empty: null,
  },
  {
    name: 'Perl SOAP::Lite (hand-built request)',
    peer: 'soap-lite',
    install: 'apt-get install libsoap-lite-perl',
    command: findExecutable('perl'),
    script: 'soaplite_reset.pl',
    allScript: 'soaplite_all.pl',
    checkSuccess(outcome) {
      // SOAP::Lite reports the response element it parsed.
      assert.equal(outcome.response, 'ResetPINResponse');
      assert.equal(outcome.uri, M);
      // It sent its own dialect, which the service must accept (DESIGN §1.5).
      assert.match(String(outcome.request), /soap:encodingStyle=/);
      assert.match(String(outcome.request), /<m:ResetPIN xsi:nil="true"\s*\/>/);
    },
    enabled: (result) => result,
    properties: (result) => result as Record<string, unknown>,
    // Without a schema SOAP::Lite hands over the text.
    yes: 'true',
    no: 'false',
    empty: '',
  },
  {
    name: 'PHP SoapClient (WSDL-driven)',
    peer: 'php-soap',
    install: 'apt-get install php-cli php-soap',
    command: findExecutable('php'),
    script: 'php_reset.php',
    allScript: 'php_all.php',
    checkSuccess(outcome) {
      // SoapClient built the call from the served WSDL.
      assert.ok((outcome.functions as string[]).some((f) => /^ResetPINResponse ResetPIN\(/.test(f)), String(outcome.functions));
      assert.match(String(outcome.request), /<ns1:ResetPIN\/>/);
    },
    // SoapClient returns the outer response element as an object holding the inner one.
    enabled: (result) => (result as { IsUMEnabledResponse?: unknown }).IsUMEnabledResponse,
    properties: (result) => (result as { GetUMPropertiesResponse: Record<string, unknown> }).GetUMPropertiesResponse,
    yes: true,
    no: false,
    empty: '',
  },
];

/** Runs a client script and returns the JSON line it printed. */
async function callClient(client: Client, endpoint: string, login: string, password: string, script = client.script): Promise<Outcome> {
  assert.ok(client.command, `${client.name}: not found`);
  const result = await run(client.command, [join(CLIENTS_DIR, script), endpoint, login, password]);
  const context = `${script} exited ${result.code ?? result.spawnError?.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
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
  describe(client.name, { skip: await peerSkip(client.peer) }, () => {
    const login = `thirdparty${index}`;
    const password = `Correct horse ${index} battery staple`;
    let welcomePin: string;

    before(async () => {
      welcomePin = await provisionMailbox(service, login, password);
    });

    it('resets the PIN: the client gets a ResetPINResponse and the mailed PIN is the active one', async (t) => {
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

    it('calls every other operation: answers and faults parsed by the client, the setters read back with GetUMProperties', async (t) => {
      const mailsBefore = await listMailFiles(service.config.pickupDir);
      const outcome = await callClient(client, service.endpoint, login, password, client.allScript);
      t.diagnostic(`${client.allScript}: ${JSON.stringify(outcome)}`);
      const steps = outcome.steps as Step[];
      assert.deepEqual(steps.map((s) => s.call), [
        'IsUMEnabled', 'GetUMProperties', 'SetOofStatus', 'SetMissedCallNotificationEnabled', 'SetPlayOnPhoneDialString', 'SetTelephoneAccessFolderEmail',
        'GetUMProperties', 'SetPlayOnPhoneDialString', 'PlayOnPhone', 'PlayOnPhoneGreeting', 'GetCallInfo', 'Disconnect', 'ResetPIN',
      ]);
      const [enabled, initial, oof, missed, dial, folder, readBack, badDial, play, greeting, callInfo, disconnect, reset] = steps as [
        Step, Step, Step, Step, Step, Step, Step, Step, Step, Step, Step, Step, Step];

      assert.equal(client.enabled(success(enabled).result), client.yes, 'IsUMEnabled: true');
      const props = (step: Step) => {
        const p = client.properties(success(step).result);
        return [p.OofStatus, p.MissedCallNotificationEnabled, p.PlayOnPhoneDialString, p.TelephoneAccessNumbers, p.TelephoneAccessFolderEmail];
      };
      assert.deepEqual(props(initial), [client.no, client.yes, client.empty, client.empty, client.empty], 'the defaults, all five fields');
      for (const setter of [oof, missed, dial, folder]) success(setter);
      assert.deepEqual(props(readBack), [client.yes, client.no, '+1 555 0100', client.empty, FOLDER], 'each setter read back');
      assert.deepEqual((await service.services.store.findMailbox(login))?.voiceMail,
        { oofStatus: true, missedCallNotificationEnabled: false, playOnPhoneDialString: '+1 555 0100', telephoneAccessFolder: FOLDER }, 'and stored');

      expectFault(badDial, /(^|:)Client$/, '<dialString> is not a telephone number', 'ErrorInvalidRequest');
      for (const step of [play, greeting]) expectFault(step, /(^|:)Server$/, 'no telephony back end is configured', 'ErrorUnifiedMessagingRequestFailed');
      for (const step of [callInfo, disconnect]) {
        expectFault(step, /^a:InvalidCallIdException$/, 'The call identifier is not valid', 'ErrorInvalidPhoneCallId');
        assert.match(JSON.stringify(step.detail), /InvalidCallIdException/, 'detail carries the ExceptionType');
      }
      success(reset);
      assert.equal((await newPinMails(service.config.pickupDir, mailsBefore)).length, 1, 'ResetPIN mailed one new PIN');
    });
  });
}

interface Step {
  readonly call: string;
  readonly ok?: boolean;
  readonly fault?: boolean;
  readonly result?: unknown;
  readonly code?: string | null;
  readonly message?: string | null;
  readonly detail?: unknown;
}

function success(step: Step): Step {
  assert.equal(step.ok, true, `${step.call} failed: ${JSON.stringify(step)}`);
  return step;
}

function expectFault(step: Step, code: RegExp, message: string, responseCode: string): void {
  assert.equal(step.fault, true, `${step.call} should have been a fault: ${JSON.stringify(step)}`);
  assert.match(String(step.code), code, `${step.call}: ${JSON.stringify(step)}`);
  assert.ok(String(step.message).includes(message), `${step.call}: ${String(step.message)}`);
  assert.match(JSON.stringify(step.detail), new RegExp(responseCode), `${step.call}: the client read the EWS code from detail`);
}
