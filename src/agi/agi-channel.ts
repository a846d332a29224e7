/**
 * One FastAGI session, the server's side of Asterisk's res_agi.c protocol:
 * a line-based text protocol over TCP that Node's `node:net` carries without
 * a library (the npm candidates are unmaintained; the protocol is a dozen
 * line shapes). What Asterisk sends, in order (res_agi.c launch_netscript and
 * setup_env): `agi_network: yes`, `agi_network_script: <path>` when the URL
 * has one, the environment block (`agi_request` … `agi_arg_N`), an empty
 * line. Then the server writes one command per line and reads one reply per
 * command: `200 result=…`, `510 …`, `511 …`, or a multi-line `520-…` ended by
 * `520 …`. When the caller hangs up, Asterisk writes `HANGUP` on its own line
 * at any point (before or after the reply of the command in flight).
 *
 * Nothing read from the peer is ever logged here: `200 result=` carries the
 * digits the caller typed.
 */
import type { Socket } from 'node:net';

/** Asterisk's own command buffer (res_agi.c AGI_BUF_LEN); a longer line is not Asterisk. */
export const MAX_LINE_BYTES = 8192;
/** res_agi.c MAX_ARGS is 128; with the twenty fixed variables a block has fewer than 160 lines. */
export const MAX_ENVIRONMENT_LINES = 200;

/** The peer is gone, sent something that is not FastAGI, or went silent: the session ends, nothing more is sent. */
export class AgiSessionEnded extends Error {
  readonly reason: 'closed' | 'timeout' | 'line-too-long' | 'protocol';
  constructor(reason: AgiSessionEnded['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface AgiEnvironment {
  /** `agi_network_script`: the URL's path after the host, without its leading slash ("logon"). */
  readonly script: string;
  /** Every `agi_*` variable as sent, `agi_arg_1`… included. */
  readonly variables: ReadonlyMap<string, string>;
  /** `agi_arg_1`…`agi_arg_N` in order. */
  readonly args: readonly string[];
}

export interface AgiReply {
  /** 200, 510, 511 or 520. */
  readonly code: number;
  /** The `result=` value of a 200 reply ('' when the caller typed nothing), undefined otherwise. */
  readonly result: string | undefined;
  /** `(timeout)` followed the result: GET DATA ran out of time (the digits typed so far are in `result`). */
  readonly timedOut: boolean;
}

export class AgiChannel {
  readonly #socket: Socket;
  readonly #readTimeoutMs: number;
  #buffer = '';
  readonly #lines: string[] = [];
  #waiter: (() => void) | undefined;
  #ended: AgiSessionEnded | undefined;
  #hungUp = false;

  constructor(socket: Socket, readTimeoutMs: number) {
    this.#socket = socket;
    this.#readTimeoutMs = readTimeoutMs;
    socket.setEncoding('latin1'); // byte-for-byte; the protocol is ASCII and a stray byte must not split a character
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('end', () => this.#end(new AgiSessionEnded('closed', 'the peer closed the connection')));
    socket.on('close', () => this.#end(new AgiSessionEnded('closed', 'the connection closed')));
    socket.on('error', () => this.#end(new AgiSessionEnded('closed', 'the connection failed')));
  }

  /** The caller hung up (Asterisk sent HANGUP, or the connection went): commands that need the channel are pointless. */
  get hungUp(): boolean {
    return this.#hungUp || this.#ended !== undefined;
  }

  /** Reads the `agi_network` header and the environment block up to its empty line. */
  async readEnvironment(): Promise<AgiEnvironment> {
    const variables = new Map<string, string>();
    for (let count = 0; ; count += 1) {
      if (count > MAX_ENVIRONMENT_LINES) throw this.#fail('protocol', 'the environment block does not end');
      const line = await this.#readLine();
      if (line === '') break;
      const match = /^(agi_[a-z0-9_]+): ?(.*)$/.exec(line);
      if (!match) throw this.#fail('protocol', 'a line of the environment block is not "agi_<name>: <value>"');
      variables.set(match[1] as string, match[2] as string);
    }
    if (variables.get('agi_network') !== 'yes') throw this.#fail('protocol', 'the peer did not start with "agi_network: yes"');
    const args: string[] = [];
    for (let n = 1; variables.has(`agi_arg_${n}`); n += 1) args.push(variables.get(`agi_arg_${n}`) as string);
    return { script: variables.get('agi_network_script') ?? '', variables, args };
  }

  /** Sends one command and reads its reply; a HANGUP line before or after it only marks the channel. */
  async command(line: string): Promise<AgiReply> {
    if (/[\r\n]/.test(line)) throw new TypeError('an AGI command is one line');
    if (this.#ended) throw this.#ended;
    this.#socket.write(`${line}\n`);
    const reply = await this.#readLine();
    const match = /^(\d{3})([ -])(.*)$/.exec(reply);
    if (!match) throw this.#fail('protocol', 'a reply is not "<code> <text>"');
    const code = Number(match[1]);
    if (code === 520 && match[2] === '-') {
      // The usage text follows, ended by "520 End of proper usage." (res_agi.c agi_handle_command).
      for (let count = 0; !(await this.#readLine()).startsWith('520 '); count += 1) {
        if (count > MAX_ENVIRONMENT_LINES) throw this.#fail('protocol', 'a 520 usage text does not end');
      }
      return { code, result: undefined, timedOut: false };
    }
    if (code !== 200) return { code, result: undefined, timedOut: false };
    const result = /^result=(\S*)( \(timeout\))?/.exec(match[3] as string);
    if (!result) throw this.#fail('protocol', 'a 200 reply has no result=');
    return { code, result: result[1], timedOut: result[2] !== undefined };
  }

  /** Ends the session: Asterisk then carries on with the next priority of the dialplan. */
  close(): void {
    this.#end(new AgiSessionEnded('closed', 'the session ended'));
    this.#socket.end();
  }

  #receive(chunk: string): void {
    if (this.#ended) return;
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.#buffer.slice(0, newline).replace(/\r$/, '');
      // HANGUP is an event, not a reply: marked the moment it arrives, so a commit about to start sees it.
      if (line === 'HANGUP') this.#hungUp = true;
      else this.#lines.push(line);
      this.#buffer = this.#buffer.slice(newline + 1);
      newline = this.#buffer.indexOf('\n');
    }
    if (this.#buffer.length > MAX_LINE_BYTES) {
      this.#fail('line-too-long', `a line is longer than ${MAX_LINE_BYTES} bytes`);
    }
    this.#wake();
  }

  #readLine(): Promise<string> {
    const ready = this.#lines.shift();
    if (ready !== undefined) {
      if (ready.length > MAX_LINE_BYTES) return Promise.reject(this.#fail('line-too-long', `a line is longer than ${MAX_LINE_BYTES} bytes`));
      return Promise.resolve(ready);
    }
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(this.#fail('timeout', `no line within ${this.#readTimeoutMs} ms`));
      }, this.#readTimeoutMs);
      this.#waiter = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
        this.#readLine().then(resolve, reject);
      };
    });
  }

  #wake(): void {
    this.#waiter?.();
  }

  #fail(reason: AgiSessionEnded['reason'], message: string): AgiSessionEnded {
    const error = new AgiSessionEnded(reason, message);
    this.#lines.length = 0;
    this.#end(error);
    this.#socket.destroy();
    return error;
  }

  #end(error: AgiSessionEnded): void {
    if (this.#ended) return;
    this.#ended = error;
    this.#buffer = '';
    this.#wake();
  }
}

/**
 * One AGI argument as res_agi.c parse_args reads it: quoted, with `"` and `\`
 * escaped, so a value with spaces stays one argument.
 */
export function quoteAgiArgument(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, '')}"`;
}
