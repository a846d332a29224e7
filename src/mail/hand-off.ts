/**
 * One attempt to hand a PIN mail to the transport, bounded in time, and what
 * a failed attempt tells its caller. Both the inline reset (change-pin) and
 * the outbox worker decide retry or give-up from these facts, never from an
 * error's text (STYLE 10).
 */
import { MailHandOffFailed, type HandOffFacts, type UmpinError } from '../errors.ts';
import { withDeadline } from '../lib/with-deadline.ts';
import type { HandOffOutcome } from '../observability/metrics.ts';
import type { HandOffReceipt, MailMessage, MailTransport } from './transport.ts';

/**
 * One hand-off within `timeoutMs`; a transport silent that long is a temporary failure.
 * `observe` hears how the attempt ended: sent, refused (permanent) or deferred.
 */
export async function handOffWithin(transport: MailTransport, message: MailMessage, timeoutMs: number, observe: (outcome: HandOffOutcome) => void): Promise<HandOffReceipt> {
  try {
    const receipt = await withDeadline(timeoutMs, (signal) => transport.handOff(message, signal),
      () => new MailHandOffFailed({ permanent: false, reply: `no answer within ${timeoutMs} ms` }));
    observe('sent');
    return receipt;
  } catch (error) {
    observe(error instanceof MailHandOffFailed && error.facts.permanent ? 'refused' : 'deferred');
    throw error;
  }
}

/** The relay's facts of a failed hand-off; any other failure (ours, not the relay's) is temporary, its code the reply. */
export function toHandOffFacts(failure: UmpinError): HandOffFacts {
  return failure instanceof MailHandOffFailed ? failure.facts : { permanent: false, reply: failure.code };
}

/** The facts as an audit event's detail. */
export function handOffAuditDetail(facts: HandOffFacts): Record<string, string | number | boolean> {
  return { permanent: facts.permanent, reply: facts.reply ?? '', ...(facts.responseCode ? { responseCode: facts.responseCode } : {}) };
}
