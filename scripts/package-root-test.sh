#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs inside the fresh Debian root that scripts/debcheck.sh made, as root:
# installs the four packages with apt-get as a user would, builds and runs
# a consumer with pkg-config and one with CMake's find_package(libshmx
# CONFIG), runs shmx ls --json and python3 -c 'import shmx', checks that
# every part says the same version, then purges the packages and checks
# that nothing of them is left: no file dpkg -L listed, and no path on the
# whole file system that was not there before the install.
#   package-root-test.sh DIR     (DIR: debs/*.deb, consumer/ of tests/)
# One "ok N - what" or "not ok N - what" line per check; exit 1 on any.
set -uo pipefail
dir=$1
pkgs=(libshmx0 libshmx-dev shmx-tools python3-shmx)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -z "${2:-}" ] || sed 's/^/#   /' <<<"$2"
}
# check WHAT CMD...: ok when CMD succeeds; its output is shown when not.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi
}

# What the file system holds outside the places that change anyway (the
# package database, apt's caches, logs, this test's own directory).
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o \
		-path /tmp -o -path /run -o -path /var/lib/dpkg -o \
		-path /var/lib/apt -o -path /var/cache -o -path /var/log -o \
		-path "$dir" \) -prune -o -print | sort
}

cd "$dir" || exit 1
snapshot >before.txt
debs=()
for p in "${pkgs[@]}"; do debs+=("$(ls ./debs/"${p}"_*.deb)"); done
check "apt-get install ./*.deb" apt-get install -y -q --no-install-recommends "${debs[@]}"
for p in "${pkgs[@]}"; do dpkg -L "$p"; done 2>/dev/null | sort -u >listed.txt
[ -s listed.txt ] && ok "dpkg -L lists $(wc -l <listed.txt) paths" ||
	not_ok "dpkg -L lists the packages' files"

check "a consumer built with pkg-config --cflags --libs libshmx runs" sh -c '
	cc -o app-pc consumer/consumer.c $(pkg-config --cflags --libs libshmx) &&
	test "$(./app-pc /debcheck-pc)" = OK'
check "a consumer built with CMake find_package(libshmx CONFIG) runs" sh -c '
	cmake -S consumer/cmake-demo -B cmake-build -DSHMX_VIA=config &&
	cmake --build cmake-build && test "$(cmake-build/consumer /debcheck-cm)" = OK'

check "shmx ls --json lists a region shmx create made" sh -c '
	shmx create /debcheck-ls 4096 &&
	shmx ls --json >ls.json && shmx rm /debcheck-ls &&
	python3 -c "import json, sys
doc = json.load(open(\"ls.json\"))
sys.exit(0 if \"debcheck-ls\" in json.dumps(doc) else 1)"'
check "python3 -c 'import shmx'" python3 -c 'import shmx'

# The package's version is meson.build's everywhere (tests/check-version.sh
# checks the sources; this checks what was installed).
ver=$(dpkg-query -W -f='${Version}' libshmx0)
got="shmx --version: $(shmx --version)
pkg-config: $(pkg-config --modversion libshmx)
python3 shmx.version(): $(python3 -c 'import shmx; print(shmx.version())')
header: $(printf '#include <shmx.h>\nSHMX_VERSION_STRING\n' | cc -E -P - | tail -n 1)"
mkdir -p cmake-ver
printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\n%s\n' \
	"find_package(libshmx $ver EXACT CONFIG REQUIRED)" >cmake-ver/CMakeLists.txt
cmake -S cmake-ver -B cmake-ver/b >/dev/null 2>&1 &&
	got+=$'\n'"cmake find_package(libshmx $ver EXACT): found"
bad=$(grep -v -F -e ": $ver" -e ": \"$ver\"" -e ": shmx (libshmx) $ver" \
	-e ": found" <<<"$got")
if [ "$(wc -l <<<"$got")" -eq 5 ] && [ -z "$bad" ]; then
	ok "the package, shmx --version, pkg-config, python, header, CMake say $ver"
else
	not_ok "every part says the package's version $ver" "$got"
fi

check "shmx-gc.service and .timer installed" \
	test -f /usr/lib/systemd/system/shmx-gc.service -a -f /usr/lib/systemd/system/shmx-gc.timer
check "shmx-gc.timer not enabled" sh -c \
	'! find /etc/systemd -name "shmx-gc.*" | grep .'

# --autoremove: what apt installed for them goes too (a shmx-bridge built
# with libnats pulls libnats and its own dependencies in).
check "apt-get purge --autoremove" apt-get purge -y -q --autoremove "${pkgs[@]}"
left=$(while read -r f; do
	# a directory that other packages share stays (/usr/lib/...)
	if [ -d "$f" ] && [ ! -L "$f" ]; then
		[[ $f == *shmx* ]] && echo "$f"
	elif [ -e "$f" ] || [ -L "$f" ]; then
		echo "$f"
	fi
done <listed.txt)
[ -z "$left" ] && ok "no file dpkg -L listed is left" ||
	not_ok "no file dpkg -L listed is left" "$left"
new=$(snapshot | comm -13 before.txt -)
[ -z "$new" ] && ok "the file system is as before the install" ||
	not_ok "the file system is as before the install" "$new"
check "/dev/shm is empty" sh -c '! ls -A /dev/shm | grep .'

echo "1..$n"
[ "$failed" -eq 0 ]
