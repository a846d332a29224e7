/**
 * A real OpenLDAP slapd for the directory sign-in tests: a fresh temporary
 * directory with a slapd.conf, an mdb database seeded offline by slapadd,
 * and slapd in the foreground on a free 127.0.0.1 port. Its `stats` log is
 * kept, so a test can say which binds the server saw succeed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './net.ts';
import { findExecutable } from './peers.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const BASE_DN = 'dc=example,dc=com';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const SERVICE_DN = `cn=umpin,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service account secret';

export interface DirectoryUser {
  readonly uid: string;
  readonly password: string;
  readonly mail: string;
  readonly telephoneNumber: string;
  /** Active Directory's logins, from the small schema below. */
  readonly userPrincipalName?: string;
  readonly sAMAccountName?: string;
}

export const DIRECTORY_USERS: readonly DirectoryUser[] = [
  { uid: 'alice', password: 'alice directory pw', mail: 'alice@example.com', telephoneNumber: '36001', userPrincipalName: 'alice@example.com', sAMAccountName: 'alice' },
  { uid: 'bob', password: 'bob directory pw', mail: 'bob@example.com', telephoneNumber: '36002' },
  { uid: 'carol', password: 'carol directory pw', mail: 'carol@example.com', telephoneNumber: '36003' },
];

/** Debian puts slapd and slapadd in /usr/sbin, which a non-root PATH lacks: looked up, not assumed. */
function slapdTool(name: 'slapd' | 'slapadd'): string {
  const path = findExecutable(name);
  if (path === undefined) throw new Error(`${name} is not installed: apt-get install -y slapd ldap-utils (or bash scripts/test-peers.sh)`);
  return path;
}

export const userDn = (uid: string) => `uid=${uid},${PEOPLE_DN}`;

/**
 * AD's userPrincipalName and sAMAccountName under their AD OIDs. Debian's
 * msuser.schema has them too, but without an EQUALITY rule (so no filter
 * could match) and with AD's whole class tree; AD matches both
 * case-insensitively, hence caseIgnoreMatch.
 */
const AD_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.77.1 NAME 'umpinTestAdAccount' AUXILIARY
  MAY ( userPrincipalName $ sAMAccountName ) )
`;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

function slapdConf(dir: string, tls: TlsFiles | undefined): string {
  return `
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include ${join(dir, 'ad.schema')}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
${tls ? `TLSCertificateFile ${tls.certFile}\nTLSCertificateKeyFile ${tls.keyFile}` : ''}

database mdb
maxsize 16777216
suffix "${BASE_DN}"
rootdn "cn=admin,${BASE_DN}"
rootpw ${randomBytes(18).toString('base64url')}
directory ${join(dir, 'db')}
# Passwords are only ever used to authenticate; everything else is public, so anonymous search works too.
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by * read
`;
}

/** RFC 2307 {SSHA}, as slappasswd writes it, so the seeded entries look like a real directory's. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function seedLdif(users: readonly DirectoryUser[]): string {
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ${PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${SERVICE_DN}\nobjectClass: person\ncn: umpin\nsn: service\nuserPassword: ${ssha(SERVICE_PASSWORD)}`,
    ...users.map((user) => [
      `dn: ${userDn(user.uid)}`,
      'objectClass: inetOrgPerson',
      ...(user.userPrincipalName || user.sAMAccountName ? ['objectClass: umpinTestAdAccount'] : []),
      `uid: ${user.uid}`,
      `cn: ${user.uid}`,
      `sn: ${user.uid}`,
      `mail: ${user.mail}`,
      `telephoneNumber: ${user.telephoneNumber}`,
      `userPassword: ${ssha(user.password)}`,
      ...(user.userPrincipalName ? [`userPrincipalName: ${user.userPrincipalName}`] : []),
      ...(user.sAMAccountName ? [`sAMAccountName: ${user.sAMAccountName}`] : []),
    ].join('\n')),
  ];
  return `${entries.join('\n\n')}\n`;
}

export interface Slapd {
  readonly url: string;
  readonly ldapsUrl: string | undefined;
  readonly port: number;
  readonly dir: string;
  /** Entry DNs the server accepted a simple bind for, in order (from its stats log, once it has gone quiet). */
  successfulBinds(): Promise<string[]>;
  /** Every DN a simple bind was attempted for, successful or not. */
  attemptedBinds(): Promise<string[]>;
  stop(): Promise<void>;
}

const DEADLINE_MS = 20_000;

/** Starts a seeded slapd on 127.0.0.1 and waits until ldapsearch gets an answer. */
export async function startSlapd(options: { users?: readonly DirectoryUser[]; tls?: TlsFiles } = {}): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'umpin-slapd-'));
  try {
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'ad.schema'), AD_SCHEMA);
    await writeFile(join(dir, 'slapd.conf'), slapdConf(dir, options.tls));
    await writeFile(join(dir, 'seed.ldif'), seedLdif(options.users ?? DIRECTORY_USERS));
    await run(slapdTool('slapadd'), ['-q', '-f', join(dir, 'slapd.conf'), '-l', join(dir, 'seed.ldif')], { timeout: DEADLINE_MS });
    // The port is free when picked but may be taken before slapd binds it: try a few.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await launch(dir, options.tls !== undefined);
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, withTls: boolean): Promise<Slapd> {
  const port = await freePort();
  const tlsPort = withTls ? await freePort() : undefined;
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = tlsPort === undefined ? undefined : `ldaps://127.0.0.1:${tlsPort}`;
  const listeners = [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' ');
  // -d keeps slapd in the foreground (so it dies with the test) and writes the stats log to stderr.
  const child = spawn(slapdTool('slapd'), ['-f', join(dir, 'slapd.conf'), '-h', listeners, '-d', 'stats'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let lastOutputAt = Date.now();
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
    lastOutputAt = Date.now();
  });
  // slapd may write a result's log line just after sending the result: wait for 150 ms of quiet (at most 3 s).
  const quietLog = async () => {
    const deadline = Date.now() + 3000;
    while (Date.now() - lastOutputAt < 150 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return log;
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilAnswering(url, child, () => log);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    url,
    ldapsUrl,
    port,
    dir,
    successfulBinds: async () => parseBinds(await quietLog()).filter((bind) => bind.ok).map((bind) => bind.dn),
    attemptedBinds: async () => parseBinds(await quietLog()).map((bind) => bind.dn),
    async stop() {
      await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilAnswering(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`slapd exited at start:\n${log()}`);
    try {
      await run('ldapsearch', ['-x', '-H', url, '-b', BASE_DN, '-s', 'base', '-o', 'nettimeout=2', 'dn'], { timeout: 5000 });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`slapd did not answer ldapsearch within ${DEADLINE_MS} ms:\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

/**
 * Pairs each `conn=N op=M BIND dn="…" method=128` (a simple bind) with its
 * `conn=N op=M RESULT tag=97 err=E`; err=0 is success. An anonymous bind
 * (empty dn) is left out: it authenticates no one.
 */
function parseBinds(log: string): { dn: string; ok: boolean }[] {
  const pending = new Map<string, string>();
  const binds: { dn: string; ok: boolean }[] = [];
  for (const line of log.split('\n')) {
    const bind = /(conn=\d+ op=\d+) BIND dn="([^"]*)" method=128/.exec(line);
    if (bind?.[1] !== undefined && bind[2] !== undefined) {
      pending.set(bind[1], bind[2]);
      continue;
    }
    const result = /(conn=\d+ op=\d+) RESULT tag=97 err=(\d+)/.exec(line);
    if (result?.[1] === undefined) continue;
    const dn = pending.get(result[1]);
    pending.delete(result[1]);
    if (dn) binds.push({ dn: dn.toLowerCase(), ok: result[2] === '0' });
  }
  return binds;
}

