/**
 * The FastAGI listener of `umpin serve` (docs/pbx.md), off unless
 * UMPIN_AGI_LISTEN names an address. FastAGI has no authentication and no
 * encryption (res_agi.c sends the caller's digits in clear to whoever
 * listens), so a connection from an address outside UMPIN_AGI_ALLOW
 * (default: loopback only) is closed before a byte is read, lines are
 * bounded, and a silent peer is dropped after UMPIN_AGI_READ_TIMEOUT_MS.
 *
 * Log lines name the peer, the script and the outcome; never a mailbox the
 * caller typed or a PIN.
 */
import { BlockList, createServer, isIPv6, type AddressInfo, type Socket } from 'node:net';
import type { AgiConfig } from '../config.ts';
import type { Services } from '../operations/services.ts';
import { AgiChannel, AgiSessionEnded, quoteAgiArgument } from './agi-channel.ts';
import { runPinScript } from './pin-dialog.ts';

/** Connections served at once; Asterisk opens one per call in the AGI step. */
const MAX_SESSIONS = 256;
/** How long stop() lets calls in a dialog finish before it cuts them. */
const STOP_GRACE_MS = 5_000;

export interface AgiServerOptions {
  readonly agi: AgiConfig;
  readonly extensionContexts: readonly string[];
}

export interface AgiServer {
  /** host:port actually bound (the port is chosen when the setting says 0). */
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export const AGI_SCRIPTS = ['logon', 'change-pin'] as const;

export async function startAgiServer(services: Services, options: AgiServerOptions): Promise<AgiServer> {
  const allowed = buildAllowList(options.agi.allow);
  const sessions = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true });
  server.maxConnections = MAX_SESSIONS;

  server.on('connection', (socket) => {
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    if (!isAllowed(allowed, peer)) {
      services.log.warn({ peer }, 'refused a FastAGI connection from an address outside UMPIN_AGI_ALLOW');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const session = serveSession(services, options, socket, peer).finally(() => {
      sockets.delete(socket);
      sessions.delete(session);
    });
    sessions.add(session);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.agi.listen.host, port: options.agi.listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    address: server.address() as AddressInfo,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const grace = setTimeout(() => { for (const socket of sockets) socket.destroy(); }, STOP_GRACE_MS);
      await Promise.allSettled([...sessions]);
      clearTimeout(grace);
      await closed;
    },
  };
}

async function serveSession(services: Services, options: AgiServerOptions, socket: Socket, peer: string): Promise<void> {
  const started = Date.now();
  const channel = new AgiChannel(socket, options.agi.readTimeoutMs);
  let script = '';
  try {
    const environment = await channel.readEnvironment();
    // The script is the URL path after the host (agi://host:4573/logon); a query or slashes around it are ignored.
    script = environment.script.split('?')[0]?.replace(/^\/+|\/+$/g, '') ?? '';
    if (!(AGI_SCRIPTS as readonly string[]).includes(script)) {
      services.log.warn({ peer, script: script.slice(0, 64) }, 'a FastAGI request named no umpin script; use agi://host:4573/logon or /change-pin');
      await channel.command(`SET VARIABLE UMPIN_RESULT ${quoteAgiArgument('error')}`);
      return;
    }
    const result = await runPinScript({
      services, channel, environment, peerAddress: peer, extensionContexts: options.extensionContexts, alwaysChange: script === 'change-pin',
    });
    services.log.info({ peer, script, result, hungUp: channel.hungUp, ms: Date.now() - started }, 'FastAGI PIN script ended');
  } catch (error) {
    if (error instanceof AgiSessionEnded) {
      const level = error.reason === 'closed' ? 'info' : 'warn';
      services.log[level]({ peer, script, reason: error.reason, ms: Date.now() - started }, `FastAGI session ended: ${error.message}`);
    } else {
      services.log.error({ peer, script, err: error }, 'FastAGI session failed');
    }
  } finally {
    channel.close();
  }
}

function buildAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; the allowlist speaks plain IPv4. */
function normalizeAddress(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

function isAllowed(list: BlockList, address: string): boolean {
  if (address === '') return false;
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}
