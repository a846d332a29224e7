#!/usr/bin/env bash
# The test command (`npm test`): types, lint, then every test file.
# Node 20 finds no .ts tests in a directory and does not expand quoted globs,
# so the file list is built here; a run that executed no test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== typecheck"; npx tsc --noEmit
echo "== lint"; npx eslint .

shopt -s globstar nullglob
files=(src/**/*.test.ts test/**/*.test.ts)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
if [ $# -gt 0 ]; then files=("$@"); fi

echo "== tests (${#files[@]} files)"
log=$(mktemp)
skips=$(mktemp)
crashes=$(mktemp)
trap 'rm -f "$log" "$skips" "$crashes"' EXIT
set +e
node --import ./scripts/preload-dependencies.mjs --import tsx --test --test-concurrency=2 --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/peer-skips-reporter.mjs --test-reporter-destination="$skips" \
  --test-reporter=./scripts/failed-files-reporter.mjs --test-reporter-destination="$crashes" \
  "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Which peers were missing and what installs them (test/support/peers.ts).
echo "== peers"; cat "$skips"
# A file that failed outside its tests: what it wrote to stderr (scripts/failed-files-reporter.mjs).
if [ -s "$crashes" ]; then echo "== files that failed as a whole"; cat "$crashes"; fi
if grep -Eq '^ℹ tests 0$' "$log"; then echo "the test runner executed no test" >&2; exit 1; fi
exit "$status"
