#!/usr/bin/env bash
# Certificates through the real client: cert import for a contact and a
# citizen (checked like contact update --cert, refusals naming the reason),
# cert list and cert expiring with the organisation's own certificate, who
# may do and see what, and the warnings about readers that cannot decrypt
# a contact's mail (EC keys, AES-GCM). The weekly notice is tested in
# tests/unit/test_certnotice.c. The dev PKI's certificates are valid for two
# years, so "expiring within 800 days" holds all of them.
. "$(dirname "$0")/../lib.sh"
PKI=$TDIR/pki
"$ROOT/certs/make-dev-certs.sh" "$PKI" >/dev/null
"$ROOT/certs/make-dev-certs.sh" "$PKI" lise.testesen@privat.example >/dev/null
KIP_EXTRA_CONF="smime = { cert = \"$PKI/org.pem\"; key = \"$PKI/org.key\"; };"
kip_config
kip_start

coord() { as daemon "$KIPCTL" "$@"; } # Karen, coordinator
peter() { as bin "$KIPCTL" "$@"; }    # Peter, professional
json() { kipctl --json "$@"; }
# The certificates where the test users can read them (the PKI is 0700).
mkdir -m 0755 "$TDIR/certs"
cp "$PKI"/*.pem "$TDIR/certs/" && chmod 0644 "$TDIR"/certs/*.pem
pem() { echo "$TDIR/certs/$1.pem"; }

# The network: Karen coordinates a plan for Bjarne with Peter and Lise.
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example)
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example)
J=$(add --name "Jonas Job" --email jonas.job@jobcenter.example)
N=$(add --name "Nina Nomail" --email nina@kommune.example)
C=$(coord --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7" --phone 1 --email borger@borger.example | jq -r .id)
coord consent give "$C" --scope plan --date 2026-01-02 --document "J.nr. 1" >/dev/null
coord consent give "$C" --scope relatives --date 2026-01-02 --document "J.nr. 2" >/dev/null
L=$(coord --json contact add --kind relative --name "Lise Testesen" --citizen "$C" \
	--email lise.testesen@privat.example | jq -r .id)
S=$(coord --json contact add --kind supporter --name "Sune Støtte" --citizen "$C" | jq -r .id)
PLAN=$(coord --json plan create "$C" --basis psych-patient | jq -r .id)
for m in "$P" "$L"; do coord plan member add "$PLAN" "$m" >/dev/null; done
# Another citizen, registered by the admin: Karen has no access to her.
D=$(json citizen add --name "Dorte Anden" --cpr 010150-5123 --address "Vej 2" \
	--phone 2 --email borger@borger.example | jq -r .id)
check_out "the network is set up" "^[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+$" \
	echo "$K $P $C $L $PLAN $D"

# --- cert import -----------------------------------------------------------
out=$(coord --json cert import --file "$(pem karen.koordinator_at_kommune.example)" --contact "$K")
check_eq "a coordinator imports a professional's certificate" \
	"contact $K karen.koordinator@kommune.example" "$(jq -r '"\(.kind) \(.id) \(.email)"' <<<"$out")"
fp=$(jq -r .fingerprint <<<"$out")
na=$(jq -r .not_after <<<"$out")
stored=$(json contact show "$K")
check_eq "the contact row holds its fingerprint, address and expiry" \
	"$fp karen.koordinator@kommune.example $na" \
	"$(jq -r '"\(.cert_fingerprint) \(.cert_email) \(.cert_not_after)"' <<<"$stored")"
check_out "the expiry is a UTC time" "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" echo "$na"
check_out "a citizen's certificate is imported" '"kind": "citizen"' \
	coord --json cert import --file "$(pem borger_at_borger.example)" --citizen "$C"
check_out "the citizen row holds it" '"cert_email": "borger@borger.example"' \
	coord --json citizen show "$C"
check_out "a relative's certificate is imported with consent" "\"id\": $L" \
	coord --json cert import --file "$(pem lise.testesen_at_privat.example)" --contact "$L"
check "Jonas's certificate is imported" \
	kipctl cert import --file "$(pem jonas.job_at_jobcenter.example)" --contact "$J"

check_err "a certificate for another address is refused" \
	"certificate is for someone.else@region.example, not for peter.psykiatri@region.example" \
	coord cert import --file "$(pem wrongaddr)" --contact "$P"
check_err "an expired certificate is refused" "certificate expired on 2021-01-01" \
	coord cert import --file "$(pem expired)" --contact "$P"
check_err "a certificate not yet valid is refused" "not valid yet" \
	coord cert import --file "$(pem notyet)" --contact "$P"
NP=$(add --name "Nora Noprotect" --email noprotect@region.example)
check_err "a certificate without emailProtection is refused" "lacks the emailProtection" \
	coord cert import --file "$(pem noprotect)" --contact "$NP"
echo "not a certificate" >"$TDIR/junk.pem"
check_err "a file that is no certificate is refused" "not a PEM certificate" \
	coord cert import --file "$TDIR/junk.pem" --contact "$P"
check_err "a contact without an address gets none" "contact $S has no e-mail address" \
	coord cert import --file "$(pem borger_at_borger.example)" --contact "$S"
check_err "contact and citizen together are refused" "exactly one of 'contact' and 'citizen'" \
	coord cert import --file "$(pem borger_at_borger.example)" --contact "$K" --citizen "$C"
check_err "neither is refused" "exactly one of 'contact' and 'citizen'" \
	coord cert import --file "$(pem borger_at_borger.example)"
check_err "an unknown contact" "contact not found" \
	coord cert import --file "$(pem borger_at_borger.example)" --contact 999
check_eq "Peter still has no certificate" "null" \
	"$(json contact show "$P" | jq -r .cert_fingerprint)"

# --- access ------------------------------------------------------------------
check_err "a professional may not import (role)" "cert.import needs the role coordinator; you are professional" \
	peter cert import --file "$(pem peter.psykiatri_at_region.example)" --contact "$P"
check_err "a professional may not list" "cert.list needs the role coordinator" peter cert list
check_err "a professional may not ask what expires" "cert.expiring needs the role coordinator" \
	peter cert expiring --days 30
check_err "a coordinator without access to a citizen may not import for her" \
	"not a member of any plan of citizen $D" \
	coord cert import --file "$(pem borger_at_borger.example)" --citizen "$D"
check "an admin may" kipctl cert import --file "$(pem borger_at_borger.example)" --citizen "$D"
check "a coordinator imports for a professional outside her plans" \
	coord cert import --file "$(pem peter.psykiatri_at_region.example)" --contact "$P"

# --- cert list -------------------------------------------------------------------
kinds() { jq -r '[.certificates[] | "\(.kind):\(.id)"] | join(" ")'; }
all=$(json cert list)
check_eq "the admin sees every certificate, the organisation's first" \
	"organisation:0 professional:$K professional:$P professional:$J citizen:$C citizen:$D relative:$L" \
	"$(kinds <<<"$all")"
org=$(jq -c '.certificates[0]' <<<"$all")
check_eq "the organisation's certificate: name, address, fingerprint" \
	"Testkommune kip@kommune.example $(openssl x509 -in "$PKI/org.pem" -noout -fingerprint -sha256 | cut -d= -f2)" \
	"$(jq -r '"\(.name) \(.email) \(.fingerprint)"' <<<"$org")"
want=$(( ($(date -d "$(openssl x509 -in "$PKI/org.pem" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
check_eq "days_left counts whole days to the expiry" "$want" "$(jq -r .days_left <<<"$org")"
mine=$(coord --json cert list)
aud=$(json audit --citizen "$C")
check_eq "listing a citizen's and a relative's certificates is audited" "2" \
	"$(jq '[.entries[] | select(.action == "cert.list" and .os_user == "daemon")] | length' <<<"$aud")"
check_eq "a coordinator sees professionals and the citizens she has access to" \
	"organisation:0 professional:$K professional:$P professional:$J citizen:$C relative:$L" \
	"$(kinds <<<"$mine")"
check_out "each row has name, email, fingerprint, not_after, days_left" \
	"^Lise Testesen lise.testesen@privat.example ([0-9A-F]{2}:){31}[0-9A-F]{2} 20[0-9-]{8}T[0-9:]{8}Z [0-9]+$" \
	jq -r '.certificates[] | select(.kind == "relative") | "\(.name) \(.email) \(.fingerprint) \(.not_after) \(.days_left)"' <<<"$mine"
check_out "the readable list" "kip@kommune.example" coord cert list

# --- cert expiring ------------------------------------------------------------
check_eq "nothing expires within 30 days" "" \
	"$(json cert expiring --days 30 | kinds)"
e=$(json cert expiring --days 800)
check_eq "within 800 days: all seven" 7 "$(jq '.certificates | length' <<<"$e")"
check_eq "the reply names the days asked for" 800 "$(jq .days <<<"$e")"
check_eq "ordered by expiry" "true" \
	"$(jq '[.certificates[].not_after] | . == sort' <<<"$e")"
check_err "days must be a number" "integer" kipctl cert expiring --days soon
check_err "days has an upper bound" "days must be 0..36500" kipctl cert expiring --days 99999

# A certificate that has expired since it was imported (kipd stopped).
kip_stop
sqlite3 "$TDIR/kip.db" "UPDATE contacts SET cert_not_after = '2021-01-01T00:00:00Z' WHERE id = $J"
kip_start
e=$(json cert expiring --days 0)
check_eq "an expired certificate is among those expiring" "professional:$J" "$(kinds <<<"$e")"
check_out "with days_left below zero" "^-[0-9]+$" jq -r '.certificates[0].days_left' <<<"$e"
check_eq "and first when ordered by expiry" "professional:$J" \
	"$(json cert expiring --days 800 | jq -r '.certificates[0] | "\(.kind):\(.id)"')"

# --- relatives are hidden without consent -------------------------------------
coord consent withdraw "$C" --scope relatives --date 2026-01-03 >/dev/null
check_eq "a relative's certificate is not listed after withdrawal" "" \
	"$(json cert list | jq -r '.certificates[] | select(.kind == "relative") | .id')"
check_err "nor can it be replaced" "rule consent-relatives" \
	coord cert import --file "$(pem lise.testesen_at_privat.example)" --contact "$L"

# --- what readers can open ------------------------------------------------------
# NSS 3.87 (Thunderbird) and gpgsm 2.2.40 decrypt neither ECDH nor AES-GCM:
# contact add, show and update and cert import say so in "warnings" (always
# there, [] when nothing to say); kipctl prints them as "warning: ..." lines
# on standard error.
ECW="^the certificate's key is EC: mail is encrypted to it by ECDH, which Thunderbird \(NSS 3\.87\) and gpgsm 2\.2\.40 cannot decrypt; OpenSSL and Bouncy Castle can$"
GCMW="^cipher policy gcm: encrypted mail is AES-GCM, which Thunderbird \(NSS 3\.87\) and gpgsm 2\.2\.40 cannot decrypt; OpenSSL and Bouncy Castle can$"
ANNW="^cipher policy auto, and their own signed mail announced AES-GCM: encrypted mail is AES-GCM, which Thunderbird \(NSS 3\.87\) and gpgsm 2\.2\.40 cannot decrypt; OpenSSL and Bouncy Castle can$"
# split CMD...: CMD's standard output in $TDIR/out, its standard error in
# $TDIR/err; fails when CMD does.
split() { "$@" >"$TDIR/out" 2>"$TDIR/err"; }
# warnings: the "warnings" of the JSON on stdin, one a line; "none" for [].
warnings() { jq -r 'if .warnings == [] then "none" else .warnings[] end'; }

check "contact add with an EC certificate, readable" split kipctl contact add \
	--kind professional --name "Erik EC" --email ec.recipient@region.example \
	--cert "$(pem ec_recipient)"
E=$(sed -n 's/^id: *//p' "$TDIR/out")
check_out "the result is on standard output" "^[0-9]+$" echo "$E"
check_out "the EC warning is one line on standard error" "^warning: ${ECW#^}" cat "$TDIR/err"
check_eq "and nothing else is" 1 "$(wc -l <"$TDIR/err")"
check_eq "standard output has no warning" "" "$(grep -i warning "$TDIR/out")"
check_out "contact show --json: the EC warning" "$ECW" warnings < <(json contact show "$E")
check_eq "and only it" 1 "$(json contact show "$E" | jq '.warnings | length')"
check "contact show, readable" split kipctl contact show "$E"
check_out "the contact on standard output" "^name: +Erik EC$" cat "$TDIR/out"
check_out "the EC warning on standard error" "^warning: ${ECW#^}" cat "$TDIR/err"
check_eq "no warnings line among the fields" "" "$(grep -i warning "$TDIR/out")"
ec2=$(json contact add --kind supporter --name "Eva EC" --citizen "$C" \
	--email ec.recipient@region.example --cert "$(pem ec_recipient)")
check_out "contact add --json: the EC warning" "$ECW" warnings <<<"$ec2"

G=$(json contact add --kind professional --name "Gitte GCM" \
	--email gitte@region.example --cipher gcm)
check_out "contact add --cipher gcm: the GCM warning" "$GCMW" warnings <<<"$G"
G=$(jq -r .id <<<"$G")
check "contact show of it, readable" split kipctl contact show "$G"
check_out "the GCM warning on standard error" "^warning: ${GCMW#^}" cat "$TDIR/err"
check_out "contact show --json of it" "$GCMW" warnings < <(json contact show "$G")
check_eq "an RSA contact with policy auto, no GCM announced: []" "none" \
	"$(json contact show "$K" | warnings)"
check "contact show of it, readable" split kipctl contact show "$K"
check_eq "no warning on standard error" "" "$(cat "$TDIR/err")"
B=$(json contact add --kind professional --name "Bent CBC" --cipher cbc \
	--email jonas.job@kommune.example)
check_eq "contact add --cipher cbc: []" "none" "$(warnings <<<"$B")"
B=$(jq -r .id <<<"$B")
check_out "contact update --cipher gcm: the GCM warning" "$GCMW" \
	warnings < <(json contact update "$K" --cipher gcm)
check "contact update, readable" split kipctl contact update "$K" --cipher gcm
check_out "the GCM warning on standard error" "^warning: ${GCMW#^}" cat "$TDIR/err"
check_eq "contact update --cipher cbc: []" "none" \
	"$(json contact update "$K" --cipher cbc | warnings)"
check_eq "an RSA contact with policy cbc shows none" "none" \
	"$(json contact show "$K" | warnings)"
check_eq "contact update --cipher gcm of the EC contact: both, the key first" \
	"EC GCM" "$(json contact update "$E" --cipher gcm | warnings |
		sed -E "s/$ECW/EC/; s/$GCMW/GCM/" | paste -sd ' ')"
EB=$(json contact add --kind supporter --name "Ebbe EC" --citizen "$C" \
	--email ec.recipient@region.example)
check_eq "a contact without a certificate, policy auto: []" "none" "$(warnings <<<"$EB")"
check_out "cert import of an EC certificate: the EC warning" "$ECW" \
	warnings < <(coord --json cert import --file "$(pem ec_recipient)" --contact "$(jq .id <<<"$EB")")
check_eq "cert import of an RSA certificate: []" "none" \
	"$(coord --json cert import --file "$(pem karen.koordinator_at_kommune.example)" --contact "$K" | warnings)"
check_eq "a citizen's RSA certificate: []" "none" \
	"$(coord --json cert import --file "$(pem borger_at_borger.example)" --citizen "$C" | warnings)"

# auto uses GCM for a contact whose signed mail announced it (intake.c
# learns it; here it is set directly): that contact's warning says why.
kip_stop
sqlite3 "$TDIR/kip.db" "UPDATE contacts SET caps_gcm = 1 WHERE id IN ($P, $B)"
kip_start
check_out "policy auto, GCM announced: the GCM warning says why" "$ANNW" \
	warnings < <(json contact show "$P")
check_eq "policy cbc, GCM announced: none" "none" "$(json contact show "$B" | warnings)"
# With smime.allow_gcm = false kipd sends no AES-GCM, and says nothing of it.
kip_stop
KIP_EXTRA_CONF="smime = { cert = \"$PKI/org.pem\"; key = \"$PKI/org.key\"; allow_gcm = false; };"
kip_config
kip_start
check_eq "without allow_gcm, policy gcm: none" "none" "$(json contact show "$G" | warnings)"
check_eq "without allow_gcm, GCM announced: none" "none" "$(json contact show "$P" | warnings)"
check_out "an EC key is still named" "$ECW" warnings < <(json contact show "$E")
check_alive
t_done
