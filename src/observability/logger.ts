/**
 * The one logger shape the core asks for: pino satisfies it, a test can
 * record with it. Never given a password, a PIN or a secret (DESIGN §6).
 */
export interface Logger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}
