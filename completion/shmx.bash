# SPDX-License-Identifier: MIT
# bash completion for shmx(1): commands, their options, object names from
# /dev/shm and System V segments as sysv:KEY / sysv:@ID.
#
# Commands and options are read from the tool's own help (shmx --help,
# shmx help COMMAND), so they follow the installed version; plain bash
# builtins only, bash-completion's helpers are not needed.

_shmx_commands()
{
	"$1" --help 2>/dev/null | sed -n 's/^  shmx \([a-z][a-z-]*\).*/\1/p'
}

# Every long and short option that "shmx help COMMAND" lists.
_shmx_options()
{
	"$1" help "$2" 2>/dev/null | grep -oE '(^|[ ,[|])--?[a-zA-Z][a-zA-Z-]*' |
		sed 's/^[ ,[|]//' | sort -u
}

# Options that take a value: after them comes no name.
_shmx_takes_value()
{
	"$1" help "$2" 2>/dev/null | grep -qE -- "(^|[ ,])$3 [A-Z]"
}

# Objects in /dev/shm as "/name": regions, channels and pairs (a pair's
# semaphores are removed with its region), not glibc's "sem." files.
_shmx_names()
{
	local f
	for f in /dev/shm/*; do
		[ -e "$f" ] || continue
		f=${f#/dev/shm/}
		case $f in sem.*) continue ;; esac
		printf '/%s\n' "$f"
	done
}

# System V segments from /proc/sysvipc/shm: "key shmid ..." per line.
_shmx_sysv()
{
	local key id rest
	[ -r /proc/sysvipc/shm ] || return 0
	while read -r key id rest; do
		case $key in key) continue ;; esac
		[ "$key" -ne 0 ] && printf 'sysv:0x%08x\n' "$((key & 0xffffffff))"
		printf 'sysv:@%s\n' "$id"
	done </proc/sysvipc/shm
}

_shmx()
{
	# Words from the line itself: bash splits "sysv:KEY" at the ':'
	# (COMP_WORDBREAKS), the user typed one word.
	local line=${COMP_LINE:0:COMP_POINT} cur prev tool cmd n
	local -a w names
	read -ra w <<<"$line"
	[[ $line == *[[:space:]] || ${#w[@]} -eq 0 ]] && w+=("")
	n=${#w[@]}
	cur=${w[n-1]} prev=${w[n-2]} tool=${w[0]} cmd=${w[1]:-}
	COMPREPLY=()

	if [ "$n" -eq 2 ]; then
		_shmx_reply "$cur" $(_shmx_commands "$tool") --help --version
		return 0
	fi
	if [ "$cmd" = help ]; then
		[ "$n" -eq 3 ] && _shmx_reply "$cur" $(_shmx_commands "$tool")
		return 0
	fi
	# A value from a fixed set (send --policy); other values are free.
	if [ "$prev" = --policy ]; then
		_shmx_reply "$cur" block overwrite
		return 0
	fi
	if [[ $prev == -* ]] && _shmx_takes_value "$tool" "$cmd" "$prev"; then
		return 0
	fi
	if [[ $cur == -* ]]; then
		_shmx_reply "$cur" $(_shmx_options "$tool" "$cmd")
		return 0
	fi
	[ "$cmd" = ls ] && return 0
	mapfile -t names < <(_shmx_names)
	# Names are accepted without the leading '/': complete them that way
	# once the user started so.
	[[ -n $cur && $cur != /* ]] && names+=("${names[@]#/}")
	[[ $cur == /* ]] || mapfile -t -O "${#names[@]}" names < <(_shmx_sysv)
	_shmx_reply "$cur" "${names[@]}"
}

# COMPREPLY = the candidates that start with $1, compared as strings (names
# may hold glob or IFS characters that compgen -W would expand or split);
# the part before the last ':' goes when bash treats ':' as a word break.
_shmx_reply()
{
	local cur=$1 c pre=
	shift
	[[ $cur == *:* && $COMP_WORDBREAKS == *:* ]] && pre=${cur%"${cur##*:}"}
	for c in "$@"; do
		[[ $c == "$cur"* ]] && COMPREPLY+=("${c#"$pre"}")
	done
}

complete -F _shmx shmx
