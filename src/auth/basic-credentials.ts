export interface Credentials {
  readonly login: string;
  readonly password: string;
}

/**
 * RFC 7617 Basic credentials, decoded as UTF-8 (the charset we announce in
 * WWW-Authenticate). Returns undefined for anything malformed; the caller
 * answers that exactly like a wrong password.
 */
export function parseBasicCredentials(header: string | undefined): Credentials | undefined {
  const match = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
