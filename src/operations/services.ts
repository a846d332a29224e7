import type { Authenticator } from '../auth/authenticate.ts';
import type { UserDirectory } from '../auth/ldap-authenticator.ts';
import type { ServerKeyring } from '../crypto/secret-key.ts';
import type { Kdf } from '../crypto/kdf.ts';
import type { KeyedMutex } from '../lib/keyed-mutex.ts';
import type { MailTransport } from '../mail/transport.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DigitSource } from '../pin/index.ts';
import type { PinStore } from '../store/index.ts';
import type { Dialer } from './dialer.ts';
import type { Limits } from './limits.ts';
import type { Logger } from '../observability/logger.ts';

export type { Logger };

/**
 * Everything an operation may use, built once by the composition root
 * (`main.ts` or the CLI). Time, randomness and the process identity are
 * here so tests can fix them.
 */
export interface Services {
  readonly store: PinStore;
  readonly kdf: Kdf;
  readonly authenticator: Authenticator;
  /** The server keyring: the current key (`keyId`, `pepper`, `payloadKey`) and the previous ones. */
  readonly keyring: ServerKeyring;
  readonly transport: MailTransport;
  readonly mail: {
    readonly from: string;
    readonly replyTo?: string;
    /** A deployer's mail templates, overriding the built-in ones. */
    readonly templateDir?: string;
    /** The voice access number named in PIN mails. */
    readonly accessNumber?: string;
    readonly handOffTimeoutMs: number;
    /** The first outbox retry waits this long; each next one twice as long, at most an hour. */
    readonly retryBaseMs: number;
    /** An outbox mail not delivered this long after it was queued is given up (the old PIN stays). */
    readonly giveUpAfterMs: number;
  };
  readonly now: () => Date;
  readonly digits: DigitSource;
  /** Identifies this process as the owner of the pending changes it starts. */
  readonly owner: { readonly host: string; readonly pid: number };
  readonly mailboxLocks: KeyedMutex;
  readonly limits: Limits;
  readonly log: Logger;
  /** What /metrics reports; NO_METRICS where nobody scrapes (the CLI). */
  readonly metrics: Metrics;
  /** Places PlayOnPhone calls; absent: no telephony back end is configured (the default). */
  readonly dialer?: Dialer;
  /** Where `mailbox enable --from-directory` looks a user up; absent: no directory is configured (UMPIN_LDAP_URL). */
  readonly directory?: UserDirectory;
}

/** Who asked, and from where; goes into every audit event. */
export interface Actor {
  readonly actor: string;
  readonly source: string;
  /** The road in when it is not the one the event implies (`web`), written into the audit detail. */
  readonly via?: string;
}

/** The administrator at the command line: the actor of what the umpin commands change. */
export const ADMIN: Actor = Object.freeze({ actor: 'admin', source: 'cli' });
