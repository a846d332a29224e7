#!/usr/bin/env node
// `umpin` run from the TypeScript sources, through tsx: what the tests and
// `npm run umpin` use, so a change needs no build. Production runs the
// built JavaScript instead (bin/umpin.js).
//
// The big ESM dependencies are imported before tsx's hooks are registered:
// the hooks cost every module a round trip to tsx's loader thread, and
// kysely alone is some 400 modules (a CLI command started in 2.4 s, of
// which kysely took 0.7 s). Loaded here, they are found in the module cache
// when the sources import them.
import 'kysely';
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
