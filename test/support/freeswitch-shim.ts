/**
 * Runs a FreeSWITCH Lua script under Debian's lua5.4 inside the SHIM of
 * test/support/freeswitch-shim.lua (NOT FreeSWITCH), and plays mod_curl's
 * `curl` API command for it with a real HTTP request: the arguments are split
 * as switch_separate_string splits them on blanks (single quotes group,
 * backslash escapes, quotes stripped), then read as mod_curl's curl_function
 * reads them (signalwire/freeswitch @cc93a68 src/mod/applications/mod_curl):
 * url first; `timeout <s>`, `content-type <mime>`, `append_headers <h: v>`;
 * `post <data>` with the data URL-decoded (switch_url_decode) and sent as
 * libcurl sends POSTFIELDS without a content type:
 * application/x-www-form-urlencoded. The answer is the body alone, as the
 * command prints without `json` or `headers`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const SHIM_LUA = new URL('./freeswitch-shim.lua', import.meta.url).pathname;

/** switch_utils.c separate_string_blank_delim + cleanup_separated_string. */
export function separateBlankDelimited(input: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quoted = false;
  for (let i = 0; i < input.length; i += 1) {
    const c = input[i] as string;
    if (c === '\\') { current = (current ?? '') + (input[i + 1] ?? ''); i += 1; continue; }
    if (c === "'") { quoted = !quoted; current = current ?? ''; continue; }
    if (c === ' ' && !quoted) {
      if (current !== undefined) words.push(current);
      current = undefined;
      continue;
    }
    current = (current ?? '') + c;
  }
  if (current !== undefined) words.push(current);
  return words;
}

export interface CurlRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly timeoutSeconds: number | undefined;
}

/** mod_curl curl_function's reading of its arguments. */
export function parseCurlApiArgs(args: string): CurlRequest {
  const argv = separateBlankDelimited(args);
  const headers: Record<string, string> = {};
  let method: 'GET' | 'POST' = 'GET';
  let body: string | undefined;
  let timeoutSeconds: number | undefined;
  for (let i = 1; i < argv.length; i += 1) {
    const word = (argv[i] as string).toLowerCase();
    if (word === 'post') {
      method = 'POST';
      body = decodeURIComponent((argv[i + 1] ?? '').replace(/\+/g, ' '));
      i += 1;
      if (!('content-type' in headers)) headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (word === 'content-type') {
      headers['content-type'] = argv[i + 1] ?? '';
      i += 1;
    } else if (word === 'timeout') {
      timeoutSeconds = Number(argv[i + 1]);
      i += 1;
    } else if (word === 'append_headers') {
      const header = argv[i + 1] ?? '';
      const colon = header.indexOf(':');
      headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
      i += 1;
    }
  }
  return { url: argv[0] ?? '', method, headers, body, timeoutSeconds };
}

export interface ShimRun {
  /** "kind detail" lines: prompt, play, execute, set, log, hangup, caller-hung-up, answer, end. */
  readonly events: readonly string[];
  /** The argument lines the script gave mod_curl's curl command. */
  readonly curlCalls: readonly string[];
  readonly stderr: string;
  readonly code: number | null;
}

export function runFreeswitchScript(lua: string, script: string, args: readonly string[], options: { digits: readonly string[]; domain: string; clientFile: string }): Promise<ShimRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(lua, [SHIM_LUA, script, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SHIM_DIGITS: options.digits.join(','), SHIM_DOMAIN: options.domain, SHIM_CLIENT_FILE: options.clientFile },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const events: string[] = [];
    const curlCalls: string[] = [];
    let stderr = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the Lua script did not end; events: ${events.join(' | ')}`)); }, 30_000);
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('EVENT ')) {
        events.push(line.slice('EVENT '.length).trimEnd());
        return;
      }
      if (!line.startsWith('CURL ')) return;
      curlCalls.push(line.slice('CURL '.length));
      const request = parseCurlApiArgs(line.slice('CURL '.length));
      fetch(request.url, {
        method: request.method, headers: request.headers, body: request.body,
        ...(request.timeoutSeconds ? { signal: AbortSignal.timeout(request.timeoutSeconds * 1000) } : {}),
      })
        .then((response) => response.text())
        .catch(() => '') // mod_curl prints an empty body when the server cannot be reached
        .then((text) => child.stdin.write(`${text.replace(/\n/g, ' ')}\n`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ events, curlCalls, stderr, code });
    });
  });
}
