#!/usr/bin/env bash
# Organisation certificates against real servers (Postfix, Dovecot): an
# administrator registers a certificate for a mail domain; mail to a
# professional at exactly that domain without a usable personal certificate
# is encrypted to it (and opens with the organisation's key alone), a
# personal certificate wins, a sub-domain, a private mailbox and a relative
# do not match; refusals at add (another domain, expired, malformed, not an
# admin); one that expires after it was added is not used; removal; plan
# status; inbound signatures by it counted only with --accept-signatures.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

INTAKE="intake = { url = \"imaps://localhost:$IMAPS_PORT/INBOX\";
  username = \"$IMAP_USER\"; password_file = \"$IMAP_PASSWORD_FILE\";
  ca_file = \"$PKI/ca.pem\"; interval_s = 3600; timeout_s = $((10 * KIP_TEST_SLOW)); };"
mail_conf "$NODSN_URL" "$INTAKE"
kip_start

coord() { as daemon "$KIPCTL" "$@"; } # Karen, coordinator
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
ORG=$PKI/orgdomain.pem

# --- registering: the refusals, then region.example -----------------------
check_err "a coordinator may not register an organisation certificate" "admin" \
	coord cert domain add region.example --cert "$ORG"
check_err "a domain with a local part is refused" "without a local part" \
	kipctl cert domain add postkasse@region.example --cert "$ORG"
check_err "a domain of one label is refused" "at least two labels" \
	kipctl cert domain add example --cert "$ORG"
check_err "a domain with a bad character is refused" "character 7 is not a letter" \
	kipctl cert domain add region_x.example --cert "$ORG"
check_err "a certificate for another domain is refused" \
	"organisation certificate for jobcenter.example: certificate is for region.example, not for jobcenter.example" \
	kipctl cert domain add jobcenter.example --cert "$ORG"
check_err "a certificate for the parent domain is refused for a sub-domain" \
	"not for a.region.example" \
	kipctl cert domain add a.region.example --cert "$ORG"
check_err "an expired organisation certificate is refused" "certificate expired on 2021-01-01" \
	kipctl cert domain add region.example --cert "$PKI/orgexpired.pem"
check_err "one without emailProtection is refused" "emailProtection" \
	kipctl cert domain add region.example --cert "$PKI/noprotect.pem"
check_err "a revoked one is refused" "region.example: certificate revoked" \
	kipctl cert domain add region.example --cert "$PKI/revoked.pem"
check_eq "nothing was registered by the refusals" "0" "$(kipctl --json cert domain list | jq '.domains | length')"
check_out "the administrator registers region.example (any case)" '"domain": "region.example"' \
	kipctl --json cert domain add Region.Example --cert "$ORG"
list=$(coord --json cert domain list)
check_eq "a coordinator sees it listed, not accepted for signatures" "region.example false" \
	"$(jq -r '.domains[0] | "\(.domain) \(.accept_signatures)"' <<<"$list")"
check_eq "with its fingerprint" "$(openssl x509 -in "$ORG" -noout -fingerprint -sha256 | cut -d= -f2)" \
	"$(jq -r '.domains[0].fingerprint' <<<"$list")"
check_eq "cert list and cert expiring show it beside the others" "domain region.example domain region.example" \
	"$(coord --json cert list | jq -r '.certificates[] | select(.kind == "domain") | "\(.kind) \(.name)"') $(coord --json cert expiring --days 800 | jq -r '.certificates[] | select(.kind == "domain") | "\(.kind) \(.name)"')"

# A domain certificate valid now that expires before the plan goes out:
# issued here by the development CA (a copy of its database) for kort.example.
mkdir -p "$TDIR/ca"
cp -r "$PKI/ca.pem" "$PKI/ca.key" "$PKI/ca-db" "$TDIR/ca/"
(cd "$TDIR/ca" && openssl req -config ca-db/openssl.cnf -new -newkey rsa:2048 -nodes \
	-keyout short.key -subj "/CN=Kort Postkasse (test)" -out short.csr 2>/dev/null &&
	printf '[ext]\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = DNS:kort.example\n' >ext.cnf &&
	openssl ca -config ca-db/openssl.cnf -batch -notext -extfile ext.cnf -extensions ext \
		-in short.csr -out short.pem -enddate "$(date -u -d "+$((6 * KIP_TEST_SLOW)) seconds" +%Y%m%d%H%M%SZ)" \
		>/dev/null 2>&1)
short_until=$(($(date +%s) + 6 * KIP_TEST_SLOW + 1))
check_out "a certificate that is still valid is registered for kort.example" '"domain": "kort.example"' \
	kipctl --json cert domain add kort.example --cert "$TDIR/ca/short.pem"

# --- the network ------------------------------------------------------------
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem")
R=$(add --name "Rita Region" --email Rita.Region@REGION.example)
S=$(add --name "Sune Sub" --email sune.sub@a.region.example)
F=$(add --name "Frida Fritid" --email frida.fritid@region.example --mailbox private)
T=$(add --name "Tove Kort" --email tove.kort@kort.example)
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
kipctl consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 1" >/dev/null
L=$(kipctl --json contact add --kind relative --name "Lise Testesen" --citizen "$C" \
	--email lise.testesen@region.example | jq -r .id)
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$R" "$S" "$F" "$T" "$L"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null

while [ "$(date +%s)" -le "$short_until" ]; do sleep 0.5; done
check_out "the plan is approved and distributed" '"recipients"' \
	kipctl --json plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01
outbox_drained "$PLAN" && pass "the outbox drains" || fail "the outbox drains"
status=$(kipctl --json plan status "$PLAN")
row() { jq -r --arg n "$1" --arg k "$2" '.messages[] | select(.name == $n and .kind == $k) | '"$3" <<<"$status"; }
check_eq "Rita (no personal certificate) gets the plan encrypted to region.example's" \
	"sent region.example" "$(row "Rita Region" plan '"\(.state) \(.cert_domain)"')"
check_eq "plan status says so" "sent (organisation certificate region.example)" \
	"$(row "Rita Region" plan .status)"
check_out "and in its readable view" "region.example +sent \(organisation certificate" \
	kipctl plan status "$PLAN"
mailto() { kipctl --json contact show "$1" | jq -r .mail; }
check_eq "contact show says how a plan reaches Rita" \
	"encrypted to the organisation certificate of region.example" "$(mailto "$R")"
check_eq "... and Peter, whose own certificate wins" "encrypted to the personal certificate" "$(mailto "$P")"
check_eq "... and Sune, at a sub-domain" "manual delivery and a neutral notice (no certificate)" "$(mailto "$S")"
check_eq "... and Frida, a private mailbox at the domain" \
	"manual delivery and a neutral notice (no certificate)" "$(mailto "$F")"
check_eq "Rita gets no neutral notice instead" "" "$(row "Rita Region" notice .state)"
check_eq "Peter's personal certificate wins" "sent null sent" \
	"$(row "Peter Psykiatri" plan '"\(.state) \(.cert_domain) \(.status)"')"
check_eq "a member at a sub-domain does not match" "manual no certificate" \
	"$(row "Sune Sub" plan '"\(.state) \(.reason)"')"
check_eq "a professional's private mailbox does not match" "manual no certificate" \
	"$(row "Frida Fritid" plan '"\(.state) \(.reason)"')"
check_eq "a relative at the domain does not match" "manual no certificate" \
	"$(row "Lise Testesen" plan '"\(.state) \(.reason)"')"
check_eq "a domain certificate that expired after it was added is not used" \
	"manual no certificate null" "$(row "Tove Kort" plan '"\(.state) \(.reason) \(.cert_domain)"')"

# Every kind of message takes the same way: a meeting's details too.
MF=$(kipctl --json meeting schedule "$PLAN" --start "2030-03-05 10:00" --place "Rådhuset" | jq -r .id)
outbox_drained "$PLAN" || fail "the invitations drain"
status=$(kipctl --json plan status "$PLAN")
check_eq "the meeting's details go to Rita encrypted to region.example's certificate" \
	"sent region.example" "$(row "Rita Region" invitation-details '"\(.state) \(.cert_domain)"')"
check_eq "and Peter's to his own" "sent null" \
	"$(row "Peter Psykiatri" invitation-details '"\(.state) \(.cert_domain)"')"

# Read back: Rita's mail opens with the organisation's key, and only that.
mail_wait_count rita.region@region.example 3 20 || fail "Rita's mail arrives"
f=$(newest rita.region@region.example "Koordinerende indsatsplan")
decrypt "$f" "$ORG" "$PKI/orgdomain.key" | grep -q "agorafobi" &&
	pass "Rita's plan decrypts with region.example's key and verifies" ||
	fail "Rita's plan decrypts with region.example's key and verifies" "$(tail -5 "$TDIR/verify.err")"
for who in peter.psykiatri_at_region.example org; do
	out=$(openssl cms -decrypt -in "$f" -recip "$PKI/$who.pem" -inkey "$PKI/$who.key" 2>&1) &&
		fail "Rita's plan does not open with $who's key" "$out" ||
		pass "Rita's plan does not open with $who's key"
done
check_out "it is encrypted to exactly one recipient" "^1$" \
	bash -c "openssl smime -pk7out -in '$f' | openssl pkcs7 -print 2>/dev/null | grep -c 'issuer_and_serial'"
f=$(newest peter.psykiatri@region.example "Koordinerende indsatsplan")
decrypt "$f" "$PKI/peter.psykiatri_at_region.example.pem" \
	"$PKI/peter.psykiatri_at_region.example.key" | grep -q "agorafobi" &&
	pass "Peter's plan opens with his own key" || fail "Peter's plan opens with his own key"
openssl cms -decrypt -in "$f" -recip "$ORG" -inkey "$PKI/orgdomain.key" >/dev/null 2>&1 &&
	fail "Peter's plan does not open with the organisation's key" ||
	pass "Peter's plan does not open with the organisation's key"

# --- inbound: a report signed with the organisation certificate -------------
KIP=kip@kommune.example
mk() { python3 "$ROOT/tests/mkmail.py" "$@"; }
quarantined() { kipctl --json intake quarantine --limit 1000 | jq -r --arg r "$1" '[.quarantine[] | select(.reason == $r)] | length'; }
deviations() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM deviations WHERE channel = 'mail'"; }
printf 'Mål: 1\nIndsats: 1\n\nBjarne kom ikke til samtalen i uge 46.\n' >"$TDIR/report.txt"
SUBJ="Re: Koordinerende indsatsplan - ref KIP-$PLAN"
mk signed rita.region@region.example "$SUBJ" "$TDIR/report.txt" "$ORG" "$PKI/orgdomain.key" \
	--message-id org-1@region.example >"$TDIR/org1.eml"
mk signed sune.sub@a.region.example "$SUBJ" "$TDIR/report.txt" "$ORG" "$PKI/orgdomain.key" \
	--message-id org-sub@region.example >"$TDIR/orgsub.eml"
# A reply to the invitation, the calendar object alone, signed at Rita's
# gateway: counted only when the domain's signatures are accepted.
UID_="kip-meeting-$MF@kommune.example"
mk reply rita.region@region.example "$UID_" 0 ACCEPTED --message-id org-reply-1@region.example \
	--sign "$ORG" "$PKI/orgdomain.key" >"$TDIR/orgreply1.eml"
answer() {
	kipctl --json meeting show "$MF" | jq -r --argjson c "$R" '[.replies[] | select(.contact_id == $c) | .answer] | join(",")'
}
mail_deliver "$KIP" "$TDIR/org1.eml"
mail_deliver "$KIP" "$TDIR/orgsub.eml"
mail_deliver "$KIP" "$TDIR/orgreply1.eml"
run_intake >/dev/null
check_eq "without it Rita's reply signed by the organisation is not taken" "" "$(answer)"
check_eq "it is quarantined as organisation-signer too" "2" "$(quarantined organisation-signer)"
check_eq "without --accept-signatures the report is not recorded" "0" "$(deviations)"
check_out "with a reason that says what to do" "not accepted for signatures \(kipctl cert domain add --accept-signatures\)" \
	jq -r '.quarantine[] | select(.reason == "organisation-signer") | .detail' \
	<<<"$(kipctl --json intake quarantine)"
check_eq "a member at a sub-domain is not its signer" "1" "$(quarantined signer-not-sender)"

check_out "the administrator accepts its signatures (replacing the entry)" '"replaced": true' \
	kipctl --json cert domain add region.example --cert "$ORG" --accept-signatures
mk signed rita.region@region.example "$SUBJ" "$TDIR/report.txt" "$ORG" "$PKI/orgdomain.key" \
	--message-id org-2@region.example >"$TDIR/org2.eml"
mk signed rita.region@region.example "$SUBJ" "$TDIR/report.txt" "$PKI/wrongaddr.pem" \
	"$PKI/wrongaddr.key" --message-id colleague@region.example >"$TDIR/colleague.eml"
mk reply rita.region@region.example "$UID_" 0 DECLINED --message-id org-reply-2@region.example \
	--sign "$ORG" "$PKI/orgdomain.key" >"$TDIR/orgreply2.eml"
mail_deliver "$KIP" "$TDIR/org2.eml"
mail_deliver "$KIP" "$TDIR/colleague.eml"
mail_deliver "$KIP" "$TDIR/orgreply2.eml"
run_intake >/dev/null
check_eq "now the report signed by it is recorded" "1" "$(deviations)"
check_eq "and Rita's reply signed by it is taken as a reply" "declined" "$(answer)"
check_eq "not as a report without a goal" "0" "$(quarantined no-goal)"
D=$(sqlite3 "$TDIR/kip.db" "SELECT id FROM deviations WHERE source_id = 'org-2@region.example'")
show=$(kipctl --json deviation show "$D")
check_eq "as Rita's, by mail" "$R mail" "$(jq -r '"\(.reporter_id) \(.channel)"' <<<"$show")"
check_out "the verification names the organisation certificate" "organisation certificate of the From address's domain" \
	jq -r .verification <<<"$show"
check_eq "a colleague's certificate at the domain is still not the sender's" "2" "$(quarantined signer-not-sender)"
check_eq "the organisation certificate is never learnt as Rita's own" "" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT cert_fingerprint FROM contacts WHERE id = $R")"

# --- removal ----------------------------------------------------------------
# A copy queued for the organisation certificate while the relay is away
# does not leave with it once it was removed.
kip_stop
mail_conf "smtp://localhost:1" "$INTAKE"
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
check_err "a coordinator may not remove it" "admin" coord cert domain remove region.example
check_out "the administrator removes it" '"removed": true' kipctl --json cert domain remove region.example
kip_stop
mail_conf "$NODSN_URL" "$INTAKE"
kip_start
outbox_drained "$PLAN" || fail "the outbox drains after the relay is back"
check_eq "the copy queued for it before the removal needs manual delivery" \
	"manual certificate no longer the organisation certificate of region.example when the message was to be sent" \
	"$(kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.name == "Rita Region" and .kind == "plan")] | last | "\(.state) \(.reason)"')"
check_err "removing it twice says there is none" "no organisation certificate is registered for region.example" \
	kipctl cert domain remove region.example
check_eq "the audit trail has the add, the replacement and the removal" \
	"cert.domain.add domain:region.example,cert.domain.add domain:region.example,cert.domain.remove domain:region.example" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT group_concat(action || ' ' || object) FROM (SELECT action, object FROM audit WHERE action LIKE 'cert.domain.%' AND object = 'domain:region.example' AND outcome = 'ok' ORDER BY id)")"
kipctl plan distribute "$PLAN" --version 1 >/dev/null
outbox_drained "$PLAN" || fail "the outbox drains again"
check_eq "after removal Rita's next copy needs manual delivery" "manual no certificate" \
	"$(kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.name == "Rita Region" and .kind == "plan")] | last | "\(.state) \(.reason)"')"
check_eq "and the first copy still shows how it went" "sent (organisation certificate region.example)" \
	"$(kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.name == "Rita Region" and .kind == "plan")] | first | .status')"
check_alive
t_done
