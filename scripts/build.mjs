// `npm run build`, which `npm ci` runs through the prepare script: the
// TypeScript sources compiled to JavaScript in dist/ (tsconfig.build.json),
// and the files beside them that are not TypeScript (the mail templates)
// copied along, so that `npm start` and the `umpin` command run plain
// JavaScript and load no compiler. dist/ is rebuilt from nothing each time,
// so a source file removed leaves no stale module behind.
//
// kysely is also bundled, into dist/vendor/kysely.js, and dist's imports of
// it point there: its ES build is some 260 modules, and resolving, reading
// and linking them was a third of a CLI command's CPU time (about 0.26 s of
// CPU for the package against 0.07 s as one file; docs/performance.md).
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);
const VENDORED = ['kysely'];

rmSync(dist, { recursive: true, force: true });
const { status } = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (status !== 0) process.exit(status ?? 1);
cpSync(join(root, 'src'), dist, { recursive: true, filter: (source) => !/\.[cm]?ts$/.test(source) });

const { buildSync } = await import('esbuild');
for (const name of VENDORED) {
  buildSync({
    entryPoints: [fileURLToPath(import.meta.resolve(name))],
    outfile: join(dist, 'vendor', `${name}.js`),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
}

/** Every emitted module's `from 'kysely'` and `import('kysely')` made relative to the bundle. */
const specifier = new RegExp(`(\\bfrom\\s*|\\bimport\\s*\\(\\s*)(['"])(${VENDORED.join('|')})\\2`, 'g');
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.js') || entry.parentPath.startsWith(join(dist, 'vendor'))) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(specifier, (_, before, quote, name) => {
    const target = relative(dirname(file), join(dist, 'vendor', `${name}.js`));
    return `${before}${quote}${target.startsWith('.') ? target : `./${target}`}${quote}`;
  });
  if (rewritten !== text) writeFileSync(file, rewritten);
}
