import type { FastifyRequest } from 'fastify';

const HOST_PATTERN = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The configured public URL, else what the client used to reach us (a Host that is not a host name is ignored). */
export function publicOrigin(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl;
  const host = HOST_PATTERN.test(request.host) ? request.host : `${request.socket.localAddress}:${request.socket.localPort}`;
  return `${request.protocol}://${host}`;
}
