#!/usr/bin/env bash
# make demo's scenario (tests/demo.sh) on this build: README's first
# command must keep working, so CI runs it too and checks what it shows.
. "$(dirname "$0")/../lib.sh"
rel=${BUILD_DIR#"$ROOT"/}
out=$(cd "$ROOT" && bash tests/demo.sh "$rel" 2>&1)
rc=$?
demo=$(sed -n 's|.*database: \(/tmp/kip-demo\.[A-Za-z0-9]*\)/kip.db.*|\1|p' <<<"$out" | tail -1)
check_eq "the demo runs to its end (exit 0)" "0" "$rc"
for want in "Peter decrypts it with his key" "CMS Verification successful" \
	"got only a neutral notice" "No plan may be made before the citizen consents" \
	"The unsigned one is quarantined with its reason" \
	"lines in the log with the citizen's name, CPR, address or an e-mail address: 0" \
	"SUMMARY:Møde (ref. KIP-1)" "ORGANIZER;CN=\"Testkommune\"" "From: Testkommune <kip@kommune.example>" \
	"Subject: Invitation til møde – ref. KIP-1" "Subject: Invitation: koordinationsmøde – ref KIP-1"; do
	grep -qF "$want" <<<"$out" && pass "the demo shows: $want" ||
		fail "the demo shows: $want" "$(tail -30 <<<"$out")"
done
grep -qE "scanned [1-9][0-9]* messages, [0-9]+ parts: 0 hits" <<<"$out" &&
	pass "the demo scans what the relative received in clear: 0 hits" ||
	fail "the demo scans what the relative received in clear: 0 hits" "$(grep -n -A3 'scanned' <<<"$out")"
grep -q "Jonas's reminder (signed, neutral" <<<"$out" &&
	pass "the demo shows a reminder arriving" ||
	fail "the demo shows a reminder arriving" "$(grep -n 'reminder' <<<"$out")"
# Step 5b: the plan as PDF; step 6e: a relative's encrypted PDF, opened
# with the passphrase the coordinator was given, not without.
for want in "595.276 x 841.89 pts (A4), fonts embedded: " "(emb yes)" \
	"passphrase for Lise Testesen: " "| attached: KIP-1-3.pdf (AESv3, R6)" \
	"Without the passphrase it does not open" "Den ligger i den vedhæftede fil, som er beskyttet med en adgangskode"; do
	grep -qF -- "$want" <<<"$out" && pass "the demo shows: $want" ||
		fail "the demo shows: $want" "$(grep -n -i 'pdf' <<<"$out" | tail -20)"
done
n=$(sed -n '/6e\./,/== 6f/p' <<<"$out" | grep -cE "scanned 1 messages, [0-9]+ parts: 0 hits")
check_eq "the relative's PDF mail passes the clear-text scan, passphrase included" 1 "$n"
grep -qE "^ +\| (Koordinerende indsatsplan|Navn +Bjarne Testesen)" <<<"$(sed -n '/With the/,/What Lise received/p' <<<"$out")" &&
	pass "the decrypted PDF reads as the plan" ||
	fail "the decrypted PDF reads as the plan" "$(sed -n '/With the/,/What Lise received/p' <<<"$out")"
# Step 1: a professional's certificate found in the LDAP directory.
for want in "| cert_source: directory:ldaps://127.0.0.1:" "chosen: false  refused: certificate expired on"; do
	grep -qF -- "$want" <<<"$out" && pass "the demo shows: $want" ||
		fail "the demo shows: $want" "$(sed -n '/== 1\./,/== 2\./p' <<<"$out")"
done
# Step 6e/6f: a copy bounces after acceptance, the coordinator is told,
# the plan is handed over by hand and recorded, and a digest arrives.
for want in "| state sent, delivery bounced 5.1.1: mailbox unavailable" \
	"Karen is told, encrypted (outer subject: Levering fejlede – ref KIP-1)" \
	"| Til: Ulla Ukendt <ulla.ukendt@bounce.example>" \
	"| version 3: 5 leveret, 0 åbnet, 0 sendt, 1 afvist, 0 udleveret, 0 udestående" \
	"| version 3: 5 leveret, 0 åbnet, 0 sendt, 0 afvist, 1 udleveret, 0 udestående" \
	"Her digest arrives, encrypted (outer subject: Daglig oversigt" \
	"Skal udleveres manuelt siden" "(krypteret PDF sendt: giv adgangskoden over telefonen)"; do
	grep -qF -- "$want" <<<"$out" && pass "the demo shows: $want" ||
		fail "the demo shows: $want" "$(sed -n '/6e\./,/== 7\./p' <<<"$out" | tail -60)"
done
[ -n "$demo" ] && rm -rf "$demo"
t_done
