import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError, MailHandOffFailed, ServerBusy } from '../errors.ts';
import type { HandOffOutcome } from '../observability/metrics.ts';
import { handOffAuditDetail, handOffWithin, toHandOffFacts } from './hand-off.ts';
import type { HandOffReceipt, MailMessage, MailTransport } from './transport.ts';

const MESSAGE: MailMessage = { from: 'umpin@example.com', to: 'alice@example.com', subject: 'PIN', text: '1234\n', html: '<p>1234</p>', headers: {} };

function transport(handOff: (signal: AbortSignal) => Promise<HandOffReceipt>): MailTransport & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    handOff: (_message, signal) => {
      signals.push(signal);
      return handOff(signal);
    },
    close: async () => {},
  };
}

describe('handOffWithin', () => {
  it("answers the transport's receipt and observes 'sent'", async () => {
    const outcomes: HandOffOutcome[] = [];
    const receipt = await handOffWithin(transport(async () => ({ messageId: '<1@test>', reply: '250 ok' })), MESSAGE, 1_000, (o) => outcomes.push(o));
    assert.deepEqual(receipt, { messageId: '<1@test>', reply: '250 ok' });
    assert.deepEqual(outcomes, ['sent']);
  });

  it("passes a refusal on unchanged, observed as 'refused' when permanent and 'deferred' otherwise", async () => {
    for (const [facts, observed] of [
      [{ permanent: true, responseCode: 550, reply: '550 no such user' }, 'refused'],
      [{ permanent: false, responseCode: 421, reply: '421 later' }, 'deferred'],
    ] as const) {
      const outcomes: HandOffOutcome[] = [];
      const refusal = new MailHandOffFailed(facts);
      const error = await handOffWithin(transport(async () => Promise.reject(refusal)), MESSAGE, 1_000, (o) => outcomes.push(o)).catch((e: unknown) => e);
      assert.equal(error, refusal);
      assert.deepEqual(outcomes, [observed]);
    }
    const outcomes: HandOffOutcome[] = [];
    const crash = new Error('socket closed');
    assert.equal(await handOffWithin(transport(async () => Promise.reject(crash)), MESSAGE, 1_000, (o) => outcomes.push(o)).catch((e: unknown) => e), crash);
    assert.deepEqual(outcomes, ['deferred'], 'a failure that is not the relay\'s is temporary');
  });

  it('a transport silent past the timeout is a temporary MailHandOffFailed saying so, and its signal is aborted', async () => {
    const outcomes: HandOffOutcome[] = [];
    const silent = transport(() => new Promise(() => {}));
    const error = await handOffWithin(silent, MESSAGE, 20, (o) => outcomes.push(o)).catch((e: unknown) => e);
    assert.ok(error instanceof MailHandOffFailed);
    assert.deepEqual(error.facts, { permanent: false, reply: 'no answer within 20 ms' });
    assert.deepEqual(outcomes, ['deferred']);
    assert.equal(silent.signals[0]?.aborted, true);
  });
});

describe('toHandOffFacts and handOffAuditDetail', () => {
  it("a relay's refusal keeps its facts; any other failure is temporary with its code as the reply", () => {
    assert.deepEqual(toHandOffFacts(new MailHandOffFailed({ permanent: true, responseCode: 550, reply: '550 no' })), { permanent: true, responseCode: 550, reply: '550 no' });
    assert.deepEqual(toHandOffFacts(new ServerBusy(5, 'busy')), { permanent: false, reply: 'ERR_SERVER_BUSY' });
    assert.deepEqual(toHandOffFacts(new InternalError()), { permanent: false, reply: 'ERR_INTERNAL' });
  });

  it('the audit detail has permanent and reply always, the response code only when the relay gave one', () => {
    assert.deepEqual(handOffAuditDetail({ permanent: false, responseCode: 421, reply: '421 later' }), { permanent: false, reply: '421 later', responseCode: 421 });
    assert.deepEqual(handOffAuditDetail({ permanent: true }), { permanent: true, reply: '' });
  });
});
