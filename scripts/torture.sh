#!/usr/bin/env bash
# Torture: random fault schedules against libshmx's pairs, channels and
# regions, invariants checked (docs/torture.md).
#   scripts/torture.sh [--seconds N] [--seed S] [--sanitize] [--lib-from DIR]
#                      [--verbose] [--without F,..] [--episodes E,..]
#                      [--shape P:C[:RING]]
#   --seconds N    time budget (default 90); a soak is the same with a large N
#   --seed S       replay the schedule of seed S (printed at the start)
#   --sanitize     build the library and the harness with ASan + UBSan
#   --lib-from DIR build the library from another checkout DIR (an older
#                  commit: git worktree add /tmp/old COMMIT) instead of this one
#   --verbose      print every step of the schedule
#   --without F,.. leave out these faults (kill9, sigstop, signal, sigbus,
#                  truncate, scribble, sem_post, replace, gc, rdlock,
#                  full_devshm, hostile_args: the summary's names; all:
#                  none, the episodes' own races only)
#   --episodes E,.. run only these episodes (pair, chan, region, full,
#                  hostile): a narrower run replays a channel defect faster
#   --shape P:C[:RING]  every channel with P producers and C consumers (0:
#                  drawn; several producers: block) and a ring of RING bytes
#                  (3:1:256: the several-producer queue of the open -EBADMSG)
# A seed replays with the same --without, --episodes and --shape: the
# first line of a run prints the whole replay command. A soak prints a
# line of progress a minute (the driver's memory and descriptors too).
# Builds in build-torture* (its own meson build directories), runs as root
# (the read lock of another uid, the mount namespace). Exit 0 only when no
# invariant broke; the last lines are the summary.
set -euo pipefail
. "$(dirname "$0")/common.sh"

seconds=90 seed="" sanitize=0 lib_from="" verbose="" without="" episodes="" shape=""
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--sanitize) sanitize=1; shift ;;
	--lib-from) lib_from=$(cd "$2" && pwd); shift 2 ;;
	--verbose) verbose=--verbose; shift ;;
	--without) without=$2; shift 2 ;;
	--episodes) episodes=$2; shift 2 ;;
	--shape) shape=$2; shift 2 ;;
	-h | --help) sed -n '2,28s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "torture.sh: unknown argument '$1' (see --help)" ;;
	esac
done

shmx_deps build
src=${lib_from:-$SHMX_TOP}
build=$SHMX_TOP/build-torture
[ -z "$lib_from" ] || build=$build-$(printf '%s' "$lib_from" | cksum | cut -d' ' -f1)
opts=(-Dtests=false -Dexamples=false -Dbench=false -Dman=false -Dpython=disabled
	-Dsystemd=false -Dbuildtype=debugoptimized)
# an older checkout (--lib-from) may not know the option; meson would refuse
! grep -q "option('bridge'" "$src/meson_options.txt" || opts+=(-Dbridge=disabled)
cflags=(-O2 -g -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-result)
if [ "$sanitize" = 1 ]; then
	build=$build-asan
	opts+=(-Db_sanitize=address,undefined -Db_lundef=false)
	cflags+=(-fsanitize=address,undefined -fno-omit-frame-pointer)
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi
mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
	say "configuring $build (library from $src)"
	meson setup "$build" "$src" "${opts[@]}" >"$build.setup.log" 2>&1 ||
		{ cat "$build.setup.log" >&2; die "meson setup failed"; }
fi
ninja -C "$build" >"$build.ninja.log" 2>&1 ||
	{ cat "$build.ninja.log" >&2; die "library build failed"; }
say "building the harness"
cc "${cflags[@]}" -I"$src/include" "$SHMX_TOP"/tests/torture/*.c \
	-L"$build/src" -Wl,-rpath,"$build/src" -lshmx -pthread -lrt \
	-o "$build/shmx-torture"

args=(--seconds "$seconds" --shmx "$build/tools/shmx" $verbose)
[ -z "$seed" ] || args+=(--seed "$seed")
[ -z "$without" ] || args+=(--without "$without")
[ -z "$episodes" ] || args+=(--episodes "$episodes")
[ -z "$shape" ] || args+=(--shape "$shape")
exec "$build/shmx-torture" "${args[@]}"
