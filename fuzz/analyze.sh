#!/usr/bin/env bash
# analyze.sh — GCC's static analyzer (-fanalyzer) over kip's C sources.
#
#   fuzz/analyze.sh OUTDIR FILE.c...      (make analyze; flags in $ANALYZE_CFLAGS)
#
# Compiles each file with -fanalyzer (objects discarded) and lists every
# finding as "file:line: function: -Wanalyzer-kind: message". A finding is
# justified when docs/HARDENING.md has a row of its "Justified findings"
# table naming the same file, function and kind:
#   | daemon/config.c | set_defaults | -Wanalyzer-null-dereference | why |
# The match is on function and kind rather than line, so that the
# justification survives edits elsewhere in the file but never covers
# another function. Prints one result per file and per finding, and
# "N passed, N failed": a file passes with no unjustified finding.
set -u
cd "$(dirname "$0")/.."
export LC_ALL=C # plain quotes in GCC's messages

out=${1:?output directory}
shift
mkdir -p "$out"
CC=${ANALYZE_CC:-gcc}
read -r -a flags <<<"${ANALYZE_CFLAGS:-}"
justified=$(grep -E '^\| *[a-z]+/[A-Za-z0-9_]+\.c *\| *[A-Za-z0-9_]+ *\| *-Wanalyzer-' \
	docs/HARDENING.md 2>/dev/null |
	awk -F'|' '{gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4);
		print $2 ":" $3 ":" $4}')
pass=0
failed=0
used=()

for src in "$@"; do
	log=$out/$(echo "$src" | tr / _).log
	if ! "$CC" "${flags[@]}" -fanalyzer -fdiagnostics-plain-output \
		-c -o /dev/null "$src" >"$log" 2>&1; then
		echo "not ok - $src: does not compile"
		sed 's/^/    # /' "$log" | head -20
		failed=$((failed + 1))
		continue
	fi
	# "file: In function 'f':" precedes the function's findings.
	findings=$(awk '
		/: In function / { fn = $0; sub(/.*In function .?/, "", fn); sub(/.:$/, "", fn) }
		/: warning: .*\[-Wanalyzer-[a-z-]+\]$/ {
			kind = $0; sub(/.*\[/, "", kind); sub(/\]$/, "", kind)
			split($0, p, ":"); msg = $0; sub(/.*warning: /, "", msg); sub(/ \[.*$/, "", msg)
			print p[1] ":" p[2] "\t" fn "\t" kind "\t" msg
		}' "$log")
	bad=0
	while IFS=$'\t' read -r where fn kind msg; do
		[ -n "$where" ] || continue
		key="${where%%:*}:$fn:$kind"
		if grep -qxF -- "$key" <<<"$justified"; then
			echo "  justified: $where: $fn: $kind: $msg"
			used+=("$key")
		else
			echo "not ok - $where: $fn: $kind: $msg"
			bad=$((bad + 1))
		fi
	done <<<"$findings"
	if [ "$bad" -eq 0 ]; then
		echo "ok - $src"
		pass=$((pass + 1))
	else
		failed=$((failed + bad))
	fi
done
# A justification whose finding is gone is stale: say so, do not fail.
while read -r key; do
	[ -n "$key" ] || continue
	printf '%s\n' "${used[@]:-}" | grep -qxF -- "$key" ||
		echo "  note: docs/HARDENING.md justifies $key, which no longer occurs"
done <<<"$justified"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
