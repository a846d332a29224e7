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

/** Every import of every source file: `{ from: 'soap/envelope.ts', to: 'errors.ts' | 'saxes' }`. */
const imports = sourceFiles(SRC).flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((match) => {
    const spec = match[1] ?? '';
    return { from: relative(SRC, file), to: spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : spec };
  });
});

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

  it('operations pick no concrete engine or transport', () => {
    assert.deepEqual(violations(({ from, to }) => within('operations')(from) && (within('store/sqlite')(to) || within('mail/pickup')(to))), []);
  });
});
