#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The release tarball: meson dist makes libshmx-VERSION.tar.xz from the
# checkout's HEAD (the files git tracks, nothing else), then the tarball
# is unpacked in /tmp, built on its own and tested there.
#   scripts/package-dist.sh [OUTDIR]     (default build-dist/)
# meson dist runs with --no-tests: its own test run would be the whole
# suite again, minutes that scripts/test.sh already spent on the same
# files. Instead the unpacked tree runs the tests that read files from
# outside src/ (install, completion, python, examples, version,
# debian-symbols, a fuzz replay, ...): a file the build or a test needs
# that is not tracked fails here. SHMX_DIST_FULL=1 runs the whole suite
# instead (meson dist's default).
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h | --help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
out=$(realpath -m "${1:-$SHMX_TOP/build-dist}")
# Test names (meson test --list) run from the unpacked tarball.
# The tarball holds exactly what git tracks (checked below) and CI's
# suite runs on a clean clone, so what is left to show is that nothing
# needs the .git directory or the checkout's place: a build, the install
# test (the tree as a subproject, consumers), and a few quick ones.
tests=(dev-shm-snapshot name region badinput pair cli completion python
	examples install version debian-symbols fuzz-replay-name dev-shm-clean)

shmx_deps test
git -C "$SHMX_TOP" rev-parse --git-dir >/dev/null 2>&1 ||
	die "$SHMX_TOP is not a git checkout: meson dist needs one"
[ -z "$(git -C "$SHMX_TOP" status --porcelain --untracked-files=no)" ] ||
	say "warning: uncommitted changes are not in the tarball"

work=$(mktemp -d /tmp/shmx-dist-XXXXXX)
trap 'rm -rf "$work"' EXIT

# A configured tree is all meson dist needs; the smallest will do.
meson setup "$work/conf" "$SHMX_TOP" -Dtests=false -Dexamples=false \
	-Dbench=false -Dpython=disabled >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log" >&2; die "meson setup failed"; }
say "meson dist --no-tests"
meson dist -C "$work/conf" --no-tests --formats xztar >"$work/dist.log" 2>&1 ||
	{ cat "$work/dist.log" >&2; die "meson dist failed"; }
tarball=$(ls "$work"/conf/meson-dist/libshmx-*.tar.xz)
name=$(basename "$tarball" .tar.xz)

# The tarball holds exactly what git tracks.
tar -C "$work" -xf "$tarball"
diff <(cd "$work/$name" && find . ! -type d | sed 's|^\./||' | sort) \
	<(git -C "$SHMX_TOP" ls-files | sort) >"$work/files.diff" ||
	{ cat "$work/files.diff" >&2; die "$name.tar.xz is not the files git tracks"; }
say "$name.tar.xz: $(wc -l <<<"$(git -C "$SHMX_TOP" ls-files)") files, $(( ($(stat -c %s "$tarball") + 1023) / 1024 )) KiB"

say "building $name from the tarball alone"
build=$work/build
meson setup "$build" "$work/$name" -Dbench=false >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log" >&2; die "meson setup of the tarball failed"; }
t=$SECONDS
ninja -C "$build" >"$work/ninja.log" 2>&1 ||
	{ tail -n 40 "$work/ninja.log" >&2; die "the tarball does not build"; }
say "built in $((SECONDS - t)) s"

if [ "${SHMX_DIST_FULL:-0}" = 1 ]; then
	run=()
else
	mapfile -t have < <(meson test -C "$build" --list --no-rebuild 2>/dev/null |
		sed 's|^.* / ||')
	run=()
	for t in "${tests[@]}"; do
		if printf '%s\n' "${have[@]}" | grep -qxF "$t"; then
			run+=("$t")
		else
			say "warning: no test '$t' in the suite any more (scripts/package-dist.sh lists it)"
		fi
	done
	[ ${#run[@]} -ge 8 ] || die "fewer than 8 of the listed tests exist"
fi
say "testing the tarball's build: ${run[*]:-the whole suite}"
# In a /dev/shm and System V namespace of their own when root can make
# them: the suite's dev-shm-clean check then sees only these tests, not a
# suite running beside them on the same machine.
iso=()
if [ "$(id -u)" -eq 0 ] && unshare --mount --ipc true 2>/dev/null; then
	iso=(unshare --mount --ipc sh -c 'mount -t tmpfs -o mode=1777 shmx-dist /dev/shm && exec "$@"' sh)
fi
mkdir -p "$out"
t=$SECONDS
if ! "${iso[@]}" meson test -C "$build" --no-rebuild --print-errorlogs "${run[@]}" \
	>"$work/test.log" 2>&1; then
	cat "$work/test.log" >&2
	cp "$build/meson-logs/testlog.txt" "$out/testlog.txt" 2>/dev/null || true
	die "the tarball's tests failed (log: $out/testlog.txt)"
fi
grep -E '^(Ok|Fail|Skipped|Timeout):' "$work/test.log" | tr -s ' \n' ' ' | sed 's/^/  /' >&2
echo "in $((SECONDS - t)) s" >&2

cp "$tarball" "$tarball.sha256sum" "$out/"
say "release tarball: $out/$name.tar.xz"
