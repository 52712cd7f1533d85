#!/usr/bin/env bash
# Layout: the rules of the file layout that a tool can check. No include
# cycle and no call cycle among daemon/'s files (each file's dependencies
# run one way); only daemon/outbox.c writes the outbox tables; every
# control command's handler is written out, in a daemon/cmd_*.c.
#
# Needs the objects of a build (make, or BUILD= as for the other tests),
# binutils (nm, objdump) and coreutils (tsort); no kipd runs. Alone:
#   make && bash tests/integration/t_layout.sh
# LAYOUT_GRAPH=1 prints both graphs as "from to what" lines first.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
OBJ=$BUILD_DIR/daemon

# --- the graphs -------------------------------------------------------------

# "from to file:header": module FROM includes daemon/HEADER of module TO,
# in FILE. A module is daemon/x.c with daemon/x.h, except that the file
# with main() (kipd.c) is one of its own: nothing depends on it, and
# kipd.h is the header of the daemon's shared state, not kipd.c's. Quoted
# includes only; one that names no file in daemon/ (log.h, inmail.h) leads
# out of daemon/ and is no edge here.
include_edges() {
	awk -v files="$(ls daemon)" -v mains="$(grep -l '^int main(' daemon/*.c)" '
		function mod(f) {
			sub(/.*\//, "", f)
			if (f in main)
				return f
			sub(/\.[ch]$/, "", f)
			return f
		}
		BEGIN {
			n = split(files, l, "\n")
			for (i = 1; i <= n; i++) here[l[i]] = 1
			n = split(mains, l, "\n")
			for (i = 1; i <= n; i++) { sub(/.*\//, "", l[i]); main[l[i]] = 1 }
		}
		/^[ \t]*#[ \t]*include[ \t]+"/ {
			h = $0
			sub(/^[^"]*"/, "", h)
			sub(/".*/, "", h)
			f = FILENAME
			sub(/.*\//, "", f)
			if ((h in here) && mod(f) != mod(h))
				print mod(f), mod(h), f ":" h
		}' daemon/*.[ch] | sort -u
}

# "from to function": FROM.c calls FUNCTION, which TO.c defines. A call is
# what a call or jump instruction's relocation names (x86-64 R_X86_64_PLT32,
# aarch64 CALL26/JUMP26). A function whose address is taken (a table entry
# such as cmd.c's commands[], a callback handed to a lower module, the wakes
# kipd.c lists for txn.c) is not a call: that is how a lower file reaches
# an upper one without a cycle.
call_edges() {
	local o f
	for o in $OBJECTS; do
		f=$(basename "$o" .o).c
		objdump -r "$o" | awk -v f="$f" '
			/^RELOCATION RECORDS FOR/ { text = ($4 ~ /^\[\.text/) }
			text && $2 ~ /(PLT32|CALL26|JUMP26)$/ {
				s = $3; sub(/[-+]0x[0-9a-f]+$/, "", s); print s, f
			}'
	done | sort -u | awk -v defs="$DEFS" '
		BEGIN {
			n = split(defs, l, "\n")
			for (i = 1; i <= n; i++) { split(l[i], d, " "); def[d[1]] = d[2] }
		}
		($1 in def) && def[$1] != $2 { print $2, def[$1], $1 }' | sort -u
}

# Reads "from to what" lines; prints each cycle tsort finds as
# "a -> b (what) -> c (what) -> a (what)", or nothing when there is none.
cycles() {
	local edges loops
	edges=$(cat)
	loops=$(awk '{ print $1, $2 }' <<<"$edges" | tsort 2>&1 >/dev/null)
	[ -n "$loops" ] || return 0
	awk -v edges="$edges" '
		BEGIN {
			n = split(edges, l, "\n")
			for (i = 1; i <= n; i++) {
				split(l[i], e, " ")
				k = e[1] " " e[2]
				what[k] = what[k] == "" ? e[3] : what[k] " " e[3]
			}
		}
		function flush(   i, s) {
			if (!m) return
			s = mem[1]
			for (i = 2; i <= m; i++)
				s = s " -> " mem[i] " (" what[mem[i-1] " " mem[i]] ")"
			print s " -> " mem[1] " (" what[mem[m] " " mem[1]] ")"
			m = 0
		}
		/input contains a loop/ { flush(); next }
		{ sub(/^tsort: /, ""); mem[++m] = $0 }
		END { flush() }' <<<"$loops" | awk '!seen[$0]++'
}

for tool in git nm objdump tsort; do
	if ! command -v "$tool" >/dev/null; then
		fail "$tool is installed (binutils, coreutils, git)"
		t_done
		exit
	fi
done
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	fail "$ROOT is a git work tree (the checks below use git grep)"
	t_done
	exit
fi

# The objects of daemon/'s sources, and "function file" for what each
# defines.
OBJECTS=
MISSING=
for f in daemon/*.c; do
	o=$OBJ/$(basename "$f" .c).o
	if [ -f "$o" ] && [ ! "$o" -ot "$f" ]; then OBJECTS+="$o "; else MISSING+="$f "; fi
done
if [ -n "$MISSING" ]; then
	fail "every daemon/ source has a current object in $OBJ (make BUILD=$BUILD first)" \
		"missing or older than its source: $MISSING"
	t_done
	exit
fi
DEFS=$(for o in $OBJECTS; do
	nm -g --defined-only "$o" | awk -v f="$(basename "$o" .o).c" 'NF == 3 { print $3, f }'
done)
INCLUDES=$(include_edges)
CALLS=$(call_edges)
if [ "${LAYOUT_GRAPH:-}" = 1 ]; then
	printf '# includes\n%s\n# calls\n%s\n' "$INCLUDES" "$CALLS"
fi

if [ -z "$INCLUDES" ]; then
	fail "no include cycle among daemon/'s files" "no include found"
elif out=$(cycles <<<"$INCLUDES") && [ -z "$out" ]; then
	pass "no include cycle among daemon/'s files ($(wc -l <<<"$INCLUDES") includes)"
else
	fail "no include cycle among daemon/'s files" "$out"
fi

if [ -z "$CALLS" ]; then
	fail "no call cycle among daemon/'s files" \
		"no call found in $OBJ (not a build, or an architecture whose call relocations this script does not know)"
elif out=$(cycles <<<"$CALLS") && [ -z "$out" ]; then
	pass "no call cycle among daemon/'s files ($(wc -l <<<"$CALLS") calls)"
else
	fail "no call cycle among daemon/'s files" "$out"
fi

# --- the outbox tables ------------------------------------------------------

# Only outbox.c writes outbox, outbox_body, outbox_entity and outbox_sealed.
# (schema.c's migration to schema 5, which copies the rows into the rebuilt
# table, splits that statement's literal so as not to be mistaken for one.)
out=$(git grep --untracked -nIE '(INSERT INTO|UPDATE|DELETE FROM) +outbox' -- . \
	':(exclude)tests/integration/t_layout.sh' |
	grep -v '^daemon/outbox\.c:')
if [ -z "$out" ]; then
	pass "only daemon/outbox.c writes the outbox tables"
else
	fail "only daemon/outbox.c writes the outbox tables" "$out"
fi

# --- the handlers -----------------------------------------------------------

out=$(git grep --untracked -nF 'HANDLER(' -- '*.c' '*.h')
if [ -z "$out" ]; then
	pass "no HANDLER( in the sources: every handler's name is written out"
else
	fail "no HANDLER( in the sources: every handler's name is written out" \
		"$(wc -l <<<"$out") left, e.g.:
$out"
fi

# The handlers are the functions daemon/cmd.c's command table names
# ({ "name", cmd_..., ...). Each is defined (nm says where) in a
# daemon/cmd_*.c, and written out there, so that grep finds it:
# "int cmd_plan_approve(struct cmd_ctx *c)".
HANDLERS=$(tr '\n' ' ' <daemon/cmd.c |
	grep -oE '\{[[:space:]]*"[a-z.]+",[[:space:]]*cmd_[a-z0-9_]+' |
	grep -oE 'cmd_[a-z0-9_]+$' | sort -u)
out=
for h in $HANDLERS; do
	where=$(awk -v h="$h" '$1 == h { print "daemon/" $2 }' <<<"$DEFS")
	case $where in
	daemon/cmd_*.c) ;;
	'') out+="$h: not defined in any object of $OBJ"$'\n'; continue ;;
	*) out+="$h: defined in $where"$'\n'; continue ;;
	esac
	grep -qE "^int $h\(struct cmd_ctx \*[a-z_]+\)\$" "$where" ||
		out+="$h: $where does not spell out 'int $h(struct cmd_ctx *c)'"$'\n'
done
if [ -z "$HANDLERS" ]; then
	fail "every handler is in a daemon/cmd_*.c" "no command table found in daemon/cmd.c"
elif [ -z "$out" ]; then
	pass "every handler is in a daemon/cmd_*.c ($(wc -w <<<"$HANDLERS") handlers)"
else
	fail "every handler is in a daemon/cmd_*.c" "$out"
fi

t_done
