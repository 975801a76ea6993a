#!/usr/bin/env bash
# Builds libshmx, shmx, the examples and the test suite for the platforms
# beside glibc on x86-64, and runs the suite on each:
#   musl   musl-gcc (Debian's musl-tools) on x86-64, with cmocka built from
#          Debian's source package with musl-gcc
#   arm64  aarch64-linux-gnu-gcc against the arm64 packages (multiarch),
#          run under qemu-user: the test programs through meson's
#          exe_wrapper, what they exec through binfmt_misc; the Python
#          binding's unittest with an arm64 python3
# Ends with one line "N passed, N failed, N skipped" over the platforms run
# and exits non-zero if anything failed.
#   scripts/cross.sh [musl|arm64]...   (default: both)
#   SHMX_CROSS_SCALE  SHMX_TEST_SCALE for the suites (default 0.1 with
#                     musl, 0.02 under qemu, which is ten times slower)
# Its work (kernel headers, cmocka, the arm64 python3) is kept under
# .cache/cross; the builds are build-musl and build-arm64.
set -uo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(musl arm64)
for p in "${platforms[@]}"; do
	case "$p" in
	musl | arm64) ;;
	*) die "scripts/cross.sh: unknown platform '$p' (musl or arm64)" ;;
	esac
done

cache=$SHMX_TOP/.cache/cross
mkdir -p "$cache"

# Constants for the machine files in cross/: where this checkout and its
# cache are (meson machine files cannot read the environment).
cat >"$cache/paths.ini" <<EOF
[constants]
top = '$SHMX_TOP'
cache = '$cache'
EOF

# ---- musl ----

# <linux/futex.h> and the rest of the kernel's headers, which musl's
# include directory does not have: links to linux-libc-dev's, in the cache
# only (the musl installation is left as it is).
musl_kernel_headers() {
	local k=$cache/musl/kernel-include d
	mkdir -p "$k"
	for d in linux asm-generic; do
		ln -sfn "/usr/include/$d" "$k/$d"
	done
	ln -sfn "/usr/include/$(gcc -print-multiarch)/asm" "$k/asm"
}

# A deb-src entry for every deb one of the system's (deb822 or one-line
# format), in a file of its own, unless there is one already.
enable_deb_src() {
	local f=/etc/apt/sources.list.d/shmx-deb-src.sources
	grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d &&
		return 0
	say "enabling deb-src entries ($f)"
	{
		sed -n 's/^Types: deb$/Types: deb-src/;/^Types:/,/^$/p' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null
		sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list \
			/etc/apt/sources.list.d/*.list 2>/dev/null | grep . |
			while read -r line; do echo; echo "# $line"; done
	} >"$f.tmp"
	# one-line entries go to a .list of their own
	sed -n 's/^# \(deb-src .*\)$/\1/p' "$f.tmp" >"${f%.sources}.list"
	[ -s "${f%.sources}.list" ] || rm -f "${f%.sources}.list"
	sed '/^# deb-src /d' "$f.tmp" >"$f"
	rm -f "$f.tmp"
	[ -s "$f" ] || rm -f "$f"
	apt-get update -qq >/dev/null || die "apt-get update failed"
}

# cmocka built with musl-gcc from Debian's source package, installed under
# the cache (a stamp names the version; nothing is built twice).
musl_cmocka() {
	local prefix=$cache/musl ver src
	ver=$(dpkg-query -W -f '${Version}\n' libcmocka-dev 2>/dev/null | head -n 1)
	[ -f "$prefix/cmocka.stamp" ] && [ "$(cat "$prefix/cmocka.stamp")" = "$ver" ] &&
		return 0
	enable_deb_src
	say "building cmocka $ver with musl-gcc"
	rm -rf "$cache/cmocka-src" && mkdir -p "$cache/cmocka-src"
	(cd "$cache/cmocka-src" &&
		apt-get source -qq -o APT::Sandbox::User=root "cmocka=$ver") \
		>"$cache/cmocka.log" 2>&1 || { cat "$cache/cmocka.log" >&2; die "apt-get source cmocka failed"; }
	src=$(find "$cache/cmocka-src" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*')
	[ -n "$src" ] || die "apt-get source cmocka unpacked nothing"
	CC=musl-gcc cmake -S "$src" -B "$cache/cmocka-build" \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_INSTALL_LIBDIR=lib -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
		>>"$cache/cmocka.log" 2>&1 &&
		cmake --build "$cache/cmocka-build" -j 2 >>"$cache/cmocka.log" 2>&1 &&
		cmake --install "$cache/cmocka-build" >>"$cache/cmocka.log" 2>&1 ||
		{ cat "$cache/cmocka.log" >&2; die "building cmocka with musl-gcc failed"; }
	echo "$ver" >"$prefix/cmocka.stamp"
	rm -rf "$cache/cmocka-src" "$cache/cmocka-build"
}

# ---- arm64 ----

# Running an arm64 program directly (as the tests do when they exec shmx
# or an example) needs binfmt_misc's qemu-aarch64 entry, which
# qemu-user-static registers when binfmt_misc is mounted.
arm64_binfmt() {
	local reg=/proc/sys/fs/binfmt_misc
	[ -f "$reg/register" ] || mount -t binfmt_misc binfmt_misc "$reg" 2>/dev/null ||
		die "binfmt_misc is not mounted and cannot be: arm64 programs cannot exec each other"
	[ -f "$reg/qemu-aarch64" ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 ||
		update-binfmts --import qemu-aarch64 >/dev/null 2>&1 ||
		die "cannot register qemu-aarch64 with binfmt_misc"
	grep -qx enabled "$reg/qemu-aarch64" ||
		die "binfmt_misc's qemu-aarch64 entry is disabled"
}

# An arm64 python3: python3.X:arm64 conflicts with the amd64 one, but its
# library (libpython3.X:arm64) installs beside it, and a python is that
# library's Py_BytesMain(). It finds its standard library, the system's
# (the same files; extension modules carry the architecture in their
# names), from where it is: bin/python3 beside lib/python3.X.
arm64_python() {
	local dir=$cache/arm64 ver pyver
	pyver=$(shmx_pyver)
	ver=$(dpkg-query -W -f '${Version}' "libpython$pyver:arm64" 2>/dev/null)
	[ -x "$dir/bin/python3" ] && [ "$(cat "$dir/python.stamp" 2>/dev/null)" = "$ver" ] &&
		return 0
	mkdir -p "$dir/bin" "$dir/lib"
	ln -sfn "/usr/lib/python$pyver" "$dir/lib/python$pyver"
	printf '%s\n' 'int Py_BytesMain(int argc, char **argv);' \
		'int main(int argc, char **argv) { return Py_BytesMain(argc, argv); }' |
		aarch64-linux-gnu-gcc -x c - -x none -o "$dir/bin/python3" \
			"/usr/lib/aarch64-linux-gnu/libpython$pyver.so.1.0" ||
		die "cannot link an arm64 python3"
	"$dir/bin/python3" -c 'import ctypes, platform; assert platform.machine() == "aarch64"' ||
		die "the arm64 python3 does not run"
	echo "$ver" >"$dir/python.stamp"
}

# ---- both ----

# shmx_build, after a failed configure too (meson will not set up a
# directory it left half done).
build() {
	[ -f "$1/build.ninja" ] || rm -rf "$1"
	shmx_build "$@"
}

# meson test on dir, with the names the cross builds run: not install and
# python-install (they rebuild the library with the machine's own meson
# and compiler, which an arm64 python cannot load), valgrind-examples
# (valgrind runs x86-64 glibc programs only), the SPIN models (they do
# not depend on the build), systemd-unit and cli-docs (they run the host's
# systemd-analyze and cc on what was built, and check files, not the port),
# bridge and bridge-cluster (built with -Dbridge=disabled: no NATS client
# library for the target).
run_suite() {
	local dir=$1 scale=$2 names
	shift 2
	mapfile -t names < <(meson test -C "$dir" --list --no-rebuild 2>/dev/null |
		sed 's|^.* / ||' |
		grep -vE '^(install|python-install|valgrind-examples|spin-.*|systemd-unit|cli-docs|bridge|bridge-cluster)$')
	[ ${#names[@]} -gt 10 ] || die "no tests found in $dir"
	SHMX_TEST_SCALE=$scale meson test -C "$dir" --no-rebuild \
		--print-errorlogs "$@" "${names[@]}"
}

# The Python binding's unittest (the test "python", not TAP): what it ran
# and skipped, from meson's log of dir. Fails when it did not run.
python_summary() {
	python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t.get("name", "").split(" / ")[-1] == "python":
        err = t.get("stderr") or ""
        ran = re.findall(r"^Ran (\d+) tests?", err, re.M)
        skipped = re.findall(r"skipped=(\d+)", err)
        print("python unittest: %s tests ran, %s skipped, %s" % (
            ran[-1] if ran else "no", skipped[-1] if skipped else 0, t.get("result")))
        sys.exit(0 if ran and t.get("result") == "OK" else 1)
print("python unittest: did not run")
sys.exit(1)
PY
}

if [[ " ${platforms[*]} " == *" arm64 "* ]] &&
	! dpkg --print-foreign-architectures | grep -qx arm64; then
	say "adding the arm64 architecture to dpkg"
	dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed"
fi
shmx_deps "${platforms[@]}"
rc=0
logs=()
for p in "${platforms[@]}"; do
	start=$SECONDS
	case "$p" in
	musl)
		musl_kernel_headers
		musl_cmocka
		build "$SHMX_TOP/build-musl" --native-file "$cache/paths.ini" \
			--native-file "$SHMX_TOP/cross/musl.ini" -Dbench=false \
			-Dpython=disabled -Dbridge=disabled
		say "running the test suite with musl"
		run_suite "$SHMX_TOP/build-musl" "${SHMX_CROSS_SCALE:-0.1}" || rc=1
		logs+=("$SHMX_TOP/build-musl/meson-logs/testlog.txt")
		;;
	arm64)
		arm64_binfmt
		arm64_python
		build "$SHMX_TOP/build-arm64" --cross-file "$cache/paths.ini" \
			--cross-file "$SHMX_TOP/cross/aarch64.ini" -Dbench=false \
			-Dbridge=disabled -Dpython=enabled
		say "running the test suite on arm64 under qemu-user"
		run_suite "$SHMX_TOP/build-arm64" "${SHMX_CROSS_SCALE:-0.02}" \
			--timeout-multiplier 3 || rc=1
		python_summary "$SHMX_TOP/build-arm64" || rc=1
		logs+=("$SHMX_TOP/build-arm64/meson-logs/testlog.txt")
		;;
	esac
	say "$p: $((SECONDS - start)) s"
done

shmx_tap_summary "$rc" "${logs[@]}"
