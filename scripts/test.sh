#!/usr/bin/env bash
# Installs what is missing, builds, runs the whole test suite twice: a normal
# build, then the same tests built with AddressSanitizer + UBSan; then the
# threaded and SIGBUS-guard tests under ThreadSanitizer.
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

	# ThreadSanitizer over the tests that run threads (channel, mprod,
	# peers-race, guard, the pair's through pair-util.c) and those that
	# exercise the SIGBUS guard (guard, region, truncate, pair-truncate,
	# pair-slots, pair-turn). Left out: what mostly forks and execs the
	# built programs or runs long storms, no threads of its own (cli-*,
	# stream*, bridge*, channel-peers: ~4 min alone under TSan, signals,
	# anon-ipc, chan-batch), and python (an uninstrumented interpreter
	# cannot load a TSan libshmx).
	#
	# The guard under TSan. TSan's sigaction() wrapper installs its own
	# handler with every signal in sa_mask (gcc 12 libsanitizer,
	# tsan/tsan_interceptors_posix.cpp, sigaction_impl:
	# "internal_sigfillset(&newact.sa_mask)") and runs a synchronous
	# SIGBUS's handler at once (is_sync_signal(), rtl_generic_sighandler:
	# "Don't mess with synchronous signals"), so the guard's handler runs
	# with SIGBUS blocked whatever its SA_NODEFER; src/guard.c therefore
	# leaves by the interrupted code's mask. No TSAN_OPTIONS is needed:
	# the guard replaces TSan's own SIGBUS handler (handle_sigbus) like
	# any earlier one. What cannot work: TSan performs a non-relaxed
	# atomic read-modify-write, compare-and-swap or store on the
	# program's memory while holding its lock for that address
	# (tsan_interface_atomic.cpp AtomicCAS: GetOrCreateAndLock, then
	# func_cas, then Unlock, lines 422-424 in gcc 12.2's; AtomicRMW and
	# AtomicStore alike; LLVM's newer runtime also holds the thread's
	# SlotLocker there). A truncation fault in that access, turned into a
	# jump by the guard, leaves the lock held, and the process's next
	# atomic on that word hangs in Mutex::Lock. An acquire load reads the
	# word before taking the lock, plain accesses and memcpy hold none:
	# those faults are survived. The cases that fault in such an atomic
	# and touch the word again skip under TSan, saying why
	# (TU_SKIP_UNDER_TSAN, tests/testutil.h): truncate's
	# test_truncation_never_kills and pair-truncate's
	# test_ctl_truncated_before_writer_posts.
	tsan="$SHMX_TOP/build-tsan"
	# a build-tsan configured static (no libshmx.so) by an older test.sh:
	# the guard's dlopen test needs the shared library too
	[ -f "$tsan/build.ninja" ] && meson configure "$tsan" -Ddefault_library=both >/dev/null
	shmx_build "$tsan" -Db_sanitize=thread -Db_lundef=false -Dbench=false \
		-Dbuildtype=debug
	tsan_tests=(channel mprod peers-race guard region truncate pair pair-peers
		pair-recovery pair-turn pair-slots pair-fork pair-truncate)
	say "running the threaded and guard tests under TSan"
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 SHMX_TEST_SCALE=0.05 \
		meson test -C "$tsan" --print-errorlogs --timeout-multiplier 3 \
		"${tsan_tests[@]}" || rc=1
	logs+=("$tsan/meson-logs/testlog.txt")
fi

shmx_tap_summary "$rc" "${logs[@]}"
