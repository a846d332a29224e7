/**
 * The protocol floor's reference: a bare Fastify 5 server (one process, as
 * umpin) whose one handler answers a constant to any method and body.
 *
 * Usage: node --import tsx bench/bare-fastify.ts <port>
 */
import Fastify from 'fastify';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) throw new TypeError('usage: bare-fastify.ts <port>');

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
const CONSTANT = 'ok\n';
app.all('/*', async (_request, reply) => {
  reply.type('text/plain; charset=utf-8');
  return CONSTANT;
});
await app.listen({ host: '127.0.0.1', port });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
