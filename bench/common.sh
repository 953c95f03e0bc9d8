# Shared by the benchmarks. Data goes under bench/data (kept between runs:
# the tree is the same input for every tool).

BENCH_DIR=$(cd "$(dirname "$0")/.." && pwd)
DATA="${BENCH_DIR}/data"
mkdir -p "$DATA"

# A realistic tree of about $2 MB: the first files of /usr/lib in sorted
# order (libraries, many small files and some large ones), with their
# symlinks and modes.
make_tree() {
	local dir=$1 mb=$2
	[ -d "$dir" ] && return 0
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	find /usr/lib -xdev \( -type f -o -type l \) -size -64M -printf '%s %p\n' 2>/dev/null |
		LC_ALL=C sort -k2 >"$dir.list"
	awk -v budget=$((mb * 1024 * 1024)) '{ total += $1; if (total <= budget) print $2 }' \
		"$dir.list" >"$dir.files"
	tar -C / --no-recursion -T "$dir.files" -cf - 2>/dev/null | tar -C "$dir.tmp" -xf -
	rm -f "$dir.list" "$dir.files"
	mv "$dir.tmp" "$dir"
}

# "median_s FILE.json" -> median seconds of the first hyperfine result.
median_s() { jq -r '.results[0].median' "$1"; }
median_of() { jq -r --argjson i "$2" '.results[$i].median' "$1"; }

# Peak resident memory in kB of a command.
peak_kb() {
	/usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1
}

machine_line() {
	printf '%s, %s cores, %s, kernel %s' \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
		"$(nproc)" "$(free -g | awk '/Mem:/ { print $2 " GiB RAM" }')" "$(uname -r)"
}
