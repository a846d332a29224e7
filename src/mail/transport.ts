/** A composed e-mail, ready for any transport. Holds a PIN in its body: never log it. */
export interface MailMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** An HTML alternative to `text` (same content); sent as multipart/alternative when present. */
  readonly html?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** What the mail system said when it took the message. */
export interface HandOffReceipt {
  readonly messageId: string;
  /** e.g. the pickup file's name, or the SMTP server's 250 reply. */
  readonly reply: string;
}

/**
 * DESIGN §2 step 5. Resolves once the mail system has taken responsibility
 * for the message; rejects with MailHandOffFailed otherwise.
 */
export interface MailTransport {
  handOff(message: MailMessage, signal: AbortSignal): Promise<HandOffReceipt>;
  close(): Promise<void>;
}
