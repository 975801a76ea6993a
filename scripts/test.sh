#!/usr/bin/env bash
# Installs what is missing, builds, runs the whole test suite twice: a normal
# build, then the same tests built with AddressSanitizer + UBSan; then the
# threaded channel test under ThreadSanitizer.
# Ends with one line "N passed, N failed, N skipped" (TAP test cases of every
# pass) and exits non-zero if anything failed; each pass's own last test
# checks that it left /dev/shm as it found it.
#   SHMX_NO_SANITIZE=1  skip the sanitizer passes
#   extra arguments go to the first `meson test` (e.g. a test name)
set -uo pipefail
. "$(dirname "$0")/common.sh"

shmx_deps test
shmx_build "$SHMX_BUILD"

logs=()
rc=0

say "running the test suite"
meson test -C "$SHMX_BUILD" --print-errorlogs "$@" || rc=1
logs+=("$SHMX_BUILD/meson-logs/testlog.txt")

if [ "${SHMX_NO_SANITIZE:-0}" != 1 ] && [ $# -eq 0 ]; then
	asan="$SHMX_TOP/build-asan"
	shmx_build "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbench=false -Dbuildtype=debug
	# The install test re-builds the tree itself: once, above, is enough;
	# valgrind cannot run programs built with ASan; the SPIN models do not
	# depend on the build. meson lists "project / name" once any test has
	# a suite: the name is what follows.
	mapfile -t names < <(meson test -C "$asan" --list --no-rebuild 2>/dev/null |
		sed 's|^.* / ||' | grep -vE '^(install|valgrind-examples|spin-.*)$')
	[ ${#names[@]} -gt 10 ] || die "the ASan pass found no tests to run"
	say "running the test suite under ASan+UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	SHMX_TEST_SCALE=0.1 \
		meson test -C "$asan" --print-errorlogs --timeout-multiplier 3 "${names[@]}" || rc=1
	logs+=("$asan/meson-logs/testlog.txt")

	# ThreadSanitizer on the in-process multi-threaded channel test (the
	# other tests fork, which TSan does not follow well).
	tsan="$SHMX_TOP/build-tsan"
	shmx_build "$tsan" -Db_sanitize=thread -Db_lundef=false -Dbench=false \
		-Dbuildtype=debug -Ddefault_library=static
	say "running the threaded channel test under TSan"
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	SHMX_TEST_FILTER=test_threads SHMX_TEST_SCALE=0.05 \
		meson test -C "$tsan" --print-errorlogs --timeout-multiplier 3 channel || rc=1
	logs+=("$tsan/meson-logs/testlog.txt")
fi

shmx_tap_summary "$rc" "${logs[@]}"
