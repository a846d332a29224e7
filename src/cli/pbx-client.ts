/**
 * The PBX side of umpin's phone API, for the helpers a PBX runs (Asterisk's
 * externpasscheck / externpass): umpin's URL and an API key read from a file
 * only the PBX's user may read, and one bounded POST. No database, no server
 * secret: the helpers run on the PBX, possibly on another host than umpin.
 */
import { readFileSync, statSync } from 'node:fs';

export const DEFAULT_CLIENT_FILE = '/etc/umpin/pbx-client.conf';
/** Asterisk waits on the helper with the caller on the line. */
const REQUEST_TIMEOUT_MS = 5_000;

export interface PbxClient {
  readonly url: string;
  readonly key: string;
}

/** Why the helper could not ask umpin; the message names the file or the server, never a PIN or the key. */
export class PbxClientError extends Error {}

/**
 * `url=` and `key=` lines (`#` comments). Refused when the group or others
 * may read it: the key lets its holder check and set PINs.
 */
export function readClientFile(path: string): PbxClient {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PbxClientError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); create it with url= and key= lines, mode 0600, owned by the PBX's user`);
  }
  if ((mode & 0o077) !== 0) throw new PbxClientError(`${path} may be read by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([a-z]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !line.trimStart().startsWith('#')) fields.set(match[1] as string, match[2] as string);
  }
  const url = fields.get('url') ?? '';
  const key = fields.get('key') ?? '';
  if (!/^https?:\/\/[^\s/]+\/?$/.test(url)) throw new PbxClientError(`${path} has no url= line such as url=http://127.0.0.1:8080`);
  if (key === '') throw new PbxClientError(`${path} has no key= line; create a key with: umpin apikey add <name>`);
  return { url: url.replace(/\/$/, ''), key };
}

export interface PhoneAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** One form-encoded POST to /tui/v1/<path>; throws PbxClientError when umpin cannot be reached or answers nonsense. */
export async function postPhoneApi(client: PbxClient, path: string, fields: Readonly<Record<string, string>>): Promise<PhoneAnswer> {
  let response: Response;
  try {
    response = await fetch(`${client.url}/tui/v1/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new PbxClientError(`umpin at ${client.url} did not answer (${cause})`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new PbxClientError(`umpin at ${client.url} answered HTTP ${response.status} without a JSON body`);
  }
  if (typeof body !== 'object' || body === null) throw new PbxClientError(`umpin at ${client.url} answered HTTP ${response.status} without a JSON object`);
  return { status: response.status, body: body as Record<string, unknown> };
}
