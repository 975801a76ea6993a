#!/bin/sh
# TAP test, the suite's one check that it leaves /dev/shm as it found it.
#   check-devshm.sh snapshot FILE   (runs first) remember what /dev/shm holds
#   check-devshm.sh check FILE      (runs last) nothing new of the suite's
#   check-devshm.sh selftest        the check itself, on objects of its own
# Every object the suite makes is named shmx-* (tests' "shmx-test-<pid>-<n>",
# the Python tests', completion's, ...), with the derived names of a pair
# ("sem.NAME.shmx-w", "sem.NAME.shmx-r", "NAME.shmx-p"): only those are
# compared. Anything else that came or went meanwhile belongs to another
# program (a browser, PulseAudio) and is reported as a note, not a failure;
# so are test objects that were there before (an earlier run's, or those of
# another checkout's suite running beside this one).
mode=$1
file=${2:-}
ours='^(sem\.)?shmx-'

listing() { ls -A /dev/shm 2>/dev/null | LC_ALL=C sort; }

# check FILE: prints the TAP line and notes; status 1 if it failed.
check() {
	now=$(listing)
	new=""
	[ -f "$1" ] && new=$(printf '%s\n' "$now" | LC_ALL=C comm -13 "$1" - | grep . || true)
	[ -f "$1" ] || new=$now
	left=$(printf '%s\n' "$new" | grep -E "$ours" || true)
	other=$(printf '%s\n' "$new" | grep -vE "$ours" | grep . || true)
	old=$(printf '%s\n' "$now" | grep -E '^(sem\.)?shmx-test-' |
		LC_ALL=C comm -12 "$1" - 2>/dev/null | grep . || true)
	if [ -n "$other" ]; then
		echo "# note: other programs' objects appeared meanwhile (not compared):"
		printf '%s\n' "$other" | sed 's/^/#   /'
	fi
	if [ -n "$old" ]; then
		echo "# note: test objects that were there before the suite (not compared):"
		printf '%s\n' "$old" | sed 's/^/#   /'
	fi
	if [ -z "$left" ]; then
		echo "ok 1 - /dev/shm holds nothing the suite created"
		return 0
	fi
	echo "not ok 1 - the suite left objects in /dev/shm:"
	printf '%s\n' "$left" | sed 's/^/# /'
	return 1
}

case "$mode" in
snapshot)
	echo "1..1"
	listing >"$file"
	echo "ok 1 - /dev/shm holds $(grep -c . "$file") entries before the suite"
	;;
check)
	echo "1..1"
	check "$file"
	;;
selftest)
	# Another program's object appears: a note, not a failure; one named as
	# the suite names its objects (a pair's semaphore) fails the check.
	# Tests running meanwhile make objects too: only these two are judged.
	snap=$(mktemp /tmp/shmx-devshm-XXXXXX)
	foreign=/dev/shm/devshm-selftest-foreign-$$
	suite=/dev/shm/sem.shmx-devshm-selftest-$$.shmx-w
	trap 'rm -f "$snap" "$foreign" "$suite"' EXIT
	echo "1..2"
	listing >"$snap"
	: >"$foreign"
	out=$(check "$snap")
	if printf '%s\n' "$out" | grep -q "^#   devshm-selftest-foreign-$$\$" &&
		! printf '%s\n' "$out" | grep -q "^# devshm-selftest-foreign-$$\$"; then
		echo "ok 1 - another program's object is a note, not a failure"
	else
		echo "not ok 1 - another program's object is a note, not a failure"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
	: >"$suite"
	out=$(check "$snap")
	if [ $? = 1 ] && printf '%s\n' "$out" | grep -q "^# sem\.shmx-devshm-selftest-$$\.shmx-w\$"; then
		echo "ok 2 - an object named as the suite's fails the check"
	else
		echo "not ok 2 - an object named as the suite's fails the check"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
	;;
*)
	echo "usage: check-devshm.sh snapshot|check FILE, or selftest" >&2
	exit 2
	;;
esac
