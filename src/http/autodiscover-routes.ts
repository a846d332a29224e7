/**
 * POST /autodiscover/autodiscover.xml: Outlook's POX Autodiscover, answering
 * the URL of this service (UMUrl, [MS-OXDSCLI] 2.2.4.1.1.2.6.47) to the
 * signed-in caller, so that a client finds the Voice Mail Settings service
 * the way it finds Exchange's (docs/autodiscover.md). The same sign-in,
 * limits, body limit and hostile-XML refusals as the SOAP routes; refusals are
 * answered in POX's own Error shape, not as SOAP faults.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasicCredentials } from '../auth/basic-credentials.ts';
import { OUTLOOK_RESPONSE_SCHEMA, parseAutodiscoverRequest } from '../autodiscover/autodiscover-request.ts';
import { AUTODISCOVER_CONTENT_TYPE, renderAutodiscoverError, renderUmUrlResponse } from '../autodiscover/autodiscover-response.ts';
import { AuthenticationFailed, UnsupportedMediaType } from '../errors.ts';
import type { Services } from '../operations/services.ts';
import { admitRequest, signIn } from '../operations/sign-in.ts';
import { publicOrigin } from './public-origin.ts';
import { fromFastifyError, type HttpServerConfig } from './server.ts';

/** Outlook's path; the router is case-insensitive, so /Autodiscover/Autodiscover.xml is the same route. */
export const AUTODISCOVER_PATH = '/autodiscover/autodiscover.xml';

export function registerAutodiscoverRoutes(app: FastifyInstance, services: Services, config: HttpServerConfig, servicePath: string): void {
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: AUTODISCOVER_PATH,
    onRequest: async (request) => {
      if (request.method === 'POST') checkAutodiscoverContentType(request.headers['content-type']);
    },
    errorHandler: (error, request, reply) => {
      const fault = fromFastifyError(error, config.bodyLimit);
      request.outcome = { ...request.outcome, operation: 'autodiscover', result: fault.code };
      request.fault = fault;
      reply.code(fault.httpStatus).headers(fault.httpHeaders).type(AUTODISCOVER_CONTENT_TYPE)
        .send(renderAutodiscoverError(fault.faultCode === 'Server' ? 603 : 600, fault.message));
    },
    handler: async (request, reply) => {
      if (request.method !== 'POST') {
        reply.code(405).header('allow', 'POST').type('text/plain; charset=utf-8');
        return `${request.method} is not allowed here; POST an Autodiscover request.\n`;
      }
      return answer(request, reply);
    },
  });

  async function answer(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    request.outcome = { operation: 'autodiscover', result: 'rejected' };
    const credentials = parseBasicCredentials(request.headers.authorization);
    if (!credentials) throw new AuthenticationFailed(config.realm);
    const asked = parseAutodiscoverRequest(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    await admitRequest(services, request.ip);
    const { login } = await signIn(services, credentials, request.ip, 'autodiscover');
    reply.type(AUTODISCOVER_CONTENT_TYPE);
    if (asked.acceptableResponseSchema !== OUTLOOK_RESPONSE_SCHEMA) {
      // A well-formed request for settings umpin does not have (ActiveSync's mobilesync schema, say): answered in band.
      request.outcome = { operation: 'autodiscover', result: 'schema-unsupported', login };
      return renderAutodiscoverError(601, `This server answers only the Outlook response schema ${OUTLOOK_RESPONSE_SCHEMA}.`);
    }
    const mailbox = await services.store.findMailbox(login);
    request.outcome = { operation: 'autodiscover', result: 'success', login };
    // A caller without a mailbox still learns the URL: IsUMEnabled there answers false, which is what a client should hear.
    return renderUmUrlResponse({ displayName: login, emailAddress: mailbox?.email ?? asked.emailAddress, umUrl: `${publicOrigin(request, config.publicUrl)}${servicePath}` });
  }
}

/** Outlook posts text/xml; application/xml is the same thing. UTF-8 only, as for SOAP. */
function checkAutodiscoverContentType(header: string | undefined): void {
  const [mediaType = '', ...params] = (header ?? '').split(';').map((part) => part.trim());
  if (!['text/xml', 'application/xml'].includes(mediaType.toLowerCase())) {
    throw new UnsupportedMediaType(`The Content-Type "${mediaType}" is not accepted; send the Autodiscover request as text/xml; charset=utf-8.`);
  }
  for (const param of params) {
    const [name = '', value = ''] = param.split('=', 2).map((part) => part.trim());
    if (name.toLowerCase() === 'charset' && value.replace(/^"(.*)"$/, '$1').toLowerCase() !== 'utf-8') {
      throw new UnsupportedMediaType(`The charset "${value}" is not accepted; this service reads UTF-8 only.`);
    }
  }
}
