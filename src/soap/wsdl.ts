import { readFileSync } from 'node:fs';
import { escapeXml } from './render.ts';

const WSDL_PATH = new URL('../../wsdl/ms-oxwums.wsdl', import.meta.url);
const ADDRESS_PATTERN = /(<soap:address\s+location=")[^"]*("\s*\/>)/;

/** A service is reached at a handful of addresses; more than this is a client playing with Host headers. */
const MAX_CACHED_ADDRESSES = 64;

/**
 * Loads the protocol's WSDL once; `render` rewrites its soap:address to
 * where the service is reached, remembering the result per address. The
 * result is kept encoded: re-encoding 32 KB of text on every GET was half of
 * the WSDL answer's CPU (README, Performance).
 */
export function loadWsdl(): { render(address: string): Buffer } {
  const template = readFileSync(WSDL_PATH, 'utf8');
  if (!ADDRESS_PATTERN.test(template)) throw new TypeError(`${WSDL_PATH.pathname} has no <soap:address location="…"/> to rewrite`);
  const rendered = new Map<string, Buffer>();
  return {
    render(address) {
      let wsdl = rendered.get(address);
      if (wsdl === undefined) {
        wsdl = Buffer.from(template.replace(ADDRESS_PATTERN, (_m, open: string, close: string) => `${open}${escapeXml(address)}${close}`));
        if (rendered.size < MAX_CACHED_ADDRESSES) rendered.set(address, wsdl);
      }
      return wsdl;
    },
  };
}
