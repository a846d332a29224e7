/**
 * The dialer contract (dialer.ts) as the call operations hold a back end to
 * it: the two greeting types of the spec and nothing else reach a dialer;
 * what a dialer is asked, per caller; the states and causes it reports reach
 * the caller unchanged; a call id it does not know, or knows for another
 * login, is the spec's InvalidCallId; a back end that fails places nothing.
 * umpin ships no dialer, so a test back end stands where Asterisk or a SIP
 * trunk would (the services are real: SQLite store, KDF, sign-in, limits).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidCallId, InvalidRequestValue, toUmpinError } from '../errors.ts';
import { openOperationsHarness, type OperationsHarness } from '../../test/support/operations.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { addUser } from './admin/users.ts';
import { GREETING_TYPES, type CallInfo, type CallRequest, type Dialer } from './dialer.ts';
import { disconnectCall, getCallInfo, playOnPhone } from './play-on-phone.ts';
import type { Services } from './services.ts';

const SOURCE = '192.0.2.9';
const carol = { login: 'dial.carol', password: 'carol password' };
const dave = { login: 'dial.dave', password: 'dave password' };

/** A back end whose calls the test moves through their states; it can be told to refuse the next call. */
class TestBackEnd implements Dialer {
  readonly placed: CallRequest[] = [];
  readonly calls = new Map<string, { login: string; info: CallInfo }>();
  refuseNext = false;

  async placeCall(request: CallRequest): Promise<string> {
    if (this.refuseNext) {
      this.refuseNext = false;
      throw new Error('originate failed: trunk unavailable');
    }
    this.placed.push(request);
    const id = Buffer.from(`call-${this.placed.length}`).toString('base64');
    this.calls.set(id, { login: request.login, info: { callState: 'Connecting', eventCause: 'None' } });
    return id;
  }

  async callInfo(login: string, callId: string): Promise<CallInfo | undefined> {
    const call = this.calls.get(callId);
    return call?.login === login ? call.info : undefined;
  }

  async disconnect(login: string, callId: string): Promise<boolean> {
    const call = this.calls.get(callId);
    if (call?.login !== login) return false;
    call.info = { callState: 'Disconnected', eventCause: 'None' };
    return true;
  }
}

let h: OperationsHarness;
before(async () => {
  h = await openOperationsHarness({ UMPIN_LIMIT_REQUESTS_PER_MINUTE: '100000' });
  for (const [user, extension] of [[carol, '53001'], [dave, '53002']] as const) {
    await addUser(h.services, user.login, user.password);
    await enableMailbox(h.services, user.login, { email: `${user.login}@example.com`, extension });
  }
});
after(() => h?.close());

function withDialer(): { services: Services; dialer: TestBackEnd } {
  const dialer = new TestBackEnd();
  return { services: { ...h.services, dialer }, dialer };
}

const callAudit = async (login: string) => (await h.services.store.listAudit({ login })).filter((e) => e.event === 'um.call').map((e) => [e.outcome, e.detail?.operation]);

describe('greeting types', () => {
  it('are the spec\'s two, NormalCustom and OofCustom', () => {
    assert.deepEqual([...GREETING_TYPES], ['NormalCustom', 'OofCustom']);
  });

  it('each of the two reaches the dialer as that greeting (surrounding spaces trimmed); any other, a case variant too, is refused and no call is placed', async () => {
    const { services, dialer } = withDialer();
    for (const greetingType of GREETING_TYPES) {
      await playOnPhone(services, carol, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: ` ${greetingType}\n`, dialString: '36697' });
    }
    assert.deepEqual(dialer.placed.map((p) => p.play), GREETING_TYPES.map((greetingType) => ({ kind: 'greeting', greetingType })));
    for (const greetingType of ['normalcustom', 'OOFCUSTOM', 'Voicemail', '']) {
      await assert.rejects(playOnPhone(services, carol, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType, dialString: '36697' }), InvalidRequestValue);
    }
    assert.equal(dialer.placed.length, 2, 'nothing more reached the dialer');
  });
});

describe('calls through a dialer', () => {
  it('two callers at once: each call is asked for its own login, and its id is good for that caller only', async () => {
    const { services, dialer } = withDialer();
    const [a, b] = await Promise.all([
      playOnPhone(services, carol, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'NormalCustom', dialString: '+1 555 0100' }),
      playOnPhone(services, dave, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'OofCustom', dialString: '+1 555 0101' }),
    ]);
    assert.deepEqual(dialer.placed.map((p) => [p.login, p.dialString]).sort(), [[carol.login, '+1 555 0100'], [dave.login, '+1 555 0101']]);
    assert.notEqual(a.callId, b.callId);
    await assert.rejects(getCallInfo(services, dave, SOURCE, a.callId), InvalidCallId);
    await assert.rejects(disconnectCall(services, carol, SOURCE, b.callId), InvalidCallId);
    assert.deepEqual((await getCallInfo(services, carol, SOURCE, a.callId)).info, { callState: 'Connecting', eventCause: 'None' }, 'carol\'s call goes on');
  });

  it('the state and cause the back end reports reach the caller as they are; Disconnect asks the back end and the call is then Disconnected', async () => {
    const { services, dialer } = withDialer();
    const { callId } = await playOnPhone(services, carol, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'NormalCustom', dialString: '36697' });
    const call = dialer.calls.get(callId);
    assert.ok(call);
    const states: CallInfo[] = [{ callState: 'Connected', eventCause: 'None' }, { callState: 'Disconnected', eventCause: 'NoAnswer' }, { callState: 'Disconnected', eventCause: 'UserBusy' }];
    for (const info of states) {
      call.info = info;
      assert.deepEqual((await getCallInfo(services, carol, SOURCE, callId)).info, info);
    }
    call.info = { callState: 'Connected', eventCause: 'None' };
    await disconnectCall(services, carol, SOURCE, callId);
    assert.deepEqual((await getCallInfo(services, carol, SOURCE, callId)).info, { callState: 'Disconnected', eventCause: 'None' });
    assert.deepEqual((await callAudit(carol.login)).slice(-1), [['success', 'Disconnect']]);
  });

  it('a back end that refuses the call: the caller gets a server fault and no call id, and no call is audited as placed; the next call goes through', async () => {
    const { services, dialer } = withDialer();
    dialer.refuseNext = true;
    const successes = async () => (await callAudit(dave.login)).filter(([outcome]) => outcome === 'success').length;
    const before = await successes();
    await assert.rejects(playOnPhone(services, dave, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'NormalCustom', dialString: '36697' }),
      (error: unknown) => error instanceof Error && /trunk unavailable/.test(error.message) && toUmpinError(error).httpStatus === 500);
    assert.equal(dialer.calls.size, 0);
    assert.equal(await successes(), before, 'no call is audited as placed');
    const { callId } = await playOnPhone(services, dave, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'NormalCustom', dialString: '36697' });
    assert.deepEqual([...dialer.calls.keys()], [callId]);
    assert.equal(await successes(), before + 1);
  });
});
