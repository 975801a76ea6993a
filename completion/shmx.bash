# SPDX-License-Identifier: MIT
# bash completion for shmx(1): commands, their options, object names from
# /dev/shm, System V segments as sysv:KEY / sysv:@ID, and file paths for the
# commands whose address may be a file. Every candidate is quoted.
#
# Commands and options are read from the tool's own help (shmx --help,
# shmx help COMMAND), so they follow the installed version; plain bash
# builtins only, bash-completion's helpers are not needed.

_shmx_commands()
{
	"$1" --help 2>/dev/null | sed -n 's/^  shmx \([a-z][a-z-]*\).*/\1/p'
}

# The options "shmx help COMMAND" lists in its option lines ("  -x, --long
# ARG  what"), exactly those the command accepts, and --help; not the
# options its prose mentions (recv's help speaks of send --producers).
_shmx_options()
{
	"$1" help "$2" 2>/dev/null |
		sed -nE 's/^ +(-[a-zA-Z], )?(--[a-z][a-z-]*).*/\2/p; s/^ +(-[a-zA-Z]),.*/\1/p'
	echo --help
}

# Options that take a value: after them comes no name.
_shmx_takes_value()
{
	"$1" help "$2" 2>/dev/null | grep -qE -- "^ +(-[a-zA-Z], )?(--[a-z-]+, )?$3 [A-Z]"
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

# The words of the line up to the cursor as the shell will see them, quotes
# and backslashes removed, into _shmx_w; the last is the word being typed
# (empty after a space). A name typed with quotes or escapes is compared
# with the names as they are.
_shmx_split()
{
	local s=$1 i c q= word= inword=0
	_shmx_w=()
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [ "$q" = "'" ]; then
			if [ "$c" = "'" ]; then q=; else word+=$c; fi
		elif [ "$q" = '"' ]; then
			if [ "$c" = '"' ]; then
				q=
			elif [ "$c" = '\' ] && [[ ${s:i+1:1} == [\"\\\$\`] ]]; then
				word+=${s:i+1:1}
				i=$((i + 1))
			else
				word+=$c
			fi
		elif [ "$c" = '\' ]; then
			word+=${s:i+1:1}
			i=$((i + 1))
			inword=1
		elif [ "$c" = "'" ] || [ "$c" = '"' ]; then
			q=$c
			inword=1
		elif [[ $c == [[:space:]] ]]; then
			[ $inword = 1 ] && _shmx_w+=("$word")
			word= inword=0
		else
			word+=$c
			inword=1
		fi
	done
	_shmx_w+=("$word")
}

# Commands whose ADDRESS may be a file: a '/' after the first character, or
# a leading ./ or ../ (shmx(1), ADDRESSES).
_shmx_takes_files()
{
	case $1 in stat | create | rm | cat | write) return 0 ;; esac
	return 1
}

_shmx()
{
	# Words from the line itself: bash splits "sysv:KEY" at the ':'
	# (COMP_WORDBREAKS), the user typed one word.
	local line=${COMP_LINE:0:COMP_POINT} cur prev tool cmd n
	local -a _shmx_w names
	_shmx_split "$line"
	n=${#_shmx_w[@]}
	cur=${_shmx_w[n-1]} prev=${_shmx_w[n-2]:-} tool=${_shmx_w[0]} cmd=${_shmx_w[1]:-}
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
	if _shmx_takes_files "$cmd" && [[ $cur == ?*/* || $cur == ./* || $cur == ../* ]]; then
		mapfile -t names < <(compgen -f -- "$cur")
		_shmx_reply "$cur" "${names[@]}"
		return 0
	fi
	mapfile -t names < <(_shmx_names)
	# Names are accepted without the leading '/': complete them that way
	# once the user started so.
	[[ -n $cur && $cur != /* ]] && names+=("${names[@]#/}")
	[[ $cur == /* ]] || mapfile -t -O "${#names[@]}" names < <(_shmx_sysv)
	# A file's path starts like a name: offer the directories too.
	_shmx_takes_files "$cmd" && [[ $cur == /* ]] &&
		mapfile -t -O "${#names[@]}" names < <(compgen -d -- "$cur")
	_shmx_reply "$cur" "${names[@]}"
}

# COMPREPLY = the candidates that start with $1, compared as strings (names
# may hold glob or IFS characters that compgen -W would expand or split),
# each quoted with printf %q: anyone can choose a name in /dev/shm
# ("x-$(cmd)", spaces), and readline inserts a candidate as it is, to be
# run on Enter. (Its own quoting, -o filenames, leaves a ')' bare.) The
# part before the last ':' goes when bash treats ':' as a word break; a
# directory gets its '/' and no space after it.
_shmx_reply()
{
	local cur=$1 c pre= q
	shift
	[[ $cur == *:* && $COMP_WORDBREAKS == *:* ]] && pre=${cur%"${cur##*:}"}
	for c in "$@"; do
		[[ $c == "$cur"* ]] || continue
		[[ $c == ?*/* || $c == ./* ]] && [ -d "$c" ] && c=${c%/}/
		printf -v q '%q' "${c#"$pre"}"
		COMPREPLY+=("$q")
	done
	[ ${#COMPREPLY[@]} = 1 ] && [[ ${COMPREPLY[0]} == */ ]] && compopt -o nospace 2>/dev/null
	return 0
}

complete -F _shmx shmx
