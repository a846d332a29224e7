/**
 * The call operations: without a dialer (umpin's default) the typed faults;
 * with a dialer plugged in (a test double here, standing where a telephony
 * back end would), the request it receives and the answers it gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestService, type TestService } from '../../test/support/service.ts';
import { DialStringRejected, EntryIdRejected, InvalidCallId, InvalidRequestValue, MailboxNotEnabled, TelephonyNotConfigured } from '../errors.ts';
import { enableMailbox } from './admin/mailboxes.ts';
import { addUser } from './admin/users.ts';
import type { CallInfo, CallRequest, Dialer } from './dialer.ts';
import { disconnectCall, getCallInfo, playOnPhone } from './play-on-phone.ts';

const ENTRY_ID = 'AAAAAGsd2rbQLVtLobUGbrq/9IUHAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAACxVpEl+KVVLl957wp//x6UAGAetcDUAAA==';
const SOURCE = '192.0.2.9';
const carol = { login: 'call.carol', password: 'carol password' };
const dave = { login: 'call.dave', password: 'dave password' };
const nobox = { login: 'call.nobox', password: 'nobox password' };
let service: TestService;

before(async () => {
  service = await startTestService();
  for (const user of [carol, dave, nobox]) await addUser(service.services, user.login, user.password);
  await enableMailbox(service.services, carol.login, { email: 'carol@example.com', extension: '52001' });
  await enableMailbox(service.services, dave.login, { email: 'dave@example.com', extension: '52002' });
});
after(() => service?.close());

const callAudit = async (login: string) => (await service.services.store.listAudit({ login })).filter((e) => e.event === 'um.call').map((e) => [e.outcome, e.detail?.operation]);

describe('without a telephony back end (the default)', () => {
  it('PlayOnPhone and PlayOnPhoneGreeting with good arguments: TelephonyNotConfigured, a Server fault that blames no input', async () => {
    await assert.rejects(playOnPhone(service.services, carol, SOURCE, { operation: 'PlayOnPhone', entryId: ENTRY_ID, dialString: '12345' }),
      (error: Error) => error instanceof TelephonyNotConfigured && error.faultCode === 'Server' && /no telephony back end is configured/.test(error.message));
    await assert.rejects(playOnPhone(service.services, carol, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'NormalCustom', dialString: '12345' }), TelephonyNotConfigured);
    assert.deepEqual((await callAudit(carol.login)).slice(-2), [['no-telephony', 'PlayOnPhone'], ['no-telephony', 'PlayOnPhoneGreeting']]);
  });

  it('bad arguments are still judged first, with the spec\'s exceptions', async () => {
    await assert.rejects(playOnPhone(service.services, carol, SOURCE, { operation: 'PlayOnPhone', entryId: 'not an id!', dialString: '12345' }),
      (error: Error) => error instanceof EntryIdRejected && error.exceptionType === 'InvalidObjectIdException');
    await assert.rejects(playOnPhone(service.services, carol, SOURCE, { operation: 'PlayOnPhone', entryId: ENTRY_ID, dialString: 'home' }),
      (error: Error) => error instanceof DialStringRejected && error.exceptionType === 'DialingRulesException' && /^The dial string is not a telephone number/.test(error.message));
    await assert.rejects(playOnPhone(service.services, carol, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'Custom', dialString: '1' }),
      (error: Error) => error instanceof InvalidRequestValue && /NormalCustom or OofCustom/.test(error.message));
  });

  it('every call id is InvalidCallIdException, for GetCallInfo and Disconnect alike', async () => {
    for (const id of ['', 'MDlkZjllZGMtNGUy', 'x'.repeat(1024)]) {
      await assert.rejects(getCallInfo(service.services, carol, SOURCE, id), (error: Error) => error instanceof InvalidCallId && error.exceptionType === 'InvalidCallIdException');
      await assert.rejects(disconnectCall(service.services, carol, SOURCE, id), InvalidCallId);
    }
    assert.deepEqual((await callAudit(carol.login)).slice(-2), [['invalid-call-id', 'GetCallInfo'], ['invalid-call-id', 'Disconnect']]);
  });

  it('a caller without a mailbox is MailboxNotEnabled first', async () => {
    await assert.rejects(getCallInfo(service.services, nobox, SOURCE, 'x'), MailboxNotEnabled);
    await assert.rejects(playOnPhone(service.services, nobox, SOURCE, { operation: 'PlayOnPhone', entryId: ENTRY_ID, dialString: '1' }), MailboxNotEnabled);
  });
});

/** Remembers calls per login, as a back end would; a call id is valid for the login that placed it only. */
class RecordingDialer implements Dialer {
  readonly placed: CallRequest[] = [];
  readonly #calls = new Map<string, { login: string; info: CallInfo }>();
  async placeCall(request: CallRequest): Promise<string> {
    this.placed.push(request);
    const id = Buffer.from(`call-${this.placed.length}@test`).toString('base64');
    this.#calls.set(id, { login: request.login, info: { callState: 'Connecting', eventCause: 'None' } });
    return id;
  }
  async callInfo(login: string, callId: string): Promise<CallInfo | undefined> {
    const call = this.#calls.get(callId);
    return call?.login === login ? call.info : undefined;
  }
  async disconnect(login: string, callId: string): Promise<boolean> {
    const call = this.#calls.get(callId);
    if (call?.login !== login) return false;
    this.#calls.delete(callId);
    return true;
  }
}

describe('with a dialer plugged in', () => {
  it('places the call with the trimmed number and the item, then GetCallInfo and Disconnect use its id, for its owner only', async () => {
    const dialer = new RecordingDialer();
    const services = { ...service.services, dialer };
    const { callId } = await playOnPhone(services, carol, SOURCE, { operation: 'PlayOnPhone', entryId: ENTRY_ID, dialString: ' +1 555 0100 ' });
    assert.deepEqual(dialer.placed, [{ login: carol.login, dialString: '+1 555 0100', play: { kind: 'item', entryId: ENTRY_ID } }]);
    assert.deepEqual((await getCallInfo(services, carol, SOURCE, callId)).info, { callState: 'Connecting', eventCause: 'None' });
    await assert.rejects(getCallInfo(services, dave, SOURCE, callId), InvalidCallId, "another caller cannot see carol's call");
    await assert.rejects(disconnectCall(services, dave, SOURCE, callId), InvalidCallId);
    await disconnectCall(services, carol, SOURCE, callId);
    await assert.rejects(getCallInfo(services, carol, SOURCE, callId), InvalidCallId, 'an ended call is gone');

    const greeting = await playOnPhone(services, dave, SOURCE, { operation: 'PlayOnPhoneGreeting', greetingType: 'OofCustom', dialString: '36697' });
    assert.notEqual(greeting.callId, callId);
    assert.deepEqual(dialer.placed.at(-1)?.play, { kind: 'greeting', greetingType: 'OofCustom' });
  });
});
