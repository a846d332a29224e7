#!/usr/bin/env node
// The `umpin` command and `npm start`: the JavaScript that `npm ci` built
// into dist/ (its prepare script runs `npm run build`), so no TypeScript
// compiler is loaded in production. Tests and development run the sources
// through tsx instead: scripts/umpin-from-source.mjs.
try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('/dist/cli/main.js')) throw error;
  console.error('umpin: dist/ is missing: run "npm ci" (or "npm run build") in the checkout first.');
  process.exitCode = 2;
}
