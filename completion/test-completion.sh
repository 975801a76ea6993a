#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sources completion/shmx.bash in bash and asks it for completions, as bash
# does on <Tab>: commands, options, names in /dev/shm, System V segments.
#   test-completion.sh COMPLETION_FILE SHMX_TOOL      (TAP output)
# Its objects are named shmx-comptest-<pid>-* and removed on exit.
set -u
comp=$1 tool=$2
n=0 failed=0
tag=shmx-comptest-$$
shmid=

cleanup() {
	"$tool" rm "/$tag-a" "/$tag-b" >/dev/null 2>&1
	[ -n "$shmid" ] && ipcrm -m "$shmid" >/dev/null 2>&1
}
trap cleanup EXIT

# shellcheck source=shmx.bash
source "$comp" || { echo "1..0 # SKIP cannot source $comp"; exit 1; }
PATH=$(dirname "$tool"):$PATH

# complete LINE: the candidates bash would get for LINE, '|'-separated.
complete_line() {
	COMP_LINE=$1 COMP_POINT=${#1} COMPREPLY=()
	COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
	_shmx
	local IFS='|'
	printf '|%s|' "${COMPREPLY[*]}"
}

# check NAME LINE WANT...: every WANT is a candidate (or, for "!X", is not).
check() {
	local name=$1 line=$2 got w ok=1
	shift 2
	got=$(complete_line "$line")
	for w in "$@"; do
		case $w in
		!*) [[ $got == *"|${w#!}|"* ]] && ok=0 ;;
		*) [[ $got == *"|$w|"* ]] || ok=0 ;;
		esac
	done
	n=$((n + 1))
	if [ $ok = 1 ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "# '$line' gave: $got; wanted: $*"
		failed=$((failed + 1))
	fi
}

echo "1..13"
"$tool" create "/$tag-a" 4096 >/dev/null || echo "# shmx create failed"
"$tool" create "/$tag-b" 4096 >/dev/null || echo "# shmx create failed"
check "commands complete" "shmx s" stat send '!ls'
check "every command is offered" "shmx " ls stat create rm gc cat write send recv help
check "options of the command typed" "shmx ls --" --bytes --json --sysv '!--pair'
check "send's options" "shmx send x --" --pair --open --lines --size --timeout
check "send's channel shape options" "shmx send x --" --consumers --producers --policy \
	--no-wait --producer
check "the policies after --policy" "shmx send x --policy " block overwrite "!/$tag-a"
check "no names after an option that takes a value" "shmx send x --size " "!/$tag-a"
check "names from /dev/shm with their slash" "shmx stat /$tag-" "/$tag-a" "/$tag-b"
check "names without the slash once typed so" "shmx rm $tag-" "$tag-a" "$tag-b"
check "help completes command names" "shmx help gc" gc '!--dry-run'
check "recv offers only what it accepts" "shmx recv x --" --pair --timeout '!--producers'

# Every option offered for every command is one the command accepts: given
# before --help, an unknown one is a usage error naming it.
bad=
for c in ls stat create rm gc cat write send recv; do
	for o in $(complete_line "shmx $c --" | tr '|' ' ') $(complete_line "shmx $c -" | tr '|' ' '); do
		if "$tool" "$c" "$o" --help 2>&1 >/dev/null | grep -q "unknown option\|invalid option"; then
			bad="$bad $c$o"
		fi
	done
done
n=$((n + 1))
if [ -z "$bad" ]; then
	echo "ok $n - every option offered is accepted by its command"
else
	echo "not ok $n - options offered but refused:$bad"
	failed=$((failed + 1))
fi
if command -v ipcmk >/dev/null && out=$(ipcmk -M 4096 2>/dev/null); then
	shmid=${out##* }
	# the kernel prints the key as a signed int
	key=$(awk -v id="$shmid" '$2 == id { print $1 }' /proc/sysvipc/shm)
	key=$(printf '0x%08x' "$((key & 0xffffffff))")
	# bash breaks the word at ':': candidates carry only what follows it
	check "System V segments as sysv:KEY and sysv:@ID" "shmx stat sysv:" \
		"$key" "@$shmid" "!/$tag-a"
else
	n=$((n + 1))
	echo "ok $n - System V segments # SKIP ipcmk cannot make a segment here"
fi
exit $((failed > 0))
