#!/bin/sh
# TAP test: after the suite, /dev/shm holds nothing a test created
# (every test object is named shmx-test-<pid>-<n>).
left=$(ls -A /dev/shm 2>/dev/null | grep -E '^(sem\.)?shmx-test-' || true)
echo "1..1"
if [ -z "$left" ]; then
	echo "ok 1 - /dev/shm holds no test objects"
else
	echo "not ok 1 - test objects left in /dev/shm:"
	echo "$left" | sed 's/^/# /'
fi
