/**
 * The service paths (DESIGN §1.1): POST a SOAP 1.1 request, GET `?wsdl` for
 * the description, GET anything else for the service page. Order of work on a
 * POST, cheapest first so that no rejected request costs a KDF call: content
 * type (before the body is read) → body size (Fastify's bodyLimit) →
 * credentials present → envelope → password. Faults are thrown and rendered
 * by the server's error handler (server.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasicCredentials } from '../auth/basic-credentials.ts';
import type { Config } from '../config.ts';
import { AuthenticationFailed } from '../errors.ts';
import type { Services } from '../operations/services.ts';
import { checkSoapContentType } from '../soap/content-type.ts';
import { parseSoapRequest } from '../soap/envelope.ts';
import { SOAP_CONTENT_TYPE } from '../soap/render.ts';
import { loadWsdl } from '../soap/wsdl.ts';
import { publicOrigin } from './public-origin.ts';
import { SERVICE_PAGE_CONTENT_TYPE, renderServicePage } from './service-page.ts';
import { performSoapOperation } from './soap-operations.ts';

/** Exchange 2010–2016 and Exchange 2007 paths of the same service. */
export const SERVICE_PATHS = ['/EWS/UM2007Legacy.asmx', '/UnifiedMessaging/Service.asmx'] as const;

export type SoapRouteConfig = Pick<Config, 'realm' | 'publicUrl'>;

export function registerSoapRoutes(app: FastifyInstance, services: Services, config: SoapRouteConfig): void {
  const wsdl = loadWsdl();

  for (const path of SERVICE_PATHS) {
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      url: path,
      // The content type is judged before the body is read, so a wrong one costs nothing.
      onRequest: async (request) => {
        if (request.method === 'POST') checkSoapContentType(request.headers['content-type']);
      },
      handler: async (request, reply) => {
        switch (request.method) {
          case 'GET':
          case 'HEAD':
            return serveDescription(request, reply);
          case 'POST':
            return serveSoap(request, reply);
          default:
            reply.code(405).header('allow', 'GET, POST').type('text/plain; charset=utf-8');
            return `${request.method} is not allowed here; POST a SOAP request or GET ?wsdl.\n`;
        }
      },
    });
  }

  async function serveSoap(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    request.outcome = { operation: 'ResetPIN', result: 'rejected' };
    const credentials = parseBasicCredentials(request.headers.authorization);
    if (!credentials) throw new AuthenticationFailed(config.realm);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const soap = parseSoapRequest(body, headerValue(request.headers.soapaction));
    request.outcome = { operation: soap.operation, result: 'rejected' };
    const { login, body: answer } = await performSoapOperation(services, soap, credentials, request.ip);
    request.outcome = { operation: soap.operation, result: 'success', login };
    reply.type(SOAP_CONTENT_TYPE);
    return answer;
  }

  function serveDescription(request: FastifyRequest, reply: FastifyReply): string | Buffer {
    const path = request.url.split('?')[0] ?? SERVICE_PATHS[0];
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    if (query.split('&').some((p) => p.toLowerCase() === 'wsdl')) {
      request.outcome = { operation: 'wsdl', result: 'success' };
      reply.type(SOAP_CONTENT_TYPE);
      return wsdl.render(`${publicOrigin(request, config.publicUrl)}${path}`);
    }
    request.outcome = { operation: 'page', result: 'success' };
    reply.type(SERVICE_PAGE_CONTENT_TYPE);
    return renderServicePage(path);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
