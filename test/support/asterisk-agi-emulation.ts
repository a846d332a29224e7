/**
 * An EMULATION of Asterisk's side of FastAGI, for tests: no Asterisk package
 * exists for this machine, so this plays res_agi.c (asterisk/asterisk
 * @f0c1c1a) line for line as its source writes them:
 *
 * - launch_netscript: connect, `agi_network: yes`, then
 *   `agi_network_script: <path>` when the URL has a path;
 * - setup_env: agi_request, agi_channel, agi_language, agi_type,
 *   agi_uniqueid, agi_version, agi_callerid, agi_calleridname,
 *   agi_callingpres, agi_callingani2, agi_callington, agi_callingtns,
 *   agi_dnid, agi_rdnis, agi_context, agi_extension, agi_priority,
 *   agi_enhanced, agi_accountcode, agi_threadid, agi_arg_1…N, an empty line;
 * - the commands the scripts use, answered as handle_getdata,
 *   handle_streamfile and handle_setvariable answer: `200 result=<digits>`,
 *   `200 result=<digits> (timeout)`, `200 result=-1`, `200 result=0
 *   endpos=<n>`, `200 result=1`; an unknown command `510 Invalid or unknown
 *   command`; a wrong argument count the multi-line `520-…` usage; on a dead
 *   channel (after a hang-up) `511 Command Not Permitted on a dead channel or
 *   intercept routine` for GET DATA / STREAM FILE, while SET VARIABLE still
 *   works;
 * - run_agi: on hang-up `HANGUP` on its own line (AGISIGHUP defaults on).
 *
 * What the caller does is a list of entries, one per GET DATA.
 */
import net from 'node:net';

export type CallerEntry =
  /** Types these digits and # (or fills maxdigits); `thenHangUp`: hangs up right after (HANGUP follows the reply). */
  | { readonly digits: string; readonly thenHangUp?: boolean }
  /** Types these digits (maybe none) and waits: GET DATA times out. */
  | { readonly timeout: string }
  /** Hangs up while the prompt plays: `200 result=-1`, then `HANGUP`. */
  | { readonly hangup: true };

export interface EmulatedCall {
  /** The URL as written in the dialplan, e.g. agi://127.0.0.1:4573/logon */
  readonly url: string;
  readonly args?: readonly string[];
  readonly callerId?: string;
  readonly entries: readonly CallerEntry[];
  /** Send HANGUP inline *before* answering the n-th command (0-based): a hang-up while umpin is working. */
  readonly hangUpBeforeCommand?: number;
  /** Send these raw bytes instead of the environment block (hostile peers). */
  readonly rawEnvironment?: string;
}

export interface EmulatedCallResult {
  /** Every command line umpin sent, in order. */
  readonly commands: readonly string[];
  /** The channel variables as SET VARIABLE left them. */
  readonly variables: ReadonlyMap<string, string>;
  /** The sound files played (GET DATA prompts and STREAM FILE), in order. */
  readonly prompts: readonly string[];
  /** Whether umpin closed the connection (Asterisk's "AGI Script … completed"). */
  readonly closedByServer: boolean;
}

/** res_agi.c's parse_args: words split on blanks, double quotes group, backslash escapes. */
export function parseAgiArgs(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let escaped = false;
  let inWord = false;
  for (const c of line) {
    if (escaped) { current += c; escaped = false; inWord = true; continue; }
    if (c === '\\') { escaped = true; continue; }
    if (c === '"') { quoted = !quoted; inWord = true; continue; }
    if ((c === ' ' || c === '\t') && !quoted) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
      continue;
    }
    current += c;
    inWord = true;
  }
  if (inWord) args.push(current);
  return args;
}

export function environmentBlock(call: EmulatedCall, script: string): string {
  const lines = [
    'agi_network: yes',
    ...(script === '' ? [] : [`agi_network_script: ${script}`]),
    `agi_request: ${call.url}`,
    'agi_channel: PJSIP/2001-00000007',
    'agi_language: en',
    'agi_type: PJSIP',
    'agi_uniqueid: 1733140000.7',
    'agi_version: 22.5.0',
    `agi_callerid: ${call.callerId ?? '2001'}`,
    'agi_calleridname: Emulated Caller',
    'agi_callingpres: 0',
    'agi_callingani2: 0',
    'agi_callington: 0',
    'agi_callingtns: 0',
    'agi_dnid: *98',
    'agi_rdnis: unknown',
    'agi_context: umpin-vm',
    'agi_extension: *98',
    'agi_priority: 2',
    'agi_enhanced: 0.0',
    'agi_accountcode: ',
    'agi_threadid: 140230011029184',
    ...(call.args ?? []).map((arg, i) => `agi_arg_${i + 1}: ${arg}`),
  ];
  return `${lines.join('\n')}\n\n`;
}

/** Places one emulated call into the FastAGI server at host:port and plays the caller's entries. */
export function emulateAsteriskCall(port: number, call: EmulatedCall, options: { host?: string; localAddress?: string } = {}): Promise<EmulatedCallResult> {
  // launch_netscript: everything after "agi://host[:port]/" is the script.
  const script = /^agi:\/\/[^/]+\/?(.*)$/.exec(call.url)?.[1] ?? '';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const commands: string[] = [];
    const prompts: string[] = [];
    const variables = new Map<string, string>();
    const entries = [...call.entries];
    let dead = false;
    let buffer = '';
    let closedByServer = false;
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`emulated call timed out; commands so far: ${commands.join(' | ')}`)); }, 20_000);
    const send = (text: string) => { if (!socket.destroyed) socket.write(text); };
    const hangUp = () => { if (!dead) { dead = true; send('HANGUP\n'); } };

    const answer = (line: string) => {
      if (call.hangUpBeforeCommand === commands.length) hangUp();
      commands.push(line);
      const argv = parseAgiArgs(line);
      const name = `${argv[0] ?? ''} ${argv[1] ?? ''}`.toUpperCase();
      if (name === 'GET DATA') {
        if (argv.length < 3) return send('520-Invalid command syntax.  Proper usage follows:\n Usage: GET DATA <file to be streamed> [timeout] [max digits]\n520 End of proper usage.\n');
        if (dead) return send('511 Command Not Permitted on a dead channel or intercept routine\n');
        prompts.push(argv[2] as string);
        const entry = entries.shift() ?? { hangup: true };
        if ('hangup' in entry) {
          send('200 result=-1\n');
          return hangUp();
        }
        const max = argv[4] === undefined ? 1024 : Number(argv[4]);
        if ('digits' in entry) {
          // One write, as run_agi's next loop turn would follow the reply at once with HANGUP.
          if (entry.thenHangUp) dead = true;
          return send(`200 result=${entry.digits.slice(0, max)}\n${entry.thenHangUp ? 'HANGUP\n' : ''}`);
        }
        return send(`200 result=${entry.timeout} (timeout)\n`);
      }
      if (name === 'STREAM FILE') {
        if (argv.length < 4 || argv.length > 5) return send('520-Invalid command syntax.  Proper usage follows:\n Usage: STREAM FILE <filename> <escape digits> [sample offset]\n520 End of proper usage.\n');
        if (dead) return send('511 Command Not Permitted on a dead channel or intercept routine\n');
        prompts.push(argv[2] as string);
        return send('200 result=0 endpos=8000\n');
      }
      if (name === 'SET VARIABLE') {
        if (argv.length !== 4) return send('520-Invalid command syntax.  Proper usage follows:\n Usage: SET VARIABLE <variablename> <value>\n520 End of proper usage.\n');
        variables.set(argv[2] as string, argv[3] as string);
        return send('200 result=1\n');
      }
      return send('510 Invalid or unknown command\n');
    };

    socket.setEncoding('latin1');
    socket.on('connect', () => send(call.rawEnvironment ?? environmentBlock(call, script)));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        answer(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    });
    socket.on('end', () => { closedByServer = true; socket.end(); });
    socket.on('error', () => { /* a reset is an end too; 'close' follows */ });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ commands, variables, prompts, closedByServer });
    });
  });
}
