# bash completion for petra                                    -*- shell-script -*-
#
# Installed as share/bash-completion/completions/petra. The verbs and their
# options come from the installed petra's own --help (read once per shell),
# so the completion cannot fall behind the program. Image names come from
# `petra images -q` (in the store --root or $PETRA_ROOT names), container
# names from `petra ps -a`.

# The verbs: the "Commands:" section of `petra --help`.
_petra_verbs() {
	"$1" --help 2>/dev/null | awk '
		/^Commands:/ { on = 1; next }
		on && /^$/ { exit }
		on { print $1 }'
}

# Every long and short option of a help text ("  -d, --detach", "  --rm").
_petra_options() {
	awk '/^ +-/ {
		for (i = 1; i <= NF; i++) {
			w = $i
			sub(/,$/, "", w)
			if (w ~ /^--?[A-Za-z0-9]/) { sub(/[=\[].*/, "", w); print w }
			else break
			if ($(i + 1) !~ /^-/) break
		}
	}'
}

_petra() {
	local cur prev words cword
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	local petra=${words[0]}
	[[ $petra == */* || $(type -t "$petra") == file ]] || petra=petra

	# Global options (and their arguments) come before the verb.
	local i verb="" root=()
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--root | --log-level)
			[[ ${words[i]} == --root ]] && root=(--root "${words[i + 1]}")
			((i++))
			;;
		-*) ;;
		*)
			verb=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $verb ]]; then
		case $prev in
		--root)
			mapfile -t COMPREPLY < <(compgen -d -- "$cur")
			return
			;;
		--log-level)
			mapfile -t COMPREPLY < <(compgen -W "error warn info debug" -- "$cur")
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$("$petra" --help 2>/dev/null | _petra_options)" -- "$cur")
		else
			[[ -n ${_petra_verb_cache-} ]] || _petra_verb_cache=$(_petra_verbs "$petra")
			mapfile -t COMPREPLY < <(compgen -W "$_petra_verb_cache" -- "$cur")
		fi
		return
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$("$petra" "$verb" --help 2>/dev/null | _petra_options)" -- "$cur")
		return
	fi
	case $prev in
	--format)
		mapfile -t COMPREPLY < <(compgen -W "text json sarif checkstyle junit" -- "$cur")
		return
		;;
	--network)
		mapfile -t COMPREPLY < <(compgen -W "none host" -- "$cur")
		return
		;;
	--filter)
		# derived-from= takes an image name: the store's, after the "=".
		if [[ $cur == derived-from=* ]]; then
			mapfile -t COMPREPLY < <(compgen -P derived-from= -W \
				"$("$petra" "${root[@]}" images -q 2>/dev/null)" -- "${cur#derived-from=}")
		elif [[ $verb == images ]]; then
			mapfile -t COMPREPLY < <(compgen -W "derived-from=" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "image= base= derived-from= label= name= id=" -- "$cur")
		fi
		compopt -o nospace 2>/dev/null
		return
		;;
	--derived-from)
		mapfile -t COMPREPLY < <(compgen -W "$("$petra" "${root[@]}" images -q 2>/dev/null)" -- "$cur")
		return
		;;
	--emit)
		mapfile -t COMPREPLY < <(compgen -W "kubernetes" -- "$cur")
		return
		;;
	--from-plan | --policy | -o | --output | --file | -f | --secret | -v | --volume | --kubernetes)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	esac
	local names=""
	case $verb in
	run | inspect | history | lineage | tag | rmi | export | unpack | audit | harden | test | bundle | verify)
		names=$("$petra" "${root[@]}" images -q 2>/dev/null)
		;;
	ps | logs | stop | kill | start | restart | rm | exec | diff | top)
		names=$("$petra" "${root[@]}" ps -a --format json 2>/dev/null |
			sed -n 's/^ *"name": "\(.*\)",$/\1/p')
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur"; compgen -f -- "$cur")
} && complete -o filenames -F _petra petra
