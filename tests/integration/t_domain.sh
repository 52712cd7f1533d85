#!/usr/bin/env bash
# The domain through the real client: every rule of the guideline with an
# allowed and a refused case, certificates, roles, the plan document,
# rendering, and the audit trail.
. "$(dirname "$0")/../lib.sh"
PKI=$TDIR/pki
"$ROOT/certs/make-dev-certs.sh" "$PKI" >/dev/null
kip_start

coord() { as daemon "$KIPCTL" "$@"; } # Karen, coordinator
peter() { as bin "$KIPCTL" "$@"; }    # Peter, professional (psychiatry)
jonas() { as sys "$KIPCTL" "$@"; }    # Jonas, professional (job centre)
json() { kipctl --json "$@"; }

# --- the network: professionals, with certificates checked ---------------
K=$(json contact add --kind professional --name "Karen Koordinator" \
	--title Koordinator --organisation "Testkommune, Socialpsykiatri" \
	--email karen.koordinator@kommune.example --phone "+45 11 11 22 22" \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem" | jq -r .id)
P=$(json contact add --kind professional --name "Peter Psykiatri" \
	--title Overlæge --organisation "Region Test, Distriktspsykiatrien" \
	--email peter.psykiatri@region.example --phone "+45 33 33 44 44" | jq -r .id)
J=$(json contact add --kind professional --name "Jonas Job" \
	--title Sagsbehandler --organisation "Testkommune, Jobcenter" \
	--email jonas.job@jobcenter.example | jq -r .id)
check_out "professionals are added" "^[0-9]+ [0-9]+ [0-9]+$" echo "$K $P $J"
check_out "a good certificate is stored with its fingerprint" "cert_fingerprint: +[0-9A-F]{2}:" \
	kipctl contact show "$K"
check_err "an expired certificate is refused" "certificate expired on 2021-01-01" \
	kipctl contact add --kind professional --name X --email expired@region.example \
	--cert "$PKI/expired.pem"
check_err "a certificate for another address is refused" \
	"certificate is for someone.else@region.example, not for x@region.example" \
	kipctl contact add --kind professional --name X --email x@region.example --cert "$PKI/wrongaddr.pem"
check_err "a certificate without emailProtection is refused" "lacks the emailProtection" \
	kipctl contact add --kind professional --name X --email noprotect@region.example \
	--cert "$PKI/noprotect.pem"
echo "not a certificate" >"$TDIR/junk.pem"
check_err "a file that is no certificate is refused" "not a PEM certificate" \
	kipctl contact add --kind professional --name X --email y@region.example --cert "$TDIR/junk.pem"
check_err "a duplicate professional address is refused" "already exists" \
	kipctl contact add --kind professional --name X --email Peter.Psykiatri@region.example
check_alive "kipd serves after bad certificates"
T=$(json contact add --kind professional --name "Tina Test" --email tina.test@kommune.example \
	--cert "$PKI/wrongaddr.pem" 2>/dev/null | jq -r .id)
json contact add --kind professional --name "Sam Skift" --email someone.else@region.example \
	--cert "$PKI/wrongaddr.pem" >"$TDIR/sam.json"
S=$(jq -r .id "$TDIR/sam.json")
kipctl contact update "$S" --email sam.skift@region.example >/dev/null
check_out "a new address without a new certificate drops the old certificate" \
	'"cert_fingerprint": null' kipctl --json contact show "$S"
check_eq "a certificate for another address never got stored" "" "${T/null/}"

# --- citizens: CPR numbers (fictional: dates of birth in the 2050s) -------
check_err "a CPR number with no real date is refused" "not a real date" \
	coord citizen add --name "Ole Test" --cpr 320150-5123 --address "Testvej 1" --phone 1
check_err "29 February of a common year is refused" "not a real date" \
	coord citizen add --name "Ole Test" --cpr 290255-5123 --address "Testvej 1" --phone 1
check_err "a CPR number without the dash is refused" "DDMMYY-SSSS" \
	coord citizen add --name "Ole Test" --cpr 0101505123 --address "Testvej 1" --phone 1
C=$(coord --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
check_out "a coordinator registers a citizen (29 Feb 2056 is real)" "^[0-9]+$" echo "$C"
check_err "the same CPR number twice is refused" "already registered" \
	coord citizen add --name "Other" --cpr 290256-5417 --address X --phone 1

# --- rule: consent before any plan ---------------------------------------
check_err "rule consent: no plan without consent" "rule consent: .*has not consented" \
	coord plan create "$C" --basis psych-patient
check_err "rule consent: consent needs a reference to the signed document" "missing argument 'document'" \
	coord consent give "$C" --scope plan --date 2026-11-01
check_err "rule consent: no relatives consent before plan consent" "rule consent" \
	coord consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 1"
check "consent to exchange and plan is recorded" \
	coord consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 2026-4711"

# --- rule: basis flags ---------------------------------------------------
check_err "rule basis: one of the first two flags is needed" "rule basis" \
	coord plan create "$C" --basis psych-need,substance-need
PLAN=$(coord --json plan create "$C" --basis psych-patient,substance-need | jq -r .id)
check_out "rule basis: a plan with psych-patient is created" "^[0-9]+$" echo "$PLAN"
check_out "the creating coordinator is the plan's coordinator" "coordinator_id: +$K" \
	coord plan show "$PLAN"

# --- roles and membership ------------------------------------------------
check_err "a professional outside the plan cannot read it" "not a member of plan $PLAN.*forbidden" \
	peter plan show "$PLAN"
check_err "a professional outside the plan cannot read the citizen" "forbidden" \
	peter citizen show "$C"
check "the coordinator adds Peter" coord plan member add "$PLAN" "$P"
check_out "a member professional reads the plan" "citizen_name: +Bjarne Testesen" \
	peter plan show "$PLAN"
check_err "a professional may not change membership" "needs the role coordinator" \
	peter plan member add "$PLAN" "$J"

# --- rule: relatives only with consent to involve them --------------------
check_err "rule consent-relatives: no relative without consent" "rule consent-relatives" \
	coord contact add --kind relative --name "Lise Testesen" --citizen "$C" --phone "+45 30 30 30 30"
check "consent to involve relatives is recorded" \
	coord consent give "$C" --scope relatives --date 2026-11-02 --document "J.nr. 2026-4712"
R=$(coord --json contact add --kind relative --name "Lise Testesen" --citizen "$C" \
	--phone "+45 30 30 30 30" | jq -r .id)
check_out "rule consent-relatives: a relative is added with consent" "^[0-9]+$" echo "$R"
check "a relative joins the plan" coord plan member add "$PLAN" "$R"
check "relatives consent is withdrawn" \
	coord consent withdraw "$C" --scope relatives --date 2026-11-03
check_err "rule consent-relatives: the relative's details are hidden after withdrawal" \
	"rule consent-relatives.*withdrawn on 2026-11-03" coord contact show "$R"
check "a relative can leave the plan after withdrawal" coord plan member remove "$PLAN" "$R"
check_err "rule consent-relatives: a relative cannot join after withdrawal" "rule consent-relatives" \
	coord plan member add "$PLAN" "$R"
check_err "rule consent-relatives: no new relative after withdrawal" "rule consent-relatives" \
	coord contact add --kind relative --name "Bo Testesen" --citizen "$C"

# --- meetings ------------------------------------------------------------
M0=$(coord --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --duration 90 \
	--place "Rådhuset, mødelokale 2" --phone "+45 70 70 70 70" | jq -r .id)
check_out "a meeting is scheduled" "^[0-9]+$" echo "$M0"
check_err "a meeting needs a place, video or phone" "needs a place" \
	coord meeting schedule "$PLAN" --start "2026-12-01 10:00"
check_err "a meeting time must be real" "not a real time" \
	coord meeting schedule "$PLAN" --start "2026-02-30 10:00" --place X
check_err "attendance only for members" "rule network: contact $J is not a member" \
	coord meeting attendance "$M0" --apologies "$J"
check "attendance and apologies are recorded" \
	coord meeting attendance "$M0" --present "$K,$P" --citizen present
check "the past meeting is marked held" coord meeting held "$M0"
MF=$(coord --json meeting schedule "$PLAN" --start "2030-01-10 09:00" --video "https://video.example/room" | jq -r .id)
check_err "a future meeting cannot be marked held" "starts in the future" coord meeting held "$MF"
check_out "a meeting is moved and its sequence bumped" "sequence: +1" \
	sh -c "$KIPCTL meeting move $MF --start '2030-01-11 09:00' >/dev/null && $KIPCTL meeting show $MF"
check_out "a meeting is cancelled" "status: +cancelled" \
	sh -c "$KIPCTL meeting cancel $MF --reason 'Flyttet' >/dev/null && $KIPCTL meeting show $MF"
check_err "a cancelled meeting cannot move" "is cancelled" \
	coord meeting move "$MF" --start "2030-01-12 09:00"

# --- the plan document: Bilag 2 fixture, bad documents --------------------
check_err "a document with a syntax error names the line" "plan document: line [0-9]+" \
	coord plan version add "$PLAN" --file "$FIXTURES/bad_syntax.yaml"
check_err "a document with an unknown key names it" "line [0-9]+: unknown key" \
	coord plan version add "$PLAN" --file "$FIXTURES/bad_unknown_key.yaml"
check_err "a document with an impossible date is refused" "line [0-9]+:.*2014-02-30" \
	coord plan version add "$PLAN" --file "$FIXTURES/bad_date.yaml"
V1=$(coord --json plan version add "$PLAN" --meeting "$M0" --file "$FIXTURES/bilag2.yaml" | jq -r .version)
check_eq "rule follow-up: Bilag 2 (meeting 1.5.2014, follow-up 1.10.2014) is stored" "1" "$V1"

# --- rule: follow-up at most six months after the meeting -----------------
sed 's/^follow_up: .*/follow_up: 2014-11-02/' "$FIXTURES/bilag2.yaml" >"$TDIR/late.yaml"
check_err "rule follow-up: more than six months is refused" \
	"rule follow-up: .*2014-11-02 is more than 6 months after the meeting of 2014-05-01.*2014-11-01" \
	coord plan version add "$PLAN" --meeting "$M0" --file "$TDIR/late.yaml"
sed 's/^follow_up: .*/follow_up: 2014-11-01/' "$FIXTURES/bilag2.yaml" >"$TDIR/edge.yaml"
check_out "rule follow-up: exactly six months is allowed" "version: +2" \
	coord plan version add "$PLAN" --meeting "$M0" --file "$TDIR/edge.yaml"
sed 's/^follow_up: .*/follow_up: 2014-04-30/' "$FIXTURES/bilag2.yaml" >"$TDIR/early.yaml"
check_err "rule follow-up: a follow-up before the meeting is refused" "must be after the meeting" \
	coord plan version add "$PLAN" --meeting "$M0" --file "$TDIR/early.yaml"
check_err "rule meeting: a version cannot belong to a cancelled meeting" "was cancelled" \
	coord plan version add "$PLAN" --meeting "$MF" --file "$FIXTURES/bilag2.yaml"

# --- export, re-import, diff, edit ----------------------------------------
kipctl plan export "$PLAN" --version 1 --output "$TDIR/export.yaml"
check "export of a version is byte-identical to what was stored" cmp "$FIXTURES/bilag2.yaml" "$TDIR/export.yaml"
V3=$(json plan version add "$PLAN" --meeting "$M0" --file "$TDIR/export.yaml" | jq -r .version)
check_eq "the export re-imports as a new version" "3" "$V3"
check_eq "the re-imported version has no differences" "0" \
	"$(json plan diff "$PLAN" --from 1 --to 3 | jq -r .changes)"
check_out "diff names the changed field" "~ follow_up: 2014-10-01 -> 2014-11-01" \
	kipctl plan diff "$PLAN" --from 1 --to 2
cat >"$TDIR/editor.sh" <<'ED'
#!/bin/sh
sed -i 's/^follow_up: .*/follow_up: 2014-09-15/' "$1"
ED
chmod 0755 "$TDIR/editor.sh"
check_out "plan edit stores the edited document as a new version" "version 4" \
	env EDITOR="$TDIR/editor.sh" "$KIPCTL" plan edit "$PLAN"
check_out "the edited version carries the edit" "follow_up: +2014-09-15" \
	kipctl plan version show "$PLAN" --version 4

# --- rule: the coordinator is a member ------------------------------------
check_err "rule coordinator: a non-member cannot coordinate" "rule coordinator: .*must be a member" \
	coord plan coordinator "$PLAN" "$J"
check "Jonas joins the plan" coord plan member add "$PLAN" "$J"
check "rule coordinator: a member professional can coordinate" coord plan coordinator "$PLAN" "$J"
check_err "rule coordinator: the coordinator cannot be removed" "rule coordinator: .*choose another" \
	coord plan member remove "$PLAN" "$J"
check_err "rule coordinator: a relative cannot coordinate" "rule coordinator: .*must be a professional" \
	kipctl plan coordinator "$PLAN" "$R"
check "the coordinator role goes back to Karen" coord plan coordinator "$PLAN" "$K"

# --- rule: only an approved version is distributed -------------------------
check_err "rule approval: an unapproved version is not distributed" "rule approval" \
	coord plan distribute "$PLAN" --version 1
check_out "the citizen's approval is recorded" "distribution: +pending" \
	coord plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01
check_err "a version is approved once" "already approved" \
	coord plan approve "$PLAN" --version 1 --how phone
check_out "rule approval: an approved version can be distributed" "distribution: +pending" \
	coord plan distribute "$PLAN" --version 1
check_err "a professional cannot record approval" "needs the role coordinator" \
	peter plan approve "$PLAN" --version 2 --how afterwards

# --- rendering ------------------------------------------------------------
out=$(peter plan render "$PLAN" --version 1)
for s in "Koordinerende indsatsplan" "Bjarne Testesen" "290256-5417" "Prøvevej 7" \
	"[X] Borgeren er patient i den ambulante psykiatri" "Karen Koordinator" \
	"Peter Psykiatri" "1.5.2014" "agorafobi" "Fastholdelse i psykiatrisk behandling" \
	"Motivere til misbrugsbehandling" "Kontakt til Jobcenter" "1.10.2014"; do
	grep -qF -- "$s" <<<"$out" && pass "render (da) shows '$s'" || fail "render (da) shows '$s'"
done
check_out "render in English" "Coordinated action plan" kipctl plan render "$PLAN" --lang en
html=$(kipctl plan render "$PLAN" --format html)
grep -q '<!DOCTYPE html>' <<<"$html" && ! grep -qiE 'src=|https?:|url\(' <<<"$html" &&
	pass "HTML rendering is complete and loads nothing remote" ||
	fail "HTML rendering is complete and loads nothing remote"

# --- rule: withdrawn consent stops all work, and is itself recorded --------
check "plan consent is withdrawn" coord consent withdraw "$C" --scope plan --date 2026-11-04 --document "Brev 2026-11-04"
check_err "rule consent: no meeting after withdrawal" "rule consent: .*withdrew consent on 2026-11-04" \
	coord meeting schedule "$PLAN" --start "2026-12-01 10:00" --place X
check_err "rule consent: no version after withdrawal" "rule consent" \
	coord plan version add "$PLAN" --meeting "$M0" --file "$FIXTURES/bilag2.yaml"
check_err "rule consent: no member after withdrawal" "rule consent" \
	coord plan member remove "$PLAN" "$P"
check_err "rule consent: no approval after withdrawal" "rule consent" \
	coord plan approve "$PLAN" --version 2 --how afterwards
check_out "the withdrawal is in the consent history" "withdrawn.*2026-11-04" coord consent show "$C"
check_eq "consent history keeps all four events" "4" "$(json consent show "$C" | jq '.history | length')"
check "consent is given again" coord consent give "$C" --scope plan --date 2026-11-05 --document "J.nr. 2026-4799"
check "rule consent: work resumes after consent is given again" \
	coord meeting schedule "$PLAN" --start "2026-12-01 10:00" --place "Rådhuset"

# --- audit -----------------------------------------------------------------
aud=$(json audit --citizen "$C")
check_out "reads of the citizen are audited" "citizen.show" jq -r '.entries[].action' <<<"$aud"
jq -e '.entries[] | select(.action == "plan.render" and .os_user == "bin")' <<<"$aud" >/dev/null &&
	pass "a professional's rendering is audited with OS user" || fail "a professional's rendering is audited with OS user"
jq -e '.entries[] | select(.outcome == "refused:rule")' <<<"$aud" >/dev/null &&
	pass "refusals are audited" || fail "refusals are audited"
jq -e '.entries[] | select(.outcome == "refused:forbidden" and .os_user == "bin")' <<<"$aud" >/dev/null &&
	pass "forbidden reads are audited" || fail "forbidden reads are audited"
check_err "a professional cannot read the audit trail" "needs the role coordinator" peter audit --citizen "$C"

# --- personal data never in the log ---------------------------------------
kip_stop
for s in "Bjarne" "Testesen" "290256" "Prøvevej" "agorafobi" "karen.koordinator@"; do
	! grep -qF -- "$s" "$TDIR/kipd.log" && pass "the log does not contain '$s'" ||
		fail "the log does not contain '$s'"
done
t_done
