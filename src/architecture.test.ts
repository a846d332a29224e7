/**
 * DESIGN §5's dependency rules, checked by reading the import lines.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const SRC = new URL('.', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * What a module names as its imports, in the three ways one module reaches
 * another: static `import … from` / `export … from` (and bare `import '…'`),
 * a dynamic `import('…')` (lazy loading), and `require('…')`, including
 * through a function that `createRequire` made under any name.
 */
function importSpecifiers(text: string): string[] {
  const requireNames = ['require', ...[...text.matchAll(/\b(?:const|let|var)\s+(\w+)\s*=\s*createRequire\(/g)].map((match) => match[1] ?? '')];
  const forms = [
    /^(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/gm,
    /^import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    ...requireNames.map((name) => new RegExp(`\\b${name}(?:\\.resolve)?\\(\\s*['"]([^'"]+)['"]\\s*\\)`, 'g')),
  ];
  return forms.flatMap((form) => [...text.matchAll(form)].map((match) => match[1] ?? ''));
}

/** Every import of every source file: `{ from: 'soap/envelope.ts', to: 'errors.ts' | 'saxes' }`. */
const imports = sourceFiles(SRC).flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return importSpecifiers(text).map((spec) => {
    return { from: relative(SRC, file), to: spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : spec };
  });
});

/** The concrete engines and transports, by folder or file, and the client packages behind them. */
const ENGINE_MODULES = ['store/sqlite', 'store/postgres', 'mail/pickup', 'mail/smtp'];
const ENGINE_FILES = ['lib/redis-rate-limiter.ts'];
const ENGINE_PACKAGES = ['better-sqlite3', 'pg', 'ioredis', 'nodemailer', 'ldapts'];
const isEngine = (to: string) => ENGINE_MODULES.some((folder) => within(folder)(to)) || ENGINE_FILES.includes(to) || ENGINE_PACKAGES.includes(to);

const within = (folder: string) => (path: string) => path.startsWith(`${folder}/`);

function violations(rule: (edge: { from: string; to: string }) => boolean): string[] {
  return imports.filter(rule).map((edge) => `${edge.from} → ${edge.to}`);
}

describe('dependency rules (DESIGN §5)', () => {
  it('found the sources', () => assert.ok(imports.length > 50));

  it('pin/ and lib/ import nothing of ours outside themselves', () => {
    for (const folder of ['pin', 'lib']) {
      assert.deepEqual(violations(({ from, to }) => within(folder)(from) && to.endsWith('.ts') && !within(folder)(to)), []);
    }
  });

  it('soap/ knows nothing of storage, mail or operations', () => {
    assert.deepEqual(violations(({ from, to }) => within('soap')(from) && ['store', 'mail', 'operations', 'http'].some((f) => within(f)(to))), []);
  });

  it('store/ and mail/ know nothing of SOAP or HTTP', () => {
    assert.deepEqual(violations(({ from, to }) => (within('store')(from) || within('mail')(from)) && (within('soap')(to) || within('http')(to) || to === 'fastify')), []);
  });

  it('only the edges (http/, and web/ for the self-service pages) import Fastify', () => {
    assert.deepEqual(violations(({ from, to }) => (to === 'fastify' || to.startsWith('@fastify/')) && !within('http')(from) && !within('web')(from)), []);
  });

  it('operations/ and below know nothing of the web pages', () => {
    assert.deepEqual(violations(({ from, to }) => !within('web')(from) && !within('http')(from) && within('web')(to)), []);
  });

  it('operations pick no concrete engine, transport or client library (the composition root does)', () => {
    assert.deepEqual(violations(({ from, to }) => within('operations')(from) && isEngine(to)), []);
  });

  it('sees dynamic imports and createRequire as imports', () => {
    const text = "import a from './a.ts';\nconst m = await import('./lazy.ts');\nconst load = createRequire(import.meta.url);\nload('pg');\nimport 'side-effect';";
    assert.deepEqual(importSpecifiers(text).sort(), ['./a.ts', './lazy.ts', 'pg', 'side-effect']);
  });
});
