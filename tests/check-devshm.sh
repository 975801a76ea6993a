#!/bin/sh
# TAP test, the suite's one check that it leaves /dev/shm as it found it.
#   check-devshm.sh snapshot FILE   (runs first) remember what /dev/shm holds
#   check-devshm.sh check FILE      (runs last) nothing new, and no test
#                                   object (shmx-test-<pid>-<n>) at all
mode=$1
file=$2
now=$(ls -A /dev/shm 2>/dev/null | LC_ALL=C sort)
echo "1..1"
if [ "$mode" = snapshot ]; then
	printf '%s\n' "$now" >"$file"
	echo "ok 1 - /dev/shm holds $(printf '%s' "$now" | grep -c .) entries before the suite"
	exit 0
fi
tests=$(printf '%s\n' "$now" | grep -E '^(sem\.)?shmx-test-' || true)
new=""
[ -f "$file" ] && new=$(printf '%s\n' "$now" | LC_ALL=C comm -13 "$file" - | grep . || true)
left=$(printf '%s\n%s\n' "$tests" "$new" | grep . | LC_ALL=C sort -u)
if [ -z "$left" ]; then
	echo "ok 1 - /dev/shm holds nothing the suite created"
else
	echo "not ok 1 - the suite left objects in /dev/shm:"
	printf '%s\n' "$left" | sed 's/^/# /'
fi
