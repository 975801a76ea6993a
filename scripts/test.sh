#!/usr/bin/env bash
# Installs what is missing, builds, runs the whole test suite.
# Ends with one line "N passed, N failed, N skipped" (TAP test cases) and
# exits non-zero if anything failed.
set -uo pipefail
. "$(dirname "$0")/common.sh"

shmx_install_deps python3 setpriv
shmx_build "$SHMX_BUILD"

before=$(ls -A /dev/shm 2>/dev/null | sort)
say "running the test suite"
meson test -C "$SHMX_BUILD" --print-errorlogs "$@"
rc=$?
after=$(ls -A /dev/shm 2>/dev/null | sort)

log="$SHMX_BUILD/meson-logs/testlog.txt"
passed=$(grep -cE '^ok [0-9]+' "$log" | head -1)
skipped=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | head -1)
failed=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
passed=$((passed - skipped))

new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$' || true)
if [ -n "$new" ]; then
	echo "test run left objects in /dev/shm:" $new >&2
	failed=$((failed + 1))
fi
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1

echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
