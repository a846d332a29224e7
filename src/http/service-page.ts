/**
 * What a browser sees at a service path: one HTML page naming the service and
 * linking its description (`?wsdl`), so that someone who pastes the URL from
 * a client's settings learns what it is rather than meeting a fault.
 */
import { escapeXml } from '../soap/render.ts';

export const SERVICE_PAGE_CONTENT_TYPE = 'text/html; charset=utf-8';

/** The page for the service at `path` (the path the browser asked for, without its query). */
export function renderServicePage(path: string): string {
  const link = escapeXml(`${path}?wsdl`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>umpin voice mail service</title></head>` +
    `<body><h1>umpin</h1><p>This is the Exchange Unified Messaging voice mail settings web service ([MS-OXWUMS]). ` +
    `It answers SOAP 1.1 requests for its eleven operations, ResetPIN among them. The service description is at <a href="${link}">${link}</a>.</p></body></html>\n`;
}
