/**
 * The embedded default: each message becomes `<dir>/<id>.eml`, a complete
 * RFC 5322 message that a mail server's pickup directory (IIS/Exchange
 * "Pickup", Postfix via a watcher) or a person can take. Written to a
 * temporary name, flushed, then renamed, so a reader never sees half a file
 * and a hand-off that returned is on disk.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import { MailHandOffFailed } from '../../errors.ts';
import type { HandOffReceipt, MailMessage, MailTransport } from '../transport.ts';

export class PickupTransport implements MailTransport {
  readonly #directory: string;
  /**
   * nodemailer's composer, loaded at the first hand-off: a CLI command that sends no
   * mail (`umpin pin show`) opens this transport too, and nodemailer is some 40 modules.
   */
  #composer: Promise<Transporter> | undefined;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    this.#directory = directory;
  }

  async handOff(message: MailMessage, signal: AbortSignal): Promise<HandOffReceipt> {
    const id = randomUUID();
    const temporary = join(this.#directory, `.${id}.tmp`);
    const final = join(this.#directory, `${id}.eml`);
    try {
      this.#composer ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }));
      const info = await (await this.#composer).sendMail({ ...message, date: new Date() });
      signal.throwIfAborted();
      const file = await open(temporary, 'wx', 0o600);
      try {
        await file.writeFile(info.message as Buffer);
        await file.sync();
      } finally {
        await file.close();
      }
      signal.throwIfAborted();
      await rename(temporary, final);
      await syncDirectory(this.#directory);
      return { messageId: info.messageId, reply: `${id}.eml` };
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      // A full disk or a missing directory may clear up; nothing here is a permanent refusal.
      throw new MailHandOffFailed({ permanent: false, reply: (error as NodeJS.ErrnoException).code ?? 'pickup write failed' }, { cause: error });
    }
  }

  async close(): Promise<void> {
    (await this.#composer)?.close();
  }
}

/** Makes the rename itself durable. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
