#!/usr/bin/env bash
# The man pages kipd(8), kipctl(1) and kipd.conf(5), which make builds into
# $BUILD/man from the programs' own tables: valid roff; every command of
# kipctl help, every option of kipd --help and every key of the effective
# configuration in them, word for word; kipd refuses to write kipd.conf(5)
# from an example that disagrees with the option table; make install-man
# puts them under share/man.
. "$(dirname "$0")/../lib.sh"

MAN=$BUILD_DIR/man
PAGES=(kipd.8 kipctl.1 kipd.conf.5)

# text PAGE: the page as plain text on one line, each run of blanks one
# space (no hyphenation: the pages say .nh).
text() {
	groff -man -Tascii -P-cbou -rLL=250n "$1" 2>/dev/null | tr -s ' \n' '  '
}

# entries: from a help text on stdin, each item starting at a line that
# matches START, joined with its indented continuation lines, blanks
# squeezed: "citizen show ID show a citizen".
entries() {
	awk -v start="$1" '
		$0 ~ start { if (e != "") print e; e = $0; next }
		/^      / && e != "" { e = e " " $0; next }
		{ if (e != "") print e; e = "" }
		END { if (e != "") print e }' | tr -s ' ' | sed 's/^ //'
}

# all_in DESC PAGE MIN: every line on stdin (at least MIN) occurs in
# PAGE's text.
all_in() {
	local desc=$1 page=$2 min=$3 t n=0 missing=""
	t=$(text "$MAN/$page")
	while IFS= read -r line; do
		n=$((n + 1))
		[[ $t == *"$line"* ]] || missing+="$line"$'\n'
	done
	if [ -z "$missing" ] && [ "$n" -ge "$min" ]; then pass "$desc ($n)"; else
		fail "$desc" "$n lines; not in $page: $missing"; fi
}

for p in "${PAGES[@]}"; do
	check "$p is built" test -s "$MAN/$p"
	check_eq "$p: groff -man -ww finds nothing to warn of" "" \
		"$(groff -man -ww -z "$MAN/$p" 2>&1)"
	if command -v man >/dev/null; then
		check_eq "$p: man --warnings finds nothing to warn of" "" \
			"$(LC_ALL=C MANWIDTH=80 man --warnings -l "$MAN/$p" 2>&1 >/dev/null)"
	fi
done

all_in "kipctl(1) shows every command of kipctl help, with its help" kipctl.1 40 \
	< <("$KIPCTL" help | sed -n '/^commands:/,/^options:/p' | entries '^  [a-z]')
all_in "kipctl(1) shows kipctl's options" kipctl.1 2 \
	< <("$KIPCTL" help | sed -n '/^options:/,/^$/p' | entries '^  -')
all_in "kipd(8) shows every option of kipd --help, with its help" kipd.8 5 \
	< <("$KIPD" --help | entries '^  -')

# The keys of the configuration, from the table's own printout: "KEY" for
# an unset key or a list, "KEY<tab>VALUE" for one set to its default.
cp "$ROOT/conf/kipd.conf" "$TDIR/example.conf"
chmod 0600 "$TDIR/example.conf"
"$KIPD" -n -v -c "$TDIR/example.conf" 2>/dev/null | awk '
	/^[a-z_]+ = \{$/ { g = $1 "."; next }
	/^};$/ { g = ""; next }
	/^\t# [a-z_]+: unset$/ { k = $2; print g substr(k, 1, length(k) - 1); next }
	/ = \($/ { sub(/^\t/, ""); print g $1; next }
	/^\t?[a-z_]+ = / { sub(/^\t/, ""); sub(/;$/, ""); k = $1;
		sub(/^[a-z_]+ = /, ""); print g k "\t" $0 }' >"$TDIR/keys"
# Each key has its tag, "KEY = TAKES, default VALUE" when it has a default.
T=$(text "$MAN/kipd.conf.5")
n=0 missing=""
while IFS=$'\t' read -r key value; do
	n=$((n + 1))
	rest=${T#*"$key = "}
	if [ "$rest" = "$T" ] ||
		{ [ -n "$value" ] && [[ ${rest#*", default "} != "$value"* ]]; }; then
		missing+="$key ${value:+(default $value)}"$'\n'
	fi
done <"$TDIR/keys"
if [ -z "$missing" ] && [ "$n" -ge 60 ]; then
	pass "kipd.conf(5) shows every key of the configuration, with its default ($n)"
else
	fail "kipd.conf(5) shows every key of the configuration" "$n keys; missing: $missing"
fi

# example EDIT: kipd --man 5 on conf/kipd.conf changed by the sed EDIT.
example() {
	sed "$1" "$ROOT/conf/kipd.conf" >"$TDIR/changed.conf"
	"$KIPD" --man 5 -c "$TDIR/changed.conf" >/dev/null
}
check_err "a key missing from the example is refused" \
	"control.max_clients is not shown" example '/^\tmax_clients = /d'
check_err "a default the example shows wrongly is refused" \
	"changed.conf:[0-9]+: control.max_clients shows 65, but its default is 64" \
	example 's/^\tmax_clients = 64;/\tmax_clients = 65;/'
check_err "a key the table does not know is refused" \
	"changed.conf:[0-9]+: control.max_bogus is not a key" \
	example 's/^\tmax_clients = 64;/&\n\tmax_bogus = 1;/'
check_err "a key without a comment is refused" \
	"changed.conf:[0-9]+: control.max_clients: no comment says what it is for" \
	example '/^\t# Simultaneous kipctl connections/d'
check_err "an unset key with a default is refused" \
	"changed.conf:[0-9]+: mqtt.port has a default" example 's/^\tport = 8883;/\t#port = 1883;/'

DEST=$TDIR/dest
check "make install-man installs the pages" \
	make -s --no-print-directory -C "$ROOT" BUILD="$BUILD_DIR" DESTDIR="$DEST" \
	PREFIX=/usr install-man
for p in man8/kipd.8 man1/kipctl.1 man5/kipd.conf.5; do
	check "$p is installed" cmp "$DEST/usr/share/man/$p" "$MAN/${p#*/}"
done
t_done
