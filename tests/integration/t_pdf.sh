#!/usr/bin/env bash
# The plan as a PDF: kipctl plan render/export --format pdf, and the PDF a
# distributed plan carries beside its text and HTML, checked with the real
# tools: qpdf --check, pdffonts (every font embedded), pdfinfo (A4),
# pdftotext (the words of the text rendering, Danish letters right, the
# check boxes as ticked) and a page rendered to an image that is not
# blank. pdftotext -raw: in the order drawn, and words broken at a
# hyphen at a line's end are left as they are. The YAML document goes along only with mail.attach_document.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/clock_lib.sh"

mail_conf "$POSTFIX_URL"
kip_start

add() { kipctl --json contact add "$@" | jq -r .id; }
K=$(add --kind professional --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --kind professional --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem" --title "Overlæge" \
	--organisation "Psykiatrisk Center Testby")
C=$(kipctl --json citizen add --name "Bjørn Ærøsen" --cpr 290256-5417 \
	--address "Åvej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
kipctl plan member add "$PLAN" "$P" >/dev/null
M=$(kipctl --json meeting schedule "$PLAN" --start "$(kdate -d "+10 days" "+%Y-%m-%d 10:00")" \
	--place "Rådhuset, lokale 3" | jq -r .id)
sed "s/^follow_up: .*/follow_up: $(kdate -d "+3 months" +%Y-%m-%d)/" "$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/plan.yaml" >/dev/null

# words FILE: the words of a rendering, one a line, sorted and unique;
# the text's check boxes written as the PDF's, page numbers left out.
words() {
	python3 - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
t = t.replace("[X]", "\u2612").replace("[ ]", "\u2610")
t = "\n".join(l for l in t.split("\n") if not re.fullmatch(r"\s*\d+\s*", l.replace("\f", "")))
for w in sorted(set(re.findall(r"\w+|[\u2610\u2612]", t))):
    print(w)
EOF
}
# pdf_checks NAME FILE: the checks every PDF of the plan passes.
pdf_checks() {
	local name=$1 f=$2 txt
	check "$name: qpdf --check passes" qpdf --check "$f"
	check_out "$name: the page size is A4" "Page size: +595\.2[0-9]* x 841\.89 pts \(A4\)" pdfinfo "$f"
	# pdffonts: a header of two lines, then one line per font, "emb" the
	# 5th column from the end.
	check_eq "$name: every font is embedded" "yes" \
		"$(pdffonts "$f" | awk 'NR > 2 { n++; if ($(NF-4) != "yes") bad++ } END { print (n && !bad) ? "yes" : "no" }')"
	check_out "$name: the font is DejaVu Sans" "DejaVuSans" pdffonts "$f"
	pdftotext -raw -enc UTF-8 "$f" "$TDIR/pdf.txt"
	words "$TDIR/pdf.txt" >"$TDIR/pdf.words"
	words "$TDIR/text.txt" >"$TDIR/text.words"
	check "$name: pdftotext gives the words of the text rendering" \
		test -s "$TDIR/pdf.words" -a "$(wc -l <"$TDIR/pdf.words")" -gt 100
	check "$name: the same words, none missing and none more" \
		diff "$TDIR/text.words" "$TDIR/pdf.words"
	check_out "$name: Danish letters are right" "Bjørn Ærøsen" cat "$TDIR/pdf.txt"
	check_out "$name: æøå in the labels" "Opfølgning" cat "$TDIR/pdf.txt"
	check_eq "$name: the ticked boxes of the text are ticked" \
		"$(grep -o '\[X\]' "$TDIR/text.txt" | wc -l)" "$(grep -o '☒' "$TDIR/pdf.txt" | wc -l)"
	check_eq "$name: the empty boxes of the text are empty" \
		"$(grep -o '\[ \]' "$TDIR/text.txt" | wc -l)" "$(grep -o '☐' "$TDIR/pdf.txt" | wc -l)"
	rm -f "$TDIR"/page*.pgm
	pdftoppm -gray -r 50 -f 1 -l 1 "$f" "$TDIR/page"
	check_eq "$name: the first page is drawn (dark pixels)" "yes" "$(python3 - "$TDIR"/page*.pgm <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
# P5 header: magic, width, height, maxval, each ended by white space.
parts, pos = [], 0
while len(parts) < 4:
    while d[pos:pos + 1].isspace(): pos += 1
    end = pos
    while not d[end:end + 1].isspace(): end += 1
    parts.append(d[pos:end]); pos = end
pix = d[pos + 1:]
dark = sum(1 for b in pix if b < 128)
print("yes" if parts[0] == b"P5" and dark > 2000 and dark < len(pix) // 2 else "no %d" % dark)
EOF
)"
	# KIP_PDF_LOOK=DIR keeps the PDF and its first page as PNG to look at.
	if [ -n "${KIP_PDF_LOOK:-}" ]; then
		cp "$f" "$KIP_PDF_LOOK/${name// /-}.pdf"
		pdftoppm -png -r 50 -f 1 -l 1 "$f" "$KIP_PDF_LOOK/${name// /-}"
	fi
}

kipctl plan render "$PLAN" --format text >"$TDIR/text.txt"
kipctl plan render "$PLAN" --format pdf --output "$TDIR/render.pdf"
check_out "plan render --format pdf writes a PDF" "PDF document" file "$TDIR/render.pdf"
pdf_checks "plan render" "$TDIR/render.pdf"
kipctl plan render "$PLAN" --format pdf >"$TDIR/stdout.pdf"
check "plan render --format pdf to standard output is the same PDF's size" \
	test "$(stat -c %s "$TDIR/stdout.pdf")" -gt 10000
kipctl plan export "$PLAN" --format pdf --output "$TDIR/export.pdf"
check "plan export --format pdf passes qpdf --check" qpdf --check "$TDIR/export.pdf"
kipctl plan render "$PLAN" --format text --lang en >"$TDIR/text.txt"
kipctl plan render "$PLAN" --format pdf --lang en --output "$TDIR/en.pdf"
check_out "in English too" "Coordinated action plan" pdftotext "$TDIR/en.pdf" -
words "$TDIR/text.txt" >"$TDIR/text.words"
pdftotext -raw -enc UTF-8 "$TDIR/en.pdf" "$TDIR/en.txt"
words "$TDIR/en.txt" >"$TDIR/pdf.words"
check "the English PDF has the words of the English text" diff "$TDIR/text.words" "$TDIR/pdf.words"
check_err "an unknown format is refused" "format" kipctl plan render "$PLAN" --format docx
check_alive

# Distributed: the PDF beside the text and HTML, no YAML by default.
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2026-11-02 >/dev/null
kipctl plan distribute "$PLAN" --version 1 >/dev/null
outbox_drained "$PLAN" 600 && pass "the outbox drains" || fail "the outbox drains"
mail_wait_count peter.psykiatri@region.example 1 30 || true
f=$(newest peter.psykiatri@region.example "" enveloped-data)
bash "$SRV/smime-verify.sh" "$f" "$PKI/peter.psykiatri_at_region.example.pem" \
	"$PKI/peter.psykiatri_at_region.example.key" "$PKI/ca.pem" >"$TDIR/inner.eml" 2>>"$TDIR/verify.err"
types=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/inner.eml" types)
check_out "the plan mail has a text part" "text/plain" echo "$types"
check_out "the plan mail has an HTML part" "text/html" echo "$types"
check_out "the plan mail has a PDF part" "application/pdf" echo "$types"
grep -q yaml <<<"$types" && fail "no YAML document unless configured" "$types" ||
	pass "no YAML document unless configured"
check_eq "its file name names no person" "indsatsplan-KIP-$PLAN-v1.pdf" \
	"$(python3 "$ROOT/tests/mailpart.py" "$TDIR/inner.eml" save application/pdf "$TDIR/mail.pdf")"
kipctl plan render "$PLAN" --format text >"$TDIR/text.txt"
pdf_checks "the mailed PDF" "$TDIR/mail.pdf"

# distribute_again: distributes version 1 again and prints the types of
# the parts Peter's newest mail decrypts to.
distribute_again() {
	local n0 f
	mail_settled || true
	n0=$(count peter.psykiatri@region.example)
	kipctl plan distribute "$PLAN" --version 1 >/dev/null
	outbox_drained "$PLAN" 600 || true
	mail_wait_count peter.psykiatri@region.example $((n0 + 1)) 30 >/dev/null || true
	f=$(ls -t $(mail_files peter.psykiatri@region.example) | head -1)
	bash "$SRV/smime-verify.sh" "$f" "$PKI/peter.psykiatri_at_region.example.pem" \
		"$PKI/peter.psykiatri_at_region.example.key" "$PKI/ca.pem" 2>>"$TDIR/verify.err" |
		python3 "$ROOT/tests/mailpart.py" - types
}

# With mail.attach_document the YAML goes along for re-import.
kip_stop
mail_conf "$POSTFIX_URL" 'mail = { attach_document = true; };'
kip_start
types=$(distribute_again)
check_out "with mail.attach_document the YAML document goes along" "application/yaml" echo "$types"
check_out "and the PDF still" "application/pdf" echo "$types"

# A missing font is a clear error, and kipd keeps running.
kip_stop
mail_conf "$POSTFIX_URL" "plans = { pdf_font_dir = \"$TDIR/nofonts\"; };"
kip_start
check_err "a missing font is a clear error" "DejaVuSans.ttf cannot be read" \
	kipctl plan render "$PLAN" --format pdf --output "$TDIR/x.pdf"
check_alive
# A distribution still goes, as text and HTML, and the log says why
# without the PDF.
types=$(distribute_again)
check_out "without fonts the plan is still distributed" "multipart/mixed" echo "$types"
check_out "as text and HTML" "text/html" echo "$types"
grep -q pdf <<<"$types" && fail "and without the PDF" "$types" || pass "and without the PDF"
check_out "the log says why" "goes without its PDF: font .*DejaVuSans.ttf cannot be read" cat "$TDIR/kipd.log"

# An upgrade replaces kipd's executable on disk while it runs: its helper
# is still the running executable, which reads the jobs it writes.
kip_stop
mail_conf "$POSTFIX_URL"
cp "$KIPD" "$TDIR/kipd-running"
KIPD_BUILT=$KIPD KIPD=$TDIR/kipd-running
kip_start
cp "$KIPD_BUILT" "$TDIR/kipd-new" && mv -f "$TDIR/kipd-new" "$TDIR/kipd-running"
check_out "kipd's executable is replaced under it" "kipd-running \(deleted\)" readlink "/proc/$KIPD_PID/exe"
rm -f "$TDIR/replaced.pdf"
kipctl plan render "$PLAN" --format pdf --output "$TDIR/replaced.pdf"
check_out "it still renders the PDF in its helper" "PDF document" file "$TDIR/replaced.pdf"
kip_stop
KIPD=$KIPD_BUILT
t_done
