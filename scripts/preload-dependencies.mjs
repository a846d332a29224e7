// Imported before tsx's loader hooks are registered (`node --import
// ./scripts/preload-dependencies.mjs --import tsx`): the hooks cost each
// module a round trip to tsx's loader thread, and kysely alone is some 400
// ES modules (0.7 s of every process start under the hooks, 0.2 s without).
// Loaded here, the sources find it in the module cache. bin/umpin.js does
// the same for the CLI.
import 'kysely';
