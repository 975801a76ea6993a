#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP test of shmx-gc.service: systemd accepts it (systemd-analyze verify),
# it is hardened (systemd-analyze security --offline=yes: exposure 2.0 or
# less), and shmx gc still does its job with only the capabilities the unit
# leaves it (setpriv --bounding-set, as root): it removes another user's
# stale channel and keeps one that another user's process maps.
#   test-unit.sh SERVICE_IN TIMER SHMX_TOOL
# Skips a check, with the reason, where its tool is missing.
set -u
service_in=$1 timer=$2 tool=$3
dir=$(mktemp -d /tmp/shmx-unittest-XXXXXX)
tag=shmx-unittest-$$
pids=()
n=0 failed=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	"$tool" rm "/$tag-stale" "/$tag-mapped" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

result() {      # result OK NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}
skip() {        # skip NAME REASON
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

echo "1..4"
# The unit as installed, its ExecStart pointing at the tool under test.
sed "s|@BINDIR@/shmx|$tool|" "$service_in" >"$dir/shmx-gc.service"
cp "$timer" "$dir/shmx-gc.timer"
exec_line=$(grep '^ExecStart=' "$dir/shmx-gc.service" | tail -1)

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify accepts the units" "no systemd-analyze"
	skip "exposure 2.0 or less" "no systemd-analyze"
else
	out=$(systemd-analyze verify --man=no "$dir/shmx-gc.service" "$dir/shmx-gc.timer" 2>&1)
	result $? "systemd-analyze verify accepts the units" "$out"
	if ! systemd-analyze security --help 2>&1 | grep -q -- --offline; then
		skip "exposure 2.0 or less" "systemd-analyze security has no --offline (systemd < 250)"
	else
		out=$(systemd-analyze security --offline=yes "$dir/shmx-gc.service" 2>&1)
		level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ -z "$level" ]; then
			result 1 "exposure 2.0 or less" "$out"
		else
			ok=$(awk -v l="$level" 'BEGIN { print (l <= 2.0) ? 0 : 1 }')
			result "$ok" "exposure 2.0 or less (systemd-analyze security: $level)" \
				"$(printf '%s\n' "$out" | grep '✗')"
		fi
	fi
fi

# The capabilities the unit leaves gc, as a bounding set.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$dir/shmx-gc.service" | tr 'A-Z' 'a-z' |
	sed 's/cap_/+/g; s/ /,/g')
py=/usr/bin/python3
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || [ ! -x $py ]; then
	skip "gc with the unit's capabilities removes another user's stale channel" \
		"needs root, setpriv and /usr/bin/python3"
	skip "... and keeps one another user's process maps" "needs root, setpriv and python3"
	exit $((failed > 0))
fi
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# A copy uid 65534 can run (the checkout may be where it cannot go), with
# the library it was linked with (found through its $ORIGIN/../src rpath).
mkdir "$dir/tools" "$dir/src"
cp "$tool" "$dir/tools/shmx"
lib=$(ldd "$tool" | sed -n 's/.*libshmx.so.0 => \(.*\) (.*/\1/p')
[ -n "$lib" ] && cp "$lib" "$dir/src/libshmx.so.0"
chmod -R a+rX "$dir"
export LD_LIBRARY_PATH=$dir/src
# Two channels of uid 65534 (mode 0600) whose creators die: one mapped by
# another process of that user, which holds no slot.
# Their input is a fifo this script holds open (fd 4, 5): no process is
# left holding the test's output.
fd=4
for which in stale mapped; do
	mkfifo "$dir/in-$which" && chmod 644 "$dir/in-$which"
	"${nobody[@]}" "$dir/tools/shmx" send "/$tag-$which" --timeout 30000 \
		<"$dir/in-$which" >/dev/null 2>&1 &
	pids+=($!)
	eval "exec $fd>\"\$dir/in-\$which\""
	fd=$((fd + 1))
	for _ in $(seq 100); do [ -e "/dev/shm/$tag-$which" ] && break; sleep 0.05; done
	kill -9 "${pids[-1]}" 2>/dev/null
	wait "${pids[-1]}" 2>/dev/null
done
"${nobody[@]}" $py -c '
import mmap, os, sys, time
f = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(f, 0, prot=mmap.PROT_READ)
os.close(f)
print("mapped", flush=True)
time.sleep(30)' "/dev/shm/$tag-mapped" >"$dir/mapper.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do grep -q mapped "$dir/mapper.out" 2>/dev/null && break; sleep 0.05; done
out=$(setpriv --bounding-set "-all,$caps" --no-new-privs "$dir/tools/shmx" gc "/$tag-*" 2>&1)
rc=$?
[ $rc = 0 ] && [ ! -e "/dev/shm/$tag-stale" ]
result $? "gc with the unit's capabilities ($caps) removes another user's stale channel" \
	"exit $rc: $out"
[ -e "/dev/shm/$tag-mapped" ]
result $? "... and keeps one another user's process maps" "$out"
exit $((failed > 0))
