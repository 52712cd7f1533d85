#!/usr/bin/env bash
# kipctl stats: the figures for national monitoring, counted from the
# pseudonymous event_log. Live activity first (plan.created comes from the
# handler), then known rows written into event_log while kipd is stopped, to
# check each figure and the period's boundaries (local days: kipd's
# timezone, its default Europe/Copenhagen, so that local and UTC days
# differ; the test takes its own dates there too).
. "$(dirname "$0")/../lib.sh"
export TZ=Europe/Copenhagen
kip_start

coord() { as daemon "$KIPCTL" "$@"; } # Karen, coordinator
peter() { as bin "$KIPCTL" "$@"; }    # Peter, professional
json() { kipctl --json "$@"; }
# fig JSON KEY: one figure of a stats reply.
fig() { jq -r ".$2" <<<"$1"; }

# --- live activity ---------------------------------------------------------
kipctl contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example >/dev/null
kipctl contact add --kind professional --name "Peter Psykiatri" \
	--email peter.psykiatri@region.example >/dev/null
C=$(coord --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7" --phone 1 | jq -r .id)
coord consent give "$C" --scope plan --date 2026-01-02 --document "J.nr. 1" >/dev/null
PLAN=$(coord --json plan create "$C" --basis psych-patient | jq -r .id)
check_out "a plan is created" "^[0-9]+$" echo "$PLAN"

today=$(date +%F)
year=$(date +%Y)
s=$(json stats)
check_eq "the period defaults to 1 January to today" "$year-01-01 $today" \
	"$(fig "$s" from) $(fig "$s" to)"
check_eq "the plan made today counts (plan.created)" 1 "$(fig "$s" plans_created)"
check_eq "its citizen has a plan" 1 "$(fig "$s" citizens_with_plan)"
check_eq "the plan is active" 1 "$(fig "$s" plans_active)"
check_eq "a coordinator may read the figures" 1 \
	"$(coord --json stats | jq -r .plans_created)"
check_err "a professional may not" "stats needs the role coordinator" peter stats
check_err "a date that does not exist is refused" "not a real date" \
	kipctl stats --from 2026-02-30
check_err "a period that ends before it starts is refused" \
	"starts \(2026-05-02\) after it ends \(2026-05-01\)" \
	kipctl stats --from 2026-05-02 --to 2026-05-01
check_err "an unknown format is refused" "one of: json, text, csv" \
	kipctl stats --format xml
s=$(json stats --from 2000-01-01 --to 2000-12-31)
check_eq "a period before the plan counts nothing" "0 0" \
	"$(fig "$s" plans_created) $(fig "$s" citizens_with_plan)"

# --- known rows: every figure and the period's edges ----------------------
kip_stop
# ev TYPE "LOCAL TIME" [CITIZEN]: one event_log row.
n=0
sql=""
ev() {
	n=$((n + 1))
	sql+="INSERT INTO event_log (event_id, type, at, citizen_id, plan_id)"
	sql+=" VALUES ('test-$n', '$1', $(date -d "$2" +%s), ${3:-NULL}, NULL);"
}
# Plans: one the day before the period (counts for citizens_with_plan
# only), on the first second and the last second of the period, one the
# second after it. Citizens 101 (twice), 102, and 103 after the period.
ev plan.created "2020-02-29 23:59:59" 102
ev plan.created "2020-03-01 00:00:00" 101
ev plan.created "2020-03-31 23:59:59" 101
ev plan.created "2020-04-01 00:00:00" 103
ev meeting.held "2020-03-10 10:00"
ev meeting.held "2020-03-11 10:00"
ev meeting.held "2020-04-01 10:00"
ev followup.overdue "2020-03-15 00:00"
ev deviation.received "2020-03-02 08:00"
ev deviation.received "2020-03-03 08:00"
ev deviation.received "2020-03-04 08:00"
for i in 1 2 3 4; do ev message.sent "2020-03-0$i 12:00"; done
ev message.sent "2020-02-29 12:00"
ev message.failed "2020-03-20 12:00"
ev message.manual "2020-03-21 12:00"
ev message.manual "2020-03-22 12:00"
ev message.deferred "2020-03-22 12:00" # not a figure
sqlite3 "$TDIR/kip.db" "$sql"
kip_start

s=$(json stats --from 2020-03-01 --to 2020-03-31)
check_eq "plans made: the first and last second of the period count" 2 "$(fig "$s" plans_created)"
check_eq "citizens with a plan: distinct, up to the end of the period" 2 \
	"$(fig "$s" citizens_with_plan)"
check_eq "meetings held in the period" 2 "$(fig "$s" followups_held)"
check_eq "follow-ups overdue" 1 "$(fig "$s" followups_overdue)"
check_eq "deviations reported" 3 "$(fig "$s" deviations)"
check_eq "messages sent, failed, manual" "4 1 2" \
	"$(fig "$s" messages_sent) $(fig "$s" messages_failed) $(fig "$s" messages_manual)"
check_eq "active plans are a snapshot of now" 1 "$(fig "$s" plans_active)"
s=$(json stats --from 2020-04-01 --to 2020-04-01)
check_eq "one day: the plan on its first second" "1 3" \
	"$(fig "$s" plans_created) $(fig "$s" citizens_with_plan)"
s=$(json stats --from 2020-02-29 --to 2020-02-29)
check_eq "one day: the leap day" "1 1 1" \
	"$(fig "$s" plans_created) $(fig "$s" citizens_with_plan) $(fig "$s" messages_sent)"

# --- formats --------------------------------------------------------------
csv=$(kipctl stats --from 2020-03-01 --to 2020-03-31 --format csv)
check_eq "CSV: one figure a line" "figure,value
from,2020-03-01
to,2020-03-31
citizens_with_plan,2
plans_created,2
plans_active,1
followups_held,2
followups_overdue,1
deviations,3
messages_sent,4
messages_failed,1
messages_manual,2
versions_approved,0
copies,0
copies_delivered,0
copies_opened,0
copies_sent,0
copies_handed,0
copies_bounced,0
copies_open,0
median_minutes_to_delivery,0" "$csv"
txt=$(kipctl stats --from 2020-03-01 --to 2020-03-31 --format text)
check_out "text: a readable table (Danish by default)" \
	"^Beskeder til manuel levering +2$" echo "$txt"
check_out "text: names the period" "2020-03-01 – 2020-03-31" echo "$txt"
widths=$(grep -E '[0-9]$' <<<"$txt" | tail -n +2 | while IFS= read -r l; do
	printf '%s' "$l" | LC_ALL=C.UTF-8 wc -m; done | sort -u)
check_eq "text: the figures line up (labels with æøå too)" 42 "$widths"

# --- the figures survive erasure ------------------------------------------
# citizens_with_plan: the three of the rows above and the live one.
check "the citizen is erased" kipctl citizen erase "$C" --force
s=$(json stats)
check_eq "after erasure the plan made still counts, none is active" "1 4 0" \
	"$(fig "$s" plans_created) $(fig "$s" citizens_with_plan) $(fig "$s" plans_active)"
t_done
