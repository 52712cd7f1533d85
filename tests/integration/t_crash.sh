#!/usr/bin/env bash
# The crash campaign at CI size (docs/FAULTS.md): bench/crash.sh with 1,000
# messages and 10 kill -9 of kipd at random moments, events flowing to
# mosquitto; then the asserts. KIP_TEST_CRASH_N and KIP_TEST_CRASH_KILLS
# change the size, KIP_CRASH_SEED repeats a run.
case ${BUILD:-build} in
/*) export KIPD=${KIPD:-$BUILD/kipd} KIPCTL=${KIPCTL:-$BUILD/kipctl} ;;
esac
. "$(dirname "$0")/../lib.sh"
N=${KIP_TEST_CRASH_N:-1000}
KILLS=${KIP_TEST_CRASH_KILLS:-10}
FIG=$TDIR/figures

if ! BUILD=$BUILD KIP_CRASH_FIGURES=$FIG "$ROOT/bench/crash.sh" "$N" "$KILLS" >"$TDIR/crash.out" 2>&1; then
	fail "bench/crash.sh $N $KILLS runs to the end" "$(tail -20 "$TDIR/crash.out")"
	t_done
	exit 1
fi
sed -n '/^== crash campaign/,$p' "$TDIR/crash.out" | sed 's/^/# /'
# shellcheck disable=SC1090
. "$FIG"

check_eq "every kill was followed by integrity_check ok" "$KILLS" "$integrity_ok"
check_eq "integrity_check ok at the end" "ok" "$final_integrity"
check_eq "every distribution requested was acknowledged in the end" "$(((N + per - 1) / per))" "$acked"
[ "$distributions" -ge "$acked" ] && pass "every acknowledged distribution is in the outbox ($distributions >= $acked)" ||
	fail "every acknowledged distribution is in the outbox ($distributions < $acked)"
check_eq "the outbox holds whole distributions ($distributions x $per)" "$((distributions * per))" "$dist_rows"
check_eq "no message is left unsettled" "0" "$unsettled"
check_eq "no message failed" "0" "$failed"
check_eq "every queued message is marked sent" "$queued" "$sent"
check_eq "messages lost: 0 (distinct Message-IDs at the server == queued)" "0" "$lost"
check_eq "no message marked sent is missing at the server" "0" "$sent_not_arrived"
[ "$duplicates" -le "$requeued_msgs" ] &&
	pass "duplicates ($duplicates) are at most the messages in flight at the kills ($requeued_msgs)" ||
	fail "duplicates ($duplicates) are at most the messages in flight at the kills ($requeued_msgs)"
check_eq "the event outbox is empty" "0" "$mqtt_left"
check_eq "events lost: 0 (every event_log id reached the subscriber)" "0" "$events_lost"
if [ "$intake" = yes ]; then
	[ "$reports_mailed" -gt 0 ] && [ "$reports_published" -gt 0 ] &&
		pass "reports were handed over by mail ($reports_mailed) and MQTT ($reports_published)" ||
		fail "reports were handed over by mail ($reports_mailed) and MQTT ($reports_published)"
	check_eq "reports by mail lost: 0" "0" "$reports_mail_lost"
	# Over MQTT libmosquitto's PUBACK comes before on_message; kipd
	# commits the payload to its inbox at once and judges it after, so
	# only a kill within that one commit could lose a report.
	# KIP_CRASH_STRICT_REPORTS=0 shows the count instead of asserting it.
	if [ "${KIP_CRASH_STRICT_REPORTS:-1}" = 1 ]; then
		check_eq "reports over MQTT lost: 0" "0" "$reports_mqtt_lost"
	elif [ "$reports_mqtt_lost" != 0 ]; then
		echo "# measured, not counted: $reports_mqtt_lost reports over MQTT lost (docs/FAULTS.md)"
	fi
	check_eq "no report recorded twice" "0" "$reports_twice"
	check_eq "no report quarantined" "0" "$reports_quarantined"
else
	echo "# note: kipctl has no intake here; reports not part of this run (not counted)"
fi
t_done
