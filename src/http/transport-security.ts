/**
 * What the edge demands of the connection a request came over (issue 7):
 * credentials only over HTTPS unless the client is on this host, and an
 * HSTS header on HTTPS answers so browsers and clients that honour it keep
 * to HTTPS.
 *
 * "HTTPS" and "the client" are Fastify's `request.protocol` and
 * `request.ip`: the socket's own, unless the peer is a trusted proxy
 * (UMPIN_TRUSTED_PROXIES), whose X-Forwarded-Proto and X-Forwarded-For are
 * then believed. A request relayed by a proxy on loopback from a remote
 * client is therefore judged by the remote client, not by the proxy.
 */
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { PlainHttpCredentialsRefused } from '../errors.ts';

export type TransportSecurityConfig = Pick<Config, 'allowPlainHttpAuth' | 'hstsMaxAgeSeconds'>;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6'); // IPv4-mapped loopback on a dual-stack socket

export function isLoopbackAddress(address: string | undefined): boolean {
  const version = address === undefined ? 0 : isIP(address);
  // A dotted quad is loopback exactly when it starts with 127; BlockList builds a SocketAddress per check (3 % of a cheap request).
  if (version === 4) return (address as string).startsWith('127.');
  return version === 6 && LOOPBACK.check(address as string, 'ipv6');
}

/** True when credentials in this request may have crossed a network in clear. */
export function isPlainHttpFromAnotherHost(request: FastifyRequest): boolean {
  return request.protocol !== 'https' && !isLoopbackAddress(request.ip);
}

/** Registers the checks on the root instance, so they run before every route's own hooks (the SOAP paths and the phone API alike). */
export function registerTransportSecurity(app: FastifyInstance, config: TransportSecurityConfig): void {
  if (!config.allowPlainHttpAuth) {
    // onRequest: before the body is read and before any credential is parsed,
    // so a refused request costs no KDF call and learns nothing about the password.
    // Any Authorization header counts: the phone API's Bearer key is as much a secret as a password.
    app.addHook('onRequest', async (request) => {
      if (request.headers.authorization !== undefined && isPlainHttpFromAnotherHost(request)) {
        throw new PlainHttpCredentialsRefused();
      }
    });
  }
  if (config.hstsMaxAgeSeconds > 0) {
    // RFC 6797 §7.2: only sent over a secure transport (a plain-HTTP answer's header would be ignored anyway).
    // No includeSubDomains: the service does not own the other names under its domain.
    const hsts = `max-age=${config.hstsMaxAgeSeconds}`;
    app.addHook('onSend', async (request, reply) => {
      if (request.protocol === 'https') reply.header('strict-transport-security', hsts);
    });
  }
}
