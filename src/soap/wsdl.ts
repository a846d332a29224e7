import { readFileSync } from 'node:fs';
import { escapeXml } from './render.ts';

const WSDL_PATH = new URL('../../wsdl/ms-oxwums.wsdl', import.meta.url);
const ADDRESS_PATTERN = /(<soap:address\s+location=")[^"]*("\s*\/>)/;

/** Loads the protocol's WSDL once; `render` rewrites its soap:address to where the service is reached. */
export function loadWsdl(): { render(address: string): string } {
  const template = readFileSync(WSDL_PATH, 'utf8');
  if (!ADDRESS_PATTERN.test(template)) throw new TypeError(`${WSDL_PATH.pathname} has no <soap:address location="…"/> to rewrite`);
  return { render: (address) => template.replace(ADDRESS_PATTERN, (_m, open: string, close: string) => `${open}${escapeXml(address)}${close}`) };
}
