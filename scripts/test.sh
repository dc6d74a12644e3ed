#!/usr/bin/env bash
# The test command (`npm test`, .ci/run): setup (installs whatever is missing), lint,
# type-check, then vitest over every project: unit, renderer (components in happy-dom),
# integration (real berthd) and e2e (Chromium against the app and a real berthd; last).
# Arguments go to vitest, e.g. `npm test -- tests/unit` or `npm test -- --project e2e`.
#
# The output ends with exactly one line "N passed, N failed[, N skipped]": vitest's test counts,
# plus one failed item per failing stage (setup, lint, typecheck), per suite or file that failed
# outside its tests (an import error, a failing beforeAll, a leak found by afterAll) and per
# unhandled error. Exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp

failed_stages=()
stage() {
  local name=$1
  shift
  echo "==> $name: $*"
  if ! "$@"; then
    failed_stages+=("$name")
    echo "==> $name FAILED"
  fi
}

stage setup bash scripts/setup.sh --quiet
stage lint npx eslint . --max-warnings 0
stage typecheck npm run -s typecheck

# Counted by our own reporter: vitest's JSON shows a failing hook inside a describe only as
# skipped tests (see scripts/vitest-summary-reporter.mjs).
summary_file=.tmp/test-summary.json
rm -f "$summary_file"
echo "==> vitest"
BERTH_TEST_SUMMARY="$summary_file" npx vitest run \
  --reporter=default --reporter=./scripts/vitest-summary-reporter.mjs "$@"
vitest_rc=$?

passed=0
failed=0
skipped=0
failures=()
if [ -s "$summary_file" ]; then
  read -r passed failed skipped < <(node -e '
    const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    console.log(s.passed, s.failed, s.skipped);' "$summary_file")
  while IFS= read -r line; do failures+=("$line"); done < <(node -e '
    const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    for (const f of s.failures) console.log(f.replace(/\n/g, " "));' "$summary_file")
  if [ "$vitest_rc" != 0 ] && [ "$failed" = 0 ]; then
    failed_stages+=("vitest (exited $vitest_rc with nothing failed)")
  fi
else
  failed_stages+=("vitest (exited $vitest_rc without writing $summary_file)")
fi

echo
for line in ${failures[@]+"${failures[@]}"}; do echo "failed: $line"; done
for name in ${failed_stages[@]+"${failed_stages[@]}"}; do echo "failed stage: $name"; done
failed=$((failed + ${#failed_stages[@]}))
summary="$passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then summary+=", $skipped skipped"; fi
echo "$summary"
[ "$failed" = 0 ]
