import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify, { type FastifyRequest } from 'fastify';
import { publicOrigin } from './public-origin.ts';

/** What publicOrigin says for a request with these headers, through a real Fastify request (inject: no socket). */
async function originFor(headers: Record<string, string>, publicUrl?: string, trustProxy = false): Promise<string> {
  const app = Fastify({ trustProxy });
  app.get('/', async (request) => publicOrigin(request, publicUrl));
  try {
    return (await app.inject({ method: 'GET', url: '/', headers })).body;
  } finally {
    await app.close();
  }
}

describe('publicOrigin', () => {
  it('is UMPIN_PUBLIC_URL when it is set, whatever the request says', async () => {
    assert.equal(await originFor({ host: 'internal:3000' }, 'https://voicemail.example.org'), 'https://voicemail.example.org');
  });

  it('is the scheme and Host the client used: a name, an address, an IPv6 literal, with or without a port', async () => {
    for (const host of ['um.example.com', 'um.example.com:8443', '192.0.2.1:80', '[2001:db8::1]:8443', '[::1]']) {
      assert.equal(await originFor({ host }), `http://${host}`, host);
    }
  });

  it('takes the scheme from a trusted proxy', async () => {
    assert.equal(await originFor({ host: 'um.example.com', 'x-forwarded-proto': 'https' }, undefined, true), 'https://um.example.com');
  });

  it('ignores a Host that is not a host name and names the socket\'s own address instead', () => {
    // inject() has no local address on its socket, so the request is the three fields publicOrigin reads.
    for (const host of ['evil.example/path', 'a b', 'um.example.com:port', '"><x>', 'user@um.example.com']) {
      const request = { host, protocol: 'https', socket: { localAddress: '192.0.2.5', localPort: 8443 } } as unknown as FastifyRequest;
      assert.equal(publicOrigin(request, undefined), 'https://192.0.2.5:8443', host);
    }
  });
});
