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
