#!/bin/bash
# mail.sh — how fast kipd gets signed and encrypted plans out by mail, and
# what limits it.
#
#   bench/mail.sh [BUILD_DIR]                  (BUILD_DIR default build)
#
# Builds nothing: expects BUILD_DIR/kipd, BUILD_DIR/kipctl,
# BUILD_DIR/bench/smtpblast, BUILD_DIR/bench/cryptoblast and
# BUILD_DIR/tools/sealedexport
#   make && make build/bench/smtpblast build/bench/cryptoblast \
#                build/tools/sealedexport
# Needs root (the real mail servers, see tests/servers/mail.sh), the packages
# of tests/servers/deps.sh, postfix's smtp-sink, stunnel4, sqlite3, jq,
# python3, curl and openssl.
#
# Everything lives in a temporary directory that is removed at the end,
# with every process started here (kipd, Postfix, Dovecot, the recorder,
# smtp-sink, stunnel).
#
# Two paths, each with a kipd of its own (its own database, smtp.connections
# = C):
#   postfix  the real Postfix of tests/servers/mail.sh: STARTTLS, AUTH,
#            queued to disk, delivered by Dovecot's LMTP into Maildirs
#   sink     Postfix's smtp-sink (discards mail) behind stunnel: implicit
#            TLS (smtps://localhost:PORT) with the dev PKI's server.pem
#
# Measured (each figure the median of RUNS runs in this script run):
#   (a) kipd: N plans x M recipients (all professionals with real dev
#       certificates r01..rM@bench.example, members of every plan). The
#       clock starts before the first approval (the request of "kipctl
#       plan approve P --version 1 --how meeting --date 2014-05-01", one
#       plan after another over one control connection, as a front end or
#       a batch job would send them: starting a kipctl process per plan
#       costs the client about 3 ms, which is neither kipd's work nor the
#       transport's) and stops when kipd's outbox (read-only sqlite,
#       polled every 2 ms) shows all N*M plan messages sent, i.e. accepted
#       by the server. messages/s = N*M / elapsed.
#   (b) transport limit: bench/smtpblast sends N*M messages exactly as
#       kipd sends them (N more plans approved with no smtp.url, their
#       queued messages built by tests/tools/sealedexport with kipd's own
#       sealed_build(), then cancelled by withdrawing consent; kipd
#       encrypts at send time and keeps no copy) over C connections, one
#       libcurl handle (kept TLS session) per connection, same options as
#       kipd. Each (b) run follows an (a) run at once, and the table also
#       shows the ratio of each such pair: the machine's speed drifts
#       over a script run, and a ratio of runs minutes apart measures the
#       drift too.
#   (c) crypto limit: bench/cryptoblast signs the real inner entity once
#       per plan and encrypts it per recipient (AES-256-CBC, RSA), N x M.
#   (d) what an administrator would script: per message
#       openssl cms -sign | openssl cms -encrypt, then curl --ssl-reqd
#       (a new process chain and TLS connection per message), ADMIN
#       messages in sequence.
#   latency: approve one plan with M recipients with kipctl; from just
#       before kipctl starts until the outbox shows all M sent (polled
#       every 0.5 ms); LAT_RUNS runs per path.
#   kipd's peak RSS (VmHWM) after all of it, per path.
#
# Environment: KIP_BENCH_PLANS (N, default 20), KIP_BENCH_RCPTS (M, 10),
# KIP_BENCH_CONNS (C, 2), KIP_BENCH_RUNS (3, at least 3), KIP_BENCH_LAT_RUNS
# (5), KIP_BENCH_ADMIN (30). KIP_BENCH_PROFILE=1 adds, per path, three
# untimed batches that show where kipd's time goes (see profile() below:
# the send pipeline alone, strace -c, perf; needs strace and perf).
# KIP_BENCH_KEEP=1 keeps the directory (the processes are stopped all the
# same). TMPDIR (default /tmp) holds the directory, and so the databases
# and Postfix's queue: its file system decides what an fsync costs.
#
# Each (a) run also reports how long kipd's threads were on a CPU
# (/proc/PID/task/TID/schedstat): the loop does the approvals (render,
# sign, store) and all the outbox bookkeeping; the sending threads
# encrypt (kip-seal) and talk SMTP (kip-smtp); the WAL threads sync the
# outbox's records (kip-walsync) and copy the WAL into the database
# (kip-checkpoint). Each (a) and (b) run also reports how busy the whole
# machine was meanwhile (/proc/stat: the share of all CPUs not idle), which
# shows whether the servers, (b) and kipd are short of CPU.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KIPD=$BUILD/kipd
KIPCTL=$BUILD/kipctl
SMTPBLAST=$BUILD/bench/smtpblast
CRYPTOBLAST=$BUILD/bench/cryptoblast
SEALEDEXPORT=$BUILD/tools/sealedexport
N=${KIP_BENCH_PLANS:-20}
M=${KIP_BENCH_RCPTS:-10}
C=${KIP_BENCH_CONNS:-2}
RUNS=${KIP_BENCH_RUNS:-3}
LAT_RUNS=${KIP_BENCH_LAT_RUNS:-5}
ADMIN=${KIP_BENCH_ADMIN:-30}
PROFILE=${KIP_BENCH_PROFILE:-0}
SCRIPT_T0=$(date +%s%N)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

die() {
	echo "mail.sh: $*" >&2
	exit 1
}
for f in "$KIPD" "$KIPCTL" "$SMTPBLAST" "$CRYPTOBLAST" "$SEALEDEXPORT"; do
	[ -x "$f" ] || {
		echo "mail.sh: $f missing; run make and make" \
			"${BUILD#"$ROOT"/}/bench/smtpblast ${BUILD#"$ROOT"/}/bench/cryptoblast" \
			"${BUILD#"$ROOT"/}/tools/sealedexport first" >&2
		exit 2
	}
done
case $PROFILE in 0 | 1) ;; *) die "KIP_BENCH_PROFILE must be 0 or 1" ;; esac
for v in N M C RUNS LAT_RUNS ADMIN; do
	case ${!v} in '' | *[!0-9]* | 0*) die "$v must be a positive integer" ;; esac
done
[ "$RUNS" -ge 3 ] || die "KIP_BENCH_RUNS: at least 3 runs"
[ "$M" -le 99 ] || die "KIP_BENCH_RCPTS: at most 99"
[ "$C" -le 16 ] || die "KIP_BENCH_CONNS: kipd allows 1..16 connections"
[ "$(id -u)" -eq 0 ] || die "needs root (the mail servers run as their own users)"
SINK=/usr/sbin/smtp-sink
[ -x "$SINK" ] || die "missing $SINK (package postfix)"
STUNNEL=$(command -v stunnel4 || command -v stunnel) || die "missing stunnel (package stunnel4)"
for c in sqlite3 jq python3 curl openssl; do
	command -v "$c" >/dev/null || die "missing $c"
done

. "$ROOT/tests/servers/mail.sh"

TDIR=$(mktemp -d "${TMPDIR:-/tmp}/kip-mailbench.XXXXXX")
chmod 0755 "$TDIR" # Postfix, Dovecot and the mail user reach mail/ below
MDIR=$TDIR/mail
HELPER=$TDIR/mailbench.py
KIPD_PID=""
SINK_PID=""
STUNNEL_PID=""
PROF_PID="" # strace or perf of profile()

kipd_stop() {
	if [ -n "$KIPD_PID" ] && kill -0 "$KIPD_PID" 2>/dev/null; then
		kill -TERM "$KIPD_PID"
		local rc=0
		wait "$KIPD_PID" || rc=$?
		[ "$rc" -eq 0 ] || echo "mail.sh: kipd exited with status $rc" >&2
	fi
	KIPD_PID=""
}

# stop_pid PID: TERM, up to 5 s, then KILL; reaps it (our child).
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		_mail_alive "$pid" || break # a zombie (ended, not yet reaped) is not
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	set +e
	[ -z "$PROF_PID" ] || stop_pid "$PROF_PID"
	kipd_stop
	stop_pid "$STUNNEL_PID"
	STUNNEL_PID=""
	stop_pid "$SINK_PID"
	SINK_PID=""
	mail_stop "$MDIR" >/dev/null 2>&1
	if [ "${KIP_BENCH_KEEP:-0}" = 1 ]; then
		echo "mail.sh: kept $TDIR" >&2
	else
		rm -rf "$TDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*"; }

cat >"$HELPER" <<'PY'
"""Timers and helpers for bench/mail.sh.

  mailbench.py approve DB POLL_MS PER_PLAN KIPCTL SOCKET PLAN...
      t0, then "KIPCTL -s SOCKET plan approve P --version 1 --how meeting
      --date 2014-05-01" for each PLAN in turn (one process each; with
      KIPCTL "-" the same requests one after another over one control
      connection, opened before t0) while a thread polls DB (read-only)
      every POLL_MS ms until PER_PLAN plan messages of each PLAN are sent;
      prints "elapsed_ms approvals_ms": t0 until all are sent, t0 until
      the last approval returned. Exits 1 if a message is deferred or
      failed, or after 120 s.
  mailbench.py wait DB POLL_MS PER_PLAN PLAN...
      polls DB until PER_PLAN plan messages of each PLAN are sent; prints
      the wall-clock time then (ns since the epoch)
  mailbench.py stats FILE...
      prints "median min max" of the numbers in each FILE (one a line)
  mailbench.py inner FILE
      the first part of the multipart/signed entity in FILE, byte for
      byte (the signed inner entity)
"""
import json
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time


def request(conn, cmd, args):
    """One request over an open control connection (docs/PROTOCOL.md);
    None on success, else the error. The reply is read by the tests' raw
    protocol client (tests/rawclient.py)."""
    sys.path.insert(0, os.path.join(os.environ["KIP_ROOT"], "tests"))
    from rawclient import read_reply

    body = json.dumps({"kip": 1, "cmd": cmd, "args": args}).encode()
    conn.sendall(struct.pack(">I", len(body)) + body)
    text = read_reply(conn)
    if text == "closed":
        return "kipd closed the connection"
    reply = json.loads(text)
    if reply.get("ok"):
        return None
    e = reply.get("error", {})
    return f"{e.get('code')}: {e.get('message')}"


def approve(db, poll_ms, per_plan, kipctl, sock, plans):
    want = per_plan * len(plans)
    marks = ",".join("?" * len(plans))
    q = (f"SELECT sum(state = 'sent'), sum(state IN ('deferred', 'failed'))"
         f" FROM outbox WHERE kind = 'plan' AND version = 1"
         f" AND plan_id IN ({marks})")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10,
                          isolation_level=None, check_same_thread=False)
    result = {}
    stop = threading.Event()

    def poll():
        sleep = poll_ms / 1000.0
        while not stop.is_set():
            sent, bad = con.execute(q, plans).fetchone()
            now = time.perf_counter_ns()
            if bad:
                result["bad"] = bad
                return
            if sent is not None and sent >= want:
                result["done"] = now
                return
            if now - t0 > 120e9:
                result["timeout"] = sent
                return
            time.sleep(sleep)

    ctl = None
    if kipctl == "-":
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.connect(sock)
    t0 = time.perf_counter_ns()
    th = threading.Thread(target=poll)
    th.start()
    for p in plans:
        if ctl:
            err = request(ctl, "plan.approve",
                          {"plan": p, "version": 1, "how": "meeting",
                           "date": "2014-05-01"})
        else:
            r = subprocess.run([kipctl, "-s", sock, "--json", "plan",
                                "approve", str(p), "--version", "1", "--how",
                                "meeting", "--date", "2014-05-01"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            err = (None if r.returncode == 0 else
                   f"status {r.returncode}: "
                   f"{r.stderr.decode(errors='replace').strip()}")
        if err:
            stop.set()
            th.join()
            sys.exit(f"plan approve {p}: {err}")
    t_app = time.perf_counter_ns()
    if ctl:
        ctl.close()
    th.join()
    con.close()
    if "bad" in result:
        sys.exit(f"{result['bad']} message(s) deferred or failed; see kipd's log")
    if "timeout" in result:
        sys.exit(f"only {result['timeout']} of {want} sent after 120 s")
    print(f"{(result['done'] - t0) / 1e6:.3f} {(t_app - t0) / 1e6:.3f}")


def wait(db, poll_ms, per_plan, plans):
    want = per_plan * len(plans)
    marks = ",".join("?" * len(plans))
    q = (f"SELECT sum(state = 'sent') FROM outbox WHERE kind = 'plan'"
         f" AND version = 1 AND plan_id IN ({marks})")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10,
                          isolation_level=None)
    end = time.time() + 120
    while True:
        (sent,) = con.execute(q, plans).fetchone()
        if sent is not None and sent >= want:
            print(time.time_ns())
            return
        if time.time() > end:
            sys.exit(f"only {sent} of {want} sent after 120 s")
        time.sleep(poll_ms / 1000.0)


def stats(paths):
    for path in paths:
        with open(path) as f:
            v = sorted(float(x) for x in f if x.strip())
        if not v:
            sys.exit(f"{path}: no values")
        n = len(v)
        med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
        print(f"{med:.6g} {v[0]:.6g} {v[-1]:.6g}")


def inner(path):
    import email
    import email.policy
    raw = open(path, "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    b = msg.get_param("boundary")
    if msg.get_content_type() != "multipart/signed" or not b:
        sys.exit(f"{path}: not multipart/signed")
    delim = b"\r\n--" + b.encode() + b"\r\n"
    first = raw.find(b"--" + b.encode() + b"\r\n")
    start = first + len(b) + 4
    end = raw.find(delim, start)
    if first < 0 or end < 0:
        sys.exit(f"{path}: no first part")
    sys.stdout.buffer.write(raw[start:end])


def main():
    a = sys.argv[1:]
    if a[0] == "approve":
        approve(a[1], float(a[2]), int(a[3]), a[4], a[5],
                [int(p) for p in a[6:]])
    elif a[0] == "wait":
        wait(a[1], float(a[2]), int(a[3]), [int(p) for p in a[4:]])
    elif a[0] == "stats":
        stats(a[1:])
    elif a[0] == "inner":
        inner(a[1])
    else:
        sys.exit("unknown mode")


main()
PY

ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
# median FILE: the median of the numbers in FILE.
median() { python3 "$HELPER" stats "$1" | cut -d' ' -f1; }
# status_kb PID FIELD: a VmRSS/VmHWM line of /proc/PID/status, in kB.
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# ------------------------------------------------------------- servers --

RCPTS=()
for i in $(seq 1 "$M"); do RCPTS+=("$(printf 'r%02d@bench.example' "$i")"); done
log "kip mail bench: N=$N plans x M=$M recipients, C=$C connections, $RUNS runs; $TDIR"
log "PKI: the dev CA, org and server certificates, $M recipients"
"$ROOT/certs/make-dev-certs.sh" "$MDIR/pki" "${RCPTS[@]}" >"$TDIR/pki.log" 2>&1 ||
	{ cat "$TDIR/pki.log" >&2; die "make-dev-certs.sh failed"; }
log "starting Postfix + Dovecot (tests/servers/mail.sh)"
mail_start "$MDIR" >"$TDIR/mail-start.log" 2>&1 ||
	{ cat "$TDIR/mail-start.log" >&2; die "the mail servers did not start"; }

read -r SINK_PORT SMTPS_PORT <<<"$(_mail_free_ports 2)"
log "starting smtp-sink on 127.0.0.1:$SINK_PORT behind stunnel on 127.0.0.1:$SMTPS_PORT"
# -a: no AUTH offered (kipd logs in only where told to); -u: drop root.
"$SINK" -a -u nobody "127.0.0.1:$SINK_PORT" 256 </dev/null >"$TDIR/smtp-sink.log" 2>&1 &
SINK_PID=$!
cat >"$TDIR/stunnel.conf" <<EOF
foreground = yes
pid =
output = $TDIR/stunnel.log
debug = notice
[smtps]
accept = 127.0.0.1:$SMTPS_PORT
connect = 127.0.0.1:$SINK_PORT
cert = $PKI/server.pem
key = $PKI/server.key
sslVersionMin = TLSv1.2
EOF
"$STUNNEL" "$TDIR/stunnel.conf" </dev/null >>"$TDIR/stunnel.out" 2>&1 &
STUNNEL_PID=$!
for p in "$SINK_PORT" "$SMTPS_PORT"; do
	_mail_wait_port "$p" 10 || {
		cat "$TDIR/smtp-sink.log" "$TDIR/stunnel.out" "$TDIR/stunnel.log" >&2 2>/dev/null
		die "nothing listens on 127.0.0.1:$p"
	}
done

POSTFIX_URL="smtp://localhost:$SMTP_PORT"
SINK_URL="smtps://localhost:$SMTPS_PORT"
SMTP_PW=$(cat "$SMTP_PASSWORD_FILE")

# Postfix's queue is empty: everything accepted has been delivered.
postfix_idle() {
	local end=$((SECONDS + ${1:-60}))
	while [ -n "$(find "$MDIR/postfix-queue/incoming" "$MDIR/postfix-queue/active" \
		"$MDIR/postfix-queue/maildrop" "$MDIR/postfix-queue/deferred" -type f 2>/dev/null | head -1)" ]; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
maildir_total() { find "$MAILDIRS" -path '*/new/*' -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- kipd --

# kipd_conf PATH [hold]: kipd's configuration for a path (as
# tests/mail_lib.sh's mail_conf, log level at the default "info", to a
# file); with "hold" no smtp.url, so that approved messages stay queued.
kipd_conf() {
	local path=$1 smtp
	if [ "${2:-}" = hold ]; then
		smtp="" # no url: approved messages stay queued
	elif [ "$path" = postfix ]; then
		smtp="url = \"$POSTFIX_URL\"; username = \"$SMTP_USER\";
  password_file = \"$SMTP_PASSWORD_FILE\";"
	else
		smtp="url = \"$SINK_URL\";"
	fi
	cat >"$TDIR/kipd-$path.conf" <<CONF
store = { path = "$TDIR/kip-$path.db"; };
control = { socket = "$TDIR/kipd.sock"; };
log = { level = "info"; syslog = false; };
organisation = { name = "Benchkommune"; mailbox = "kip@kommune.example"; };
users = ( { user = "root"; role = "admin"; } );
smtp = { $smtp ca_file = "$PKI/ca.pem";
  retry_first_s = 1; retry_max_s = 2; timeout_s = 10; connections = $C; };
smime = { cert = "$PKI/org.pem"; key = "$PKI/org.key";
  ca_bundle = "$PKI/ca.pem"; crl = "$PKI/crl.pem"; };
CONF
	chmod 0600 "$TDIR/kipd-$path.conf"
}

# kipd_start PATH [hold]
kipd_start() {
	local path=$1 i
	kipd_conf "$path" "${2:-}"
	rm -f "$TDIR/kipd.sock"
	"$KIPD" -f -c "$TDIR/kipd-$path.conf" 2>>"$TDIR/kipd-$path.log" &
	KIPD_PID=$!
	for i in $(seq 1 500); do
		[ -S "$TDIR/kipd.sock" ] && return 0
		kill -0 "$KIPD_PID" 2>/dev/null || break
		sleep 0.01
	done
	cat "$TDIR/kipd-$path.log" >&2
	die "kipd did not start"
}

ctl() { "$KIPCTL" -s "$TDIR/kipd.sock" "$@"; }

# The bench's plan document: Bilag 2 as it is (meeting 2014-05-01,
# follow-up 2014-10-01).
DOC=$ROOT/tests/fixtures/bilag2.yaml

# setup_members: the M professionals; the first coordinates every plan.
setup_members() {
	local i addr local_part
	MEMBERS=()
	for addr in "${RCPTS[@]}"; do
		local_part=${addr%@*}
		MEMBERS+=("$(ctl --json contact add --kind professional \
			--name "Bench Fagperson ${local_part#r}" --email "$addr" \
			--organisation "Benchregion" \
			--cert "$PKI/${local_part}_at_bench.example.pem" | jq -r .id)")
	done
	NEXT_CITIZEN=1
}

# make_plans COUNT: COUNT new plans (ids in PLANS), each for a new
# fictional citizen (no e-mail: the plan goes to the M members only), with
# consent, the M members, the meeting of 2014-05-01 and version 1.
make_plans() {
	local n=$1 k cpr cit plan mt m
	PLANS=()
	CITS=()
	for _ in $(seq 1 "$n"); do
		# As bench/load.c: DDMMYY-SSSS born 2030-2057 (serial 5xxx).
		k=$((NEXT_CITIZEN - 1))
		cpr=$(printf '%02d%02d%02d-%04d' $((k % 28 + 1)) $((k / 28 % 12 + 1)) \
			$((30 + k / 336 % 28)) $((5000 + k / 9408)))
		cit=$(ctl --json citizen add --name "Mailbench Borger $NEXT_CITIZEN" --cpr "$cpr" \
			--address "Testvej $NEXT_CITIZEN, 9999 Testby" --phone "+45 99000000" | jq -r .id)
		NEXT_CITIZEN=$((NEXT_CITIZEN + 1))
		ctl consent give "$cit" --scope plan --date 2014-04-01 --document "BENCH" >/dev/null
		plan=$(ctl --json plan create "$cit" --basis psych-patient \
			--coordinator "${MEMBERS[0]}" | jq -r .id)
		for m in "${MEMBERS[@]:1}"; do ctl plan member add "$plan" "$m" >/dev/null; done
		mt=$(ctl --json meeting schedule "$plan" --start "2014-05-01 10:00" \
			--place "Rådhuset" | jq -r .id)
		ctl plan version add "$plan" --meeting "$mt" --file "$DOC" >/dev/null
		PLANS+=("$plan")
		CITS+=("$cit")
	done
}

# thread_cpu PID: "LOOP WORKERS OTHER", the time kipd's loop thread (the
# main thread), its sending threads (the SMTP workers, kip-smtp, and the
# thread that encrypts ahead of them, kip-seal) and its other threads (WAL
# checkpoints and syncs: kip-checkpoint, kip-walsync) have been on a CPU,
# in ns (/proc/PID/task/TID/schedstat).
thread_cpu() {
	local t main=0 work=0 rest=0 on name _
	for t in /proc/"$1"/task/*; do
		read -r on _ <"$t/schedstat" || continue
		read -r name <"$t/comm" || name=""
		if [ "${t##*/}" = "$1" ]; then
			main=$((main + on))
		elif [ "$name" = kip-smtp ] || [ "$name" = kip-seal ]; then
			work=$((work + on))
		else
			rest=$((rest + on))
		fi
	done
	echo "$main $work $rest"
}

# approve_run OUT POLL_MS HOW PLAN...: one timed approval run, the
# approvals sent over one control connection (HOW conn) or by one kipctl
# process each (HOW kipctl); appends
# "elapsed_ms approvals_ms loop_cpu_ms workers_cpu_ms other_cpu_ms" to OUT.
# outbox_idle: waits until kipd has nothing queued or in flight (the
# set-up's invitations, say), so that a run measures only itself.
outbox_idle() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(sqlite3 -readonly "$TDIR/kip-$CUR.db" \
			"SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# cpu_ticks: "BUSY TOTAL", the machine's CPU time so far (all CPUs, from
# /proc/stat, in clock ticks); busy is all but idle and iowait.
cpu_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i
		print t - $5 - $6, t; exit }' /proc/stat
}

# busy_since "BUSY0 TOTAL0" OUT: appends the share of all CPUs that was
# busy since cpu_ticks printed BUSY0 TOTAL0, in percent, to OUT.
busy_since() {
	local b0 t0 b1 t1
	read -r b0 t0 <<<"$1"
	read -r b1 t1 < <(cpu_ticks)
	awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f\n", t ? 100 * b / t : 0 }' >>"$2"
}

# blast_run R: (b)'s run R on path CUR, right after (a)'s run R, so that
# each ratio compares two runs under the same conditions.
blast_run() {
	local r=$1 rate auth ticks
	if [ "$CUR" = postfix ]; then
		auth=(-u "$POSTFIX_URL" -U "$SMTP_USER" -P "$SMTP_PASSWORD_FILE")
	else
		auth=(-u "$SINK_URL")
	fi
	[ "$CUR" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
	ticks=$(cpu_ticks)
	"$SMTPBLAST" "${auth[@]}" -c "$C" -C "$PKI/ca.pem" "$TDIR/msgs-$CUR"/*.eml \
		>"$TDIR/b-$CUR.$r.out" || { cat "$TDIR/b-$CUR.$r.out" >&2; die "smtpblast failed"; }
	busy_since "$ticks" "$TDIR/b-$CUR.busy"
	rate=$(awk '$1 == "messages/s:" { print $2 }' "$TDIR/b-$CUR.$r.out")
	echo "$rate" >>"$TDIR/b-$CUR.rate"
	echo "   (b) run $r: $(awk '$1 == "messages:" { print $2 }' "$TDIR/b-$CUR.$r.out") messages," \
		"$(awk '$1 == "time:" { print $2 * 1000 }' "$TDIR/b-$CUR.$r.out") ms, $rate msg/s"
}

approve_run() {
	local out=$1 poll=$2 how=$3 m0 w0 o0 m1 w1 o1 line client=$KIPCTL
	shift 3
	[ "$how" = kipctl ] || client=-
	read -r m0 w0 o0 < <(thread_cpu "$KIPD_PID")
	line=$(KIP_ROOT=$ROOT python3 "$HELPER" approve "$TDIR/kip-$CUR.db" "$poll" "$M" "$client" \
		"$TDIR/kipd.sock" "$@") || return 1
	read -r m1 w1 o1 < <(thread_cpu "$KIPD_PID")
	echo "$line $(((m1 - m0) / 1000)) $(((w1 - w0) / 1000)) $(((o1 - o0) / 1000))" |
		awk '{ printf "%s %s %.1f %.1f %.1f\n", $1, $2, $3 / 1000, $4 / 1000, $5 / 1000 }' >>"$out"
}

# profile PATH (KIP_BENCH_PROFILE=1; untimed by the table): where kipd's
# time goes, on three more batches of N plans.
#  1. the send pipeline alone: the N approvals with no smtp.url (the
#     messages stay queued), then kipd restarted with it; from exec until
#     all N*M are sent (includes start-up, TLS handshakes and AUTH)
#  2. strace -c -f of an approve run (system calls of all kipd threads)
#  3. perf record (DWARF call graphs) of an approve run: where the CPU goes
# Results are in TDIR/profile-PATH.* (KIP_BENCH_KEEP=1 keeps them).
profile() {
	local path=$1 base=$ALL_PLANS_OFF batch t0 t1
	local pf=$TDIR/profile-$path
	echo "   profile: send pipeline alone (approve with no smtp.url, then restart with it)"
	batch=("${ALL_PLANS[@]:$base:$N}")
	kipd_stop
	kipd_start "$path" hold
	for p in "${batch[@]}"; do
		ctl plan approve "$p" --version 1 --how meeting --date 2014-05-01 >/dev/null
	done
	kipd_stop
	[ "$path" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
	t0=$(date +%s%N)
	kipd_start "$path"
	t1=$(python3 "$HELPER" wait "$TDIR/kip-$path.db" 1 "$M" "${batch[@]}")
	PIPE_RATE[$path]=$(awk -v n=$((N * M)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / ns * 1e9 }')
	echo "      $((N * M)) queued messages sent in $(((t1 - t0) / 1000000)) ms: ${PIPE_RATE[$path]} msg/s"

	batch=("${ALL_PLANS[@]:$((base + N)):$N}")
	[ "$path" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
	strace -c -f -p "$KIPD_PID" -o "$pf.strace" 2>/dev/null &
	PROF_PID=$!
	sleep 0.5
	approve_run "$pf.strace-run" 2 conn "${batch[@]}" || die "profile run failed"
	kill -INT "$PROF_PID"
	wait "$PROF_PID" || true
	PROF_PID=""
	echo "   profile: strace -c -f during an approve run of $((N * M)) messages (under strace: $(cut -d' ' -f1 "$pf.strace-run") ms)"
	head -14 "$pf.strace" | sed 's/^/      /'

	batch=("${ALL_PLANS[@]:$((base + 2 * N)):$N}")
	[ "$path" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
	if command -v perf >/dev/null; then
		perf record -q -F 2999 --call-graph dwarf,32768 -p "$KIPD_PID" -o "$pf.perf" >/dev/null 2>&1 &
		PROF_PID=$!
		sleep 0.5
		approve_run "$pf.perf-run" 2 conn "${batch[@]}" || die "profile run failed"
		kill -INT "$PROF_PID"
		wait "$PROF_PID" || true
		PROF_PID=""
		perf report -i "$pf.perf" --stdio --no-children --sort pid -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' >"$pf.perf-threads.txt" || true
		perf report -i "$pf.perf" --stdio --children --sort symbol -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' >"$pf.perf.txt" || true
		echo "   profile: perf, kipd's samples per thread (the first is the loop)"
		sed 's/^/      /' "$pf.perf-threads.txt"
		echo "   profile: perf, share of all kipd samples in (inclusive):"
		grep -E '\] (cmd_plan_approve|distribute_version|plan_entity|render_version|smime_sign|smime_check_recipient|X509_verify_cert|smime_encrypt|PEM_ASN1_read_bio|CMS_final|queue_message|sealed_build|build_sealed|store_exec|store_commit|sqlite3_step|sqlite3WalCheckpoint|on_results|run|submit_row|worker|may_finish|checkpoint_main|curl_easy_perform|fdatasync|__GI_fdatasync|__libc_pwrite64) ' \
			"$pf.perf.txt" | awk '!seen[$4]++ && n++ < 30 { printf "      %-8s %s\n", $1, $4 }'
	fi
}

# ------------------------------------------------------------- (a) kipd --

declare -A KIPD_RATE APPROVE_MS LAT_MS LAT_APPROVE_MS HWM BLAST_RATE ADMIN_RATE
declare -A MSG_BYTES PIPE_RATE LOOP_CPU WORK_CPU OTHER_CPU

for CUR in postfix sink; do
	log "path $CUR: kipd with smtp.connections = $C"
	kipd_start "$CUR"
	setup_members
	t=$(date +%s%N)
	make_plans $((RUNS * N + LAT_RUNS + N + (PROFILE ? 3 * N : 0)))
	ALL_PLANS=("${PLANS[@]}")
	EXPORT_OFF=$((RUNS * N + LAT_RUNS))    # the plans for (b)'s messages
	ALL_PLANS_OFF=$((RUNS * N + LAT_RUNS + N)) # the profile's plans
	echo "   set-up: $M members, ${#ALL_PLANS[@]} plans in $(ms_since "$t") ms"

	# The messages for (b), made first so that (a) and (b) can
	# alternate: kipd encrypts each message when it sends it and keeps
	# none after, so N more plans are approved with no smtp.url and their
	# queued messages built as kipd's workers build them
	# (tests/tools/sealedexport.c); then withdrawing those citizens'
	# consent cancels them, so that kipd never sends them itself.
	outbox_idle || die "kipd's outbox does not drain after the set-up"
	kipd_stop
	kipd_start "$CUR" hold
	for p in "${ALL_PLANS[@]:$EXPORT_OFF:$N}"; do
		ctl plan approve "$p" --version 1 --how meeting --date 2014-05-01 >/dev/null
	done
	mkdir -p "$TDIR/msgs-$CUR"
	read -r exported MSG_BYTES[$CUR] < <("$SEALEDEXPORT" "$TDIR/kip-$CUR.db" \
		kip@kommune.example "$TDIR/msgs-$CUR" $((N * M))) || die "sealedexport failed"
	[ "$exported" = $((N * M)) ] || die "sealedexport wrote $exported messages, not $((N * M))"
	for c in "${CITS[@]:$EXPORT_OFF:$N}"; do
		ctl consent withdraw "$c" --scope plan --date 2014-06-01 --document "BENCH" >/dev/null
	done
	kipd_stop
	kipd_start "$CUR"

	: >"$TDIR/a-$CUR.ms"
	: >"$TDIR/b-$CUR.rate"
	: >"$TDIR/a-$CUR.busy"
	: >"$TDIR/b-$CUR.busy"
	for r in $(seq 1 "$RUNS"); do
		[ "$CUR" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
		outbox_idle || die "kipd's outbox does not drain before run $r"
		batch=("${ALL_PLANS[@]:$(((r - 1) * N)):$N}")
		ticks=$(cpu_ticks)
		approve_run "$TDIR/a-$CUR.ms" 2 conn "${batch[@]}" ||
			{ tail -20 "$TDIR/kipd-$CUR.log" >&2; die "run $r on $CUR failed"; }
		busy_since "$ticks" "$TDIR/a-$CUR.busy"
		read -r el ap lc wcpu ocpu < <(tail -1 "$TDIR/a-$CUR.ms")
		echo "   (a) run $r: $((N * M)) messages sent in $el ms" \
			"($(awk -v n=$((N * M)) -v ms="$el" 'BEGIN { printf "%.1f", n / ms * 1000 }') msg/s;" \
			"the $N approvals took $ap ms; kipd on CPU: loop thread $lc ms, sending $wcpu ms, WAL checkpoints and syncs $ocpu ms)"
		blast_run "$r"
	done
	BLAST_RATE[$CUR]=$(median "$TDIR/b-$CUR.rate")
	# Every message of the last run is really sent (kipd's own view).
	st=$(ctl --json plan status "${batch[-1]}")
	[ "$(jq '[.messages[] | select(.kind == "plan" and .state == "sent")] | length' <<<"$st")" = "$M" ] ||
		die "plan status of ${batch[-1]} does not show $M messages sent: $st"
	cut -d' ' -f1 "$TDIR/a-$CUR.ms" | awk -v n=$((N * M)) '{ print n / $1 * 1000 }' >"$TDIR/a-$CUR.rate"
	cut -d' ' -f2 "$TDIR/a-$CUR.ms" >"$TDIR/a-$CUR.approve"
	KIPD_RATE[$CUR]=$(median "$TDIR/a-$CUR.rate")
	APPROVE_MS[$CUR]=$(median "$TDIR/a-$CUR.approve")
	cut -d' ' -f3 "$TDIR/a-$CUR.ms" >"$TDIR/a-$CUR.loopcpu"
	cut -d' ' -f4 "$TDIR/a-$CUR.ms" >"$TDIR/a-$CUR.workcpu"
	cut -d' ' -f5 "$TDIR/a-$CUR.ms" >"$TDIR/a-$CUR.othercpu"
	LOOP_CPU[$CUR]=$(median "$TDIR/a-$CUR.loopcpu")
	WORK_CPU[$CUR]=$(median "$TDIR/a-$CUR.workcpu")
	OTHER_CPU[$CUR]=$(median "$TDIR/a-$CUR.othercpu")

	log "path $CUR: latency, $LAT_RUNS plans of $M recipients, one at a time"
	: >"$TDIR/lat-$CUR.ms"
	for r in $(seq 1 "$LAT_RUNS"); do
		[ "$CUR" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
		sleep 0.2
		approve_run "$TDIR/lat-$CUR.ms" 0.5 kipctl "${ALL_PLANS[$((RUNS * N + r - 1))]}" ||
			{ tail -20 "$TDIR/kipd-$CUR.log" >&2; die "latency run $r on $CUR failed"; }
	done
	echo "   all $M accepted after (ms): $(cut -d' ' -f1 "$TDIR/lat-$CUR.ms" | tr '\n' ' ')"
	echo "   kipctl plan approve took (ms): $(cut -d' ' -f2 "$TDIR/lat-$CUR.ms" | tr '\n' ' ')"
	cut -d' ' -f1 "$TDIR/lat-$CUR.ms" >"$TDIR/lat-$CUR.total"
	cut -d' ' -f2 "$TDIR/lat-$CUR.ms" >"$TDIR/lat-$CUR.approve"
	LAT_MS[$CUR]=$(median "$TDIR/lat-$CUR.total")
	LAT_APPROVE_MS[$CUR]=$(median "$TDIR/lat-$CUR.approve")

	HWM[$CUR]=$(status_kb "$KIPD_PID" VmHWM)
	[ "$PROFILE" = 1 ] && profile "$CUR"
	kipd_stop
done
if postfix_idle 60; then
	DELIVERED=$(maildir_total)
else
	DELIVERED="(queue not drained)"
fi
POSTFIX_SENT=$(sqlite3 -readonly "$TDIR/kip-postfix.db" "SELECT count(*) FROM outbox WHERE state = 'sent'")

# (b), the transport limit, ran above, each run right after kipd's.

# ------------------------------------------------------- (c) crypto limit --

log "crypto: cryptoblast, $N signatures x $M recipients (AES-256-CBC, RSA)"
# The real inner entity: decrypt one of kipd's messages and take the
# signed part.
# (Not ls | head: with pipefail, ls killed by SIGPIPE would end the script.)
msgs=("$TDIR/msgs-sink"/*.eml)
first=${msgs[0]}
id=$(basename "$first" .eml)
to=$(sqlite3 -readonly "$TDIR/kip-sink.db" "SELECT recipient FROM outbox WHERE id = $id")
to_file=$PKI/${to%@*}_at_${to#*@}
openssl cms -decrypt -binary -recip "$to_file.pem" -inkey "$to_file.key" -in "$first" \
	-out "$TDIR/signed.eml" 2>"$TDIR/decrypt.err" || { cat "$TDIR/decrypt.err" >&2; die "cannot decrypt $first"; }
python3 "$HELPER" inner "$TDIR/signed.eml" >"$TDIR/inner.eml"
RCPT_PEMS=()
for addr in "${RCPTS[@]}"; do RCPT_PEMS+=("$PKI/${addr%@*}_at_bench.example.pem"); done
: >"$TDIR/c.rate"
for r in $(seq 1 "$RUNS"); do
	"$CRYPTOBLAST" -n "$N" -m "$M" -o "$TDIR/c.b64" "$PKI/org.pem" "$PKI/org.key" \
		"$TDIR/inner.eml" "${RCPT_PEMS[@]}" >"$TDIR/c.$r.out"
	awk '$1 == "messages/s:" { print $2 }' "$TDIR/c.$r.out" >>"$TDIR/c.rate"
	echo "   run $r: $(grep -E '^(sign:|encrypt:|messages\/s:)' "$TDIR/c.$r.out" | tr '\n' ' ')"
done
CRYPTO_RATE=$(median "$TDIR/c.rate")
INNER_BYTES=$(wc -c <"$TDIR/inner.eml")
SIGN_MS=$(awk '$1 == "sign:" { print $2 }' "$TDIR/c.1.out")
ENC_MS=$(awk '$1 == "encrypt:" { print $2 }' "$TDIR/c.1.out")
# What it made decrypts (for the last recipient of the round).
tr -d '\r' <"$TDIR/c.b64" | base64 -d >"$TDIR/c.der"
last=${RCPT_PEMS[$(((M - 1) % ${#RCPT_PEMS[@]}))]}
openssl cms -decrypt -inform DER -in "$TDIR/c.der" -recip "$last" -inkey "${last%.pem}.key" \
	-out "$TDIR/c.signed" 2>/dev/null && openssl cms -verify -CAfile "$PKI/ca.pem" \
	-in "$TDIR/c.signed" -out /dev/null 2>/dev/null ||
	die "cryptoblast's envelope does not decrypt and verify"

# ------------------------------------------------ (d) an administrator's --

# admin_send URL I: message I the way a script would do it: sign, encrypt,
# curl (new processes and a new TLS connection each time). openssl writes
# LF line ends; curl --crlf makes them CRLF (Postfix refuses bare LF).
admin_send() {
	local url=$1 i=$2 to pem auth=()
	to=${RCPTS[$((i % M))]}
	pem=$PKI/${to%@*}_at_bench.example.pem
	[ "$url" = "$POSTFIX_URL" ] && auth=(--netrc-file "$TDIR/netrc")
	openssl cms -sign -md sha256 -signer "$PKI/org.pem" -inkey "$PKI/org.key" \
		-in "$TDIR/inner.eml" |
		openssl cms -encrypt -aes-256-cbc -from kip@kommune.example \
			-to "$to" -subject "Koordinerende indsatsplan" "$pem" >"$TDIR/admin.eml" &&
		curl -sS --crlf --ssl-reqd --url "$url" --cacert "$PKI/ca.pem" "${auth[@]}" \
			--mail-from kip@kommune.example --mail-rcpt "$to" \
			--upload-file "$TDIR/admin.eml"
}
(umask 077 && printf 'machine localhost login %s password %s\n' "$SMTP_USER" "$SMTP_PW" >"$TDIR/netrc")
for CUR in postfix sink; do
	log "path $CUR: the administrator's script, $ADMIN messages one after another"
	url=$POSTFIX_URL
	[ "$CUR" = sink ] && url=$SINK_URL
	: >"$TDIR/d-$CUR.rate"
	for r in $(seq 1 "$RUNS"); do
		[ "$CUR" = postfix ] && { postfix_idle || die "Postfix's queue does not drain"; }
		t=$(date +%s%N)
		for i in $(seq 1 "$ADMIN"); do
			admin_send "$url" "$i" 2>>"$TDIR/admin.err" || {
				tail -5 "$TDIR/admin.err" >&2
				die "the administrator's script failed"
			}
		done
		el=$(ms_since "$t")
		rate=$(awk -v n="$ADMIN" -v ms="$el" 'BEGIN { printf "%.2f", n / ms * 1000 }')
		echo "$rate" >>"$TDIR/d-$CUR.rate"
		echo "   run $r: $ADMIN messages in $el ms, $rate msg/s"
	done
	ADMIN_RATE[$CUR]=$(median "$TDIR/d-$CUR.rate")
done

# -------------------------------------------------------------- results --

kipd_stop
stop_pid "$STUNNEL_PID"
STUNNEL_PID=""
stop_pid "$SINK_PID"
SINK_PID=""
mail_stop "$MDIR" >/dev/null 2>&1
left=$( (mail_pids "$MDIR" || true) | wc -l)

mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
# verdict A OP B: "ok" or "MISSED".
verdict() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
	ok = (op == ">=") ? a >= b : a < b; print (ok ? "ok" : "MISSED") }'; }
row() { printf '%-50s %-24s %s\n' "$1" "$2" "${3:-}"; }
rate() { printf '%.1f msg/s' "$1"; }

echo
echo "== kip mail bench results: N=$N plans x M=$M recipients = $((N * M)) messages per run," \
	"C=$C connections, median of $RUNS runs ($(nproc) CPUs, $(uname -r), $(findmnt -no FSTYPE -T "$TDIR"))"
echo "   load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
row "measure" "value" "target"
row "--------------------------------------------------" "------------------------" "----------------"
for CUR in postfix sink; do
	case $CUR in
	postfix) label="Postfix (STARTTLS, AUTH, Maildir)" ;;
	sink) label="smtp-sink behind stunnel (smtps)" ;;
	esac
	echo "-- $label"
	row "(a) kipd: approve -> all sent" "$(rate "${KIPD_RATE[$CUR]}")"
	row "    of which the $N approvals (median)" "${APPROVE_MS[$CUR]} ms"
	row "    kipd on CPU per run: loop / sending / WAL" \
		"${LOOP_CPU[$CUR]} / ${WORK_CPU[$CUR]} / ${OTHER_CPU[$CUR]} ms"
	row "(b) smtpblast, same messages, C=$C" "$(rate "${BLAST_RATE[$CUR]}")"
	[ -n "${PIPE_RATE[$CUR]:-}" ] &&
		row "    (profile) kipd sending $((N * M)) already queued" "$(rate "${PIPE_RATE[$CUR]}")"
	row "(d) administrator's script (openssl|curl)" "$(rate "${ADMIN_RATE[$CUR]}")"
	row "kipd / (b)" "$(ratio "${KIPD_RATE[$CUR]}" "${BLAST_RATE[$CUR]}")" \
		">= 0.8x: $(verdict "$(awk -v a="${KIPD_RATE[$CUR]}" -v b="${BLAST_RATE[$CUR]}" 'BEGIN { print a / b }')" ">=" 0.8)"
	row "    per run, (a) and (b) back to back" \
		"$(paste -d' ' "$TDIR/a-$CUR.rate" "$TDIR/b-$CUR.rate" | awk '{ printf "%s%.2fx", (NR > 1 ? " " : ""), $1 / $2 }')"
	row "    all $(nproc) CPUs busy during (a) / (b) (median)" \
		"$(median "$TDIR/a-$CUR.busy")% / $(median "$TDIR/b-$CUR.busy")%"
	row "    kipd's CPU per message (all threads)" \
		"$(awk -v l="${LOOP_CPU[$CUR]}" -v w="${WORK_CPU[$CUR]}" -v o="${OTHER_CPU[$CUR]}" -v n=$((N * M)) 'BEGIN { printf "%.2f ms", (l + w + o) / n }')"
	row "kipd / (d)" "$(ratio "${KIPD_RATE[$CUR]}" "${ADMIN_RATE[$CUR]}")" \
		">= 25x: $(verdict "$(awk -v a="${KIPD_RATE[$CUR]}" -v b="${ADMIN_RATE[$CUR]}" 'BEGIN { print a / b }')" ">=" 25)"
	row "latency: approve $M -> all $M accepted (median $LAT_RUNS)" "${LAT_MS[$CUR]} ms" \
		"< 150 ms: $(verdict "${LAT_MS[$CUR]}" "<" 150)"
	row "    of which kipctl plan approve returned" "${LAT_APPROVE_MS[$CUR]} ms"
	row "kipd peak RSS (VmHWM) after the runs" "$(mb "${HWM[$CUR]}")" \
		"< 20 MB: $(verdict "${HWM[$CUR]}" "<" $((20 * 1024)))"
	row "message size (mean, as sent)" "${MSG_BYTES[$CUR]} bytes"
done
echo "-- crypto"
row "(c) cryptoblast: sign once, encrypt per recipient" "$(rate "$CRYPTO_RATE")"
row "    sign / encrypt (run 1)" "$SIGN_MS / $ENC_MS ms"
row "    inner entity signed" "$INNER_BYTES bytes"
echo "-- checks"
row "Postfix: sent by kipd + (b) / in Maildirs" "$POSTFIX_SENT + $((RUNS * N * M)) / $DELIVERED (before (d))"
row "processes of the mail servers left" "$left"
row "script run time" "$(awk -v a="$SCRIPT_T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f s", (b - a) / 1e9 }')"
