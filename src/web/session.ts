/**
 * Self-service sessions: a cookie sealed by @fastify/secure-session
 * (libsodium secretbox) with keys derived from the server keyring, so every
 * instance sharing the secret file opens every instance's cookies, and after
 * a rotation cookies sealed under a previous key still open (and are sealed
 * again under the current one). What a cookie alone cannot say is checked
 * on every request against the database the instances share:
 * - signed out: the session's id is in the store's ended sessions;
 * - the password changed or the mailbox was disabled (or re-enabled): the
 *   credential stamp taken at sign-in no longer matches.
 * Idle (UMPIN_WEB_IDLE_SECONDS) and absolute (MAX_SESSION_MS) limits are
 * judged from times inside the sealed cookie.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Session } from '@fastify/secure-session';
import type { ServerKeyring } from '../crypto/secret-key.ts';
import type { Services } from '../operations/services.ts';
import { isLanguage, type Language } from './i18n.ts';

declare module '@fastify/secure-session' {
  /** What a sealed cookie holds; `_csrf` is @fastify/csrf-protection's secret. Read back through the checks below. */
  interface SessionData {
    sid: string;
    login: string;
    stamp: string;
    signedInAt: number;
    seenAt: number;
    lang: Language;
    flash: Flash;
    _csrf: string;
  }
}

export const SESSION_COOKIE = 'umpin_session';

/**
 * However active, a session ends this long after sign-in. It bounds what
 * umpin cannot see: a directory (LDAP) user's password changed in the
 * directory ends their session at the latest by then.
 */
export const MAX_SESSION_MS = 8 * 60 * 60 * 1000;

/** One sealing key per server key, current first: secure-session seals with the first and opens with any. */
export function deriveSessionKeys(keyring: ServerKeyring): Buffer[] {
  return keyring.keys.map((key) => Buffer.from(hkdfSync('sha256', key.pepper, Buffer.alloc(0), 'umpin/web-session', 32)));
}

/** A notice shown once on the next page. */
export type Flash = 'signed-out' | 'expired' | 'reset-sent' | 'pin-changed';
const FLASHES: readonly Flash[] = ['signed-out', 'expired', 'reset-sent', 'pin-changed'];

interface SignedIn {
  readonly sid: string;
  readonly login: string;
  readonly stamp: string;
  readonly signedInAt: number;
  readonly seenAt: number;
}

export type SessionState =
  | { readonly status: 'signed-in'; readonly login: string }
  | { readonly status: 'anonymous' }
  | { readonly status: 'ended'; readonly login: string; readonly reason: 'idle' | 'expired' | 'signed-out' | 'credentials-changed' };

/**
 * What the sign-in proved, reduced to a fingerprint: the stored password
 * verifier (a directory user has none) and the mailbox's per-mailbox salt,
 * which a disable and re-enable replaces. The cookie is sealed, so the
 * fingerprint is never seen outside the server; it only has to change when
 * either changes. A re-hash under a new server key also changes the
 * verifier: that ends the session once, which errs on the safe side.
 */
export async function credentialStamp(services: Services, login: string): Promise<string> {
  const [password, mailbox] = await Promise.all([services.store.findPassword(login), services.store.findMailbox(login)]);
  return createHash('sha256')
    .update(`${password?.verifier ?? 'directory'}\u0000${mailbox ? mailbox.pinSalt.toString('hex') : 'no-mailbox'}`)
    .digest('base64url')
    .slice(0, 32);
}

function readSignedIn(session: Session): SignedIn | undefined {
  const [sid, login, stamp, signedInAt, seenAt] = ['sid', 'login', 'stamp', 'signedInAt', 'seenAt'].map((key) => session.get(key)) as unknown[];
  if (typeof sid !== 'string' || typeof login !== 'string' || typeof stamp !== 'string' || typeof signedInAt !== 'number' || typeof seenAt !== 'number') return undefined;
  return { sid, login, stamp, signedInAt, seenAt };
}

/** Judges the session and, for a live one, records this use (the idle clock starts again). */
export async function checkSession(services: Services, session: Session, idleMs: number): Promise<SessionState> {
  const signedIn = readSignedIn(session);
  if (!signedIn) return { status: 'anonymous' };
  const now = services.now().getTime();
  const ended = (reason: 'idle' | 'expired' | 'signed-out' | 'credentials-changed'): SessionState => ({ status: 'ended', login: signedIn.login, reason });
  if (now - signedIn.seenAt > idleMs) return ended('idle');
  if (now - signedIn.signedInAt > MAX_SESSION_MS) return ended('expired');
  if (await services.store.isWebSessionEnded(signedIn.sid)) return ended('signed-out');
  if ((await credentialStamp(services, signedIn.login)) !== signedIn.stamp) return ended('credentials-changed');
  session.set('seenAt', now);
  return { status: 'signed-in', login: signedIn.login };
}

/**
 * A new session for a user who just signed in: a new id, and nothing of the
 * anonymous session kept but its language (a planted cookie gains nothing,
 * and the CSRF secret is made afresh).
 */
export function startSession(session: Session, login: string, stamp: string, now: number): void {
  session.regenerate(['lang']);
  session.set('sid', randomBytes(18).toString('base64url'));
  session.set('login', login);
  session.set('stamp', stamp);
  session.set('signedInAt', now);
  session.set('seenAt', now);
}

/** Ends the session for every instance (signed out), and leaves an anonymous one with the language and a notice. */
export async function endSession(services: Services, session: Session, flash: Flash): Promise<string | undefined> {
  const signedIn = readSignedIn(session);
  if (signedIn) await services.store.endWebSession(signedIn.sid, new Date(signedIn.signedInAt + MAX_SESSION_MS), services.now());
  forgetSignIn(session, flash);
  return signedIn?.login;
}

/** Drops the signed-in part only (an ended session); the next page shows `flash`. */
export function forgetSignIn(session: Session, flash: Flash): void {
  session.regenerate(['lang']);
  session.set('flash', flash);
}

export function takeFlash(session: Session): Flash | undefined {
  const flash = session.get('flash') as unknown;
  if (flash === undefined) return undefined;
  session.set('flash', undefined);
  return FLASHES.find((known) => known === flash);
}

export function sessionLanguage(session: Session): Language | undefined {
  const lang = session.get('lang') as unknown;
  return isLanguage(lang) ? lang : undefined;
}
