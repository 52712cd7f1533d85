#!/usr/bin/env bash
# tests/lint.sh — the habits CODE_STYLE.md states, checked rather than
# remembered: the sources are as clang-format leaves them (make format),
# and none calls a function the style bans. Prints "ok"/"not ok" lines and
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
T_PASS=0
T_FAIL=0
pass() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/    # /'; }

# The files make format formats (the Makefile prints them).
mapfile -t files < <(make -s --no-print-directory format-files)
if [ ${#files[@]} -lt 50 ]; then
	fail "make format-files lists the sources" "got ${#files[@]} files"
elif ! command -v clang-format >/dev/null; then
	fail "clang-format is installed (tests/deps.sh installs it)"
else
	out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1)
	[ -z "$out" ] && pass "make format leaves the ${#files[@]} sources unchanged" ||
		fail "make format leaves the sources unchanged (run make format)" \
			"$(grep -E '^[^ ].*(error|warning):' <<<"$out" | cut -d: -f1 | sort | uniq -c | head -20)"
fi

# Banned: unbounded or unchecked string and number conversions.
banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets)[[:space:]]*\('
hits=$(grep -nE "$banned" daemon/*.[ch] inmail/*.[ch] client/*.[ch] common/*.[ch] |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*)')
[ -z "$hits" ] && pass "no source calls strcpy, strcat, sprintf, strtok, atoi or gets" ||
	fail "no source calls a banned function" "$hits"
# The check itself can find one.
printf 'int f(char *d) { strcpy(d, "x"); return atoi(d); }\n' >"${TMPDIR:-/tmp}/kip-lint-probe.c"
grep -qE "$banned" "${TMPDIR:-/tmp}/kip-lint-probe.c" && pass "the banned-call check finds a call" ||
	fail "the banned-call check finds a call"
rm -f "${TMPDIR:-/tmp}/kip-lint-probe.c"

echo "$T_PASS passed, $T_FAIL failed"
[ "$T_FAIL" -eq 0 ]
