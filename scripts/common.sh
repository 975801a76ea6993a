# Sourced by demo.sh, test.sh, fuzz.sh and bench/run.sh: where things are,
# and how to build. Packages come from deps.sh.

SHMX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHMX_BUILD=${SHMX_BUILD:-$SHMX_TOP/build}
# shellcheck source=deps.sh
. "$SHMX_TOP/scripts/deps.sh"

say() { shmx_say "$@"; }
die() { shmx_die "$@"; }

# shmx_build DIR [meson options...]
shmx_build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		say "configuring $dir"
		meson setup "$dir" "$SHMX_TOP" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; die "meson setup failed"; }
		rm -f "$dir.setup.log"
	fi
	say "building $dir"
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 ||
		{ cat "$dir.ninja.log" >&2; die "build failed"; }
	rm -f "$dir.ninja.log"
}

# shmx_tap_summary RC LOG...: the line "N passed, N failed, N skipped" over
# the TAP test cases of meson's test logs, and its status: non-zero when RC
# is, when a log is missing (a pass that ran nothing wrote none: that is a
# failure, not a pass), or when a case failed.
shmx_tap_summary() {
	local rc=$1 log passed skipped failed
	shift
	for log in "$@"; do
		[ -f "$log" ] || { echo "missing test log: $log" >&2; rc=1; }
	done
	passed=$(cat "$@" 2>/dev/null | grep -cE '^ok [0-9]+' || true)
	skipped=$(cat "$@" 2>/dev/null | grep -cE '^ok [0-9]+.*# (SKIP|skip)' || true)
	failed=$(cat "$@" 2>/dev/null | grep -cE '^not ok [0-9]+' || true)
	passed=$((passed - skipped))
	[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
}
