#!/bin/bash
# run.sh — load a temporary kipd with N fictional citizens and measure it.
#
#   bench/run.sh [BUILD_DIR] [N]        (BUILD_DIR default build, N 10000)
#
# Builds nothing: expects BUILD_DIR/kipd, BUILD_DIR/kipctl and
# BUILD_DIR/bench/load (make && make BUILD_DIR/bench/load; "make bench"
# does both). Everything lives in a temporary directory that is removed at
# the end; kipd runs as the calling user, which the configuration makes an
# admin.
#
# Steps:
#   1. start kipd on an empty database (start-up time, RSS)
#   2. bench/load: N citizens with consent, plan, meeting and a version
#      (the plan document is tests/fixtures/bilag2.yaml with follow_up set
#      to 2026-10-01, four months after the bench's meeting)
#   3. kipctl plan show P, 500 times with random P: the whole process as a
#      user runs it (fork/exec, connect, request, reply, output), timed
#      around subprocess.run; /bin/true timed the same way shows what the
#      timer's own spawning costs
#   4. plan.show 2000 times with random P over one connection: kipd's
#      round trip without process start-up
#   5. kipd's peak RSS (VmHWM) after all that; the database's size
#   6. restart kipd on the loaded database 5 times: start-up time (exec
#      until the socket accepts a connection) and RSS right after it
#
# Environment: TMPDIR (default /tmp) holds the directory, and so the
# database: its file system decides what an fsync costs (on tmpfs nothing).
# KIP_BENCH_RUNS (default 500) and KIP_BENCH_RTT (2000) change
# the counts of steps 3 and 4; KIP_BENCH_KEEP=1 keeps the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
N=${2:-10000}
RUNS=${KIP_BENCH_RUNS:-500}
RTT=${KIP_BENCH_RTT:-2000}
RESTARTS=5
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KIPD=$BUILD/kipd
KIPCTL=$BUILD/kipctl
LOAD=$BUILD/bench/load
for f in "$KIPD" "$KIPCTL" "$LOAD"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f missing; run make and make ${BUILD#"$ROOT"/}/bench/load first" >&2
		exit 2
	fi
done
case $N in '' | *[!0-9]* | 0*)
	echo "run.sh: N must be a positive integer" >&2
	exit 2
	;;
esac
command -v python3 >/dev/null || {
	echo "run.sh: python3 is needed for the timers" >&2
	exit 2
}

TDIR=$(mktemp -d "${TMPDIR:-/tmp}/kip-bench.XXXXXX")
SOCK=$TDIR/kipd.sock
CONF=$TDIR/kipd.conf
DB=$TDIR/kip.db
HELPER=$TDIR/bench.py
SUPERVISOR="" # the helper process that runs kipd
KIPD_PID=""

kipd_stop() {
	if [ -n "$KIPD_PID" ] && kill -0 "$KIPD_PID" 2>/dev/null; then
		kill -TERM "$KIPD_PID"
	fi
	if [ -n "$SUPERVISOR" ]; then
		local rc=0
		wait "$SUPERVISOR" || rc=$?
		[ "$rc" -eq 0 ] || echo "run.sh: kipd exited with status $rc" >&2
	fi
	SUPERVISOR=""
	KIPD_PID=""
}

cleanup() {
	kipd_stop
	if [ "${KIP_BENCH_KEEP:-0}" = 1 ]; then
		echo "run.sh: kept $TDIR" >&2
	else
		rm -rf "$TDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The configuration, as tests/lib.sh kip_config writes it, without the test
# users: root (and the calling user, if that is someone else) as admin.
ME=$(id -un)
{
	cat <<CONF
store = { path = "$DB"; };
control = {
  socket = "$SOCK";
};
log = { level = "warning"; syslog = false; };
organisation = { name = "Benchkommune"; mailbox = "kip@kommune.example"; };
users = (
CONF
	if [ "$ME" != root ]; then
		printf '  { user = "%s"; role = "admin"; },\n' "$ME"
	fi
	cat <<CONF
  { user = "root"; role = "admin"; }
);
CONF
} >"$CONF"
chmod 0600 "$CONF"

# The plan document: Bilag 2 with a follow-up four months after the bench's
# meeting (2026-06-01); kipd allows at most six, and only after it.
DOC=$TDIR/bilag2-bench.yaml
sed 's/^follow_up:.*/follow_up: 2026-10-01/' "$ROOT/tests/fixtures/bilag2.yaml" >"$DOC"
grep -q '^follow_up: 2026-10-01$' "$DOC" || {
	echo "run.sh: tests/fixtures/bilag2.yaml has no follow_up: line" >&2
	exit 1
}

cat >"$HELPER" <<'PY'
"""Timers for bench/run.sh.

  bench.py supervise SOCKET OUTFILE LOG KIPD ARGS...
      starts KIPD ARGS (stderr appended to LOG), writes "pid startup_ns"
      to OUTFILE once SOCKET accepts a connection (startup_ns = 0 if kipd
      ended first), then waits for kipd and exits with its status
  bench.py spawn RUNS FIRST LAST SEED CMD...
      runs CMD (with a random plan id from FIRST..LAST in place of {} if
      any) RUNS times; prints the wall-clock times in ns, one a line
  bench.py rtt SOCKET RUNS FIRST LAST SEED
      plan.show with random plan ids over one connection; prints ns
  bench.py stats FILE
      prints "median p90 p99 min max" in ms of the ns values in FILE
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time


def supervise(path, outfile, log, argv):
    t0 = time.perf_counter_ns()
    with open(log, "ab") as err:
        proc = subprocess.Popen(argv, stderr=err, stdin=subprocess.DEVNULL)
    startup = 0
    while proc.poll() is None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            startup = time.perf_counter_ns() - t0
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.0002)
        finally:
            s.close()
    with open(outfile + ".tmp", "w") as f:
        f.write(f"{proc.pid} {startup}\n")
    os.rename(outfile + ".tmp", outfile)
    rc = proc.wait()
    sys.exit(rc if rc >= 0 else 128 - rc)


def spawn(runs, first, last, seed, cmd):
    rnd = random.Random(seed)
    out = []
    for _ in range(runs):
        p = str(rnd.randint(first, last))
        argv = [p if a == "{}" else a for a in cmd]
        t0 = time.perf_counter_ns()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dt = time.perf_counter_ns() - t0
        if r.returncode != 0:
            sys.exit(f"{' '.join(argv)}: status {r.returncode}: "
                     f"{r.stderr.decode(errors='replace').strip()}")
        out.append(dt)
    print("\n".join(map(str, out)))


def recv_exact(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit("kipd closed the connection")
        data += chunk
    return bytes(data)


def rtt(path, runs, first, last, seed):
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    out = []
    for _ in range(runs):
        p = rnd.randint(first, last)
        body = json.dumps({"kip": 1, "cmd": "plan.show",
                           "args": {"plan": p}}).encode()
        t0 = time.perf_counter_ns()
        s.sendall(struct.pack(">I", len(body)) + body)
        (n,) = struct.unpack(">I", recv_exact(s, 4))
        reply = recv_exact(s, n)
        dt = time.perf_counter_ns() - t0
        r = json.loads(reply)
        if not r.get("ok"):
            sys.exit(f"plan.show {p}: {r.get('error')}")
        out.append(dt)
    s.close()
    print("\n".join(map(str, out)))


def stats(path):
    with open(path) as f:
        v = sorted(int(x) for x in f if x.strip())
    if not v:
        sys.exit(f"{path}: no values")

    def pct(q):  # nearest rank
        return v[min(len(v) - 1, max(0, -(-q * len(v) // 100) - 1))]

    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    print(" ".join(f"{x / 1e6:.3f}"
                   for x in (med, pct(90), pct(99), v[0], v[-1])))


def main():
    a = sys.argv[1:]
    if a[0] == "supervise":
        supervise(a[1], a[2], a[3], a[4:])
    elif a[0] == "spawn":
        spawn(int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5:])
    elif a[0] == "rtt":
        rtt(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    elif a[0] == "stats":
        stats(a[1])
    else:
        sys.exit("unknown mode")


main()
PY

# kipd_start TAG: starts kipd under the helper; sets KIPD_PID, STARTUP_MS.
kipd_start() {
	local out=$TDIR/start.$1
	python3 "$HELPER" supervise "$SOCK" "$out" "$TDIR/kipd.log" \
		"$KIPD" -f -c "$CONF" &
	SUPERVISOR=$!
	while [ ! -s "$out" ]; do
		if ! kill -0 "$SUPERVISOR" 2>/dev/null; then
			[ -s "$out" ] && break
			echo "run.sh: kipd did not start:" >&2
			cat "$TDIR/kipd.log" >&2
			exit 1
		fi
		sleep 0.01
	done
	read -r KIPD_PID STARTUP_NS <"$out"
	if [ "$STARTUP_NS" = 0 ]; then
		echo "run.sh: kipd did not start:" >&2
		cat "$TDIR/kipd.log" >&2
		exit 1
	fi
	STARTUP_MS=$(awk -v ns="$STARTUP_NS" 'BEGIN { printf "%.1f", ns / 1e6 }')
}

# status_kb PID FIELD: a VmRSS/VmHWM line of /proc/PID/status, in kB.
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
bytes_mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
fsize() { if [ -e "$1" ]; then stat -c %s "$1"; else echo 0; fi; }
# verdict VALUE LIMIT: "ok" if VALUE < LIMIT, else "MISSED".
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { print (v < l ? "ok" : "MISSED") }'; }

echo "== kip bench: N=$N, $TDIR"
echo "kipd: $KIPD"
FSTYPE=$(findmnt -no FSTYPE -T "$TDIR" 2>/dev/null || stat -f -c %T "$TDIR")

# 1. Empty database.
kipd_start empty
START_EMPTY_MS=$STARTUP_MS
RSS_START_KB=$(status_kb "$KIPD_PID" VmRSS)
echo "kipd started (pid $KIPD_PID) in $START_EMPTY_MS ms, RSS $(mb "$RSS_START_KB")"

# 2. The load.
echo "== load: $N citizens, 5 requests each, one connection"
LOAD_T0=$(date +%s%N)
"$LOAD" -n "$N" -d "$DOC" "$SOCK" | tee "$TDIR/load.out"
LOAD_S=$(awk -v a="$LOAD_T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
LOAD_RATE=$(awk '$1 == "requests/s:" { print $2 }' "$TDIR/load.out")
read -r FIRST LAST < <(sed -n 's/^plans: \([0-9]*\)\.\.\([0-9]*\).*/\1 \2/p' "$TDIR/load.out") || {
	echo "run.sh: the loader reported no plan ids" >&2
	exit 1
}
grep -q '^plans: .*not contiguous' "$TDIR/load.out" &&
	echo "run.sh: note: plan ids not contiguous; picking from $FIRST..$LAST" >&2
RSS_LOADED_KB=$(status_kb "$KIPD_PID" VmRSS)
HWM_LOAD_KB=$(status_kb "$KIPD_PID" VmHWM)
DB_BYTES=$(fsize "$DB")
WAL_BYTES=$(fsize "$DB-wal")

# 3. kipctl plan show P, the whole process.
echo "== kipctl plan show P: $RUNS runs"
python3 "$HELPER" spawn "$RUNS" "$FIRST" "$LAST" 1 \
	"$KIPCTL" -s "$SOCK" plan show {} >"$TDIR/ctl.ns"
read -r CTL_MED CTL_P90 CTL_P99 CTL_MIN CTL_MAX < <(python3 "$HELPER" stats "$TDIR/ctl.ns")
python3 "$HELPER" spawn "$RUNS" 1 1 1 /bin/true >"$TDIR/true.ns"
read -r TRUE_MED TRUE_P90 _ _ _ < <(python3 "$HELPER" stats "$TDIR/true.ns")
# Check once that plan show really shows a plan.
"$KIPCTL" -s "$SOCK" plan show "$LAST" >"$TDIR/show.out"

# 4. plan.show over one connection.
echo "== plan.show over one connection: $RTT requests"
python3 "$HELPER" rtt "$SOCK" "$RTT" "$FIRST" "$LAST" 2 >"$TDIR/rtt.ns"
read -r RTT_MED RTT_P90 RTT_P99 RTT_MIN RTT_MAX < <(python3 "$HELPER" stats "$TDIR/rtt.ns")

# 5. Peak RSS of this kipd, over load and measurements.
HWM_KB=$(status_kb "$KIPD_PID" VmHWM)
RSS_END_KB=$(status_kb "$KIPD_PID" VmRSS)
kipd_stop
DB_STOP_BYTES=$(fsize "$DB")
WAL_STOP_BYTES=$(fsize "$DB-wal")

# 6. Start-up on the loaded database.
echo "== restart on the loaded database: $RESTARTS times"
: >"$TDIR/startup.ns"
for r in $(seq 1 "$RESTARTS"); do
	kipd_start "loaded$r"
	echo "$STARTUP_NS" >>"$TDIR/startup.ns"
	RSS_RESTART_KB=$(status_kb "$KIPD_PID" VmRSS)
	# It answers, too.
	"$KIPCTL" -s "$SOCK" plan show "$FIRST" >/dev/null
	kipd_stop
done
read -r UP_MED _ _ UP_MIN UP_MAX < <(python3 "$HELPER" stats "$TDIR/startup.ns")

CTL_OK=$(verdict "$CTL_MED" 5)
RSS_OK=$(verdict "$HWM_KB" $((20 * 1024)))

echo
echo "== kip bench results (N=$N citizens/plans, $(nproc) CPUs, $(uname -r))"
printf '%-46s %-34s %s\n' "measure" "value" "target"
printf '%-46s %-34s %s\n' "----------------------------------------------" \
	"----------------------------------" "----------------"
row() { printf '%-46s %-34s %s\n' "$1" "$2" "${3:-}"; }
row "store: file system of $(dirname "$TDIR")" "$FSTYPE"
row "load: wall time" "$LOAD_S s"
row "load: requests/s (one connection)" "$LOAD_RATE"
row "kipctl plan show P: median" "$CTL_MED ms" "< 5 ms: $CTL_OK"
row "kipctl plan show P: p90 / p99" "$CTL_P90 / $CTL_P99 ms"
row "kipctl plan show P: min / max" "$CTL_MIN / $CTL_MAX ms"
row "  timer's spawn cost (/bin/true): median/p90" "$TRUE_MED / $TRUE_P90 ms"
row "plan.show, one connection: median" "$RTT_MED ms"
row "plan.show, one connection: p90 / p99" "$RTT_P90 / $RTT_P99 ms"
row "plan.show, one connection: min / max" "$RTT_MIN / $RTT_MAX ms"
row "kipd peak RSS (VmHWM), after load+measures" "$(mb "$HWM_KB")" "< 20 MB: $RSS_OK"
row "  VmHWM right after the load" "$(mb "$HWM_LOAD_KB")"
row "kipd RSS right after start (empty db)" "$(mb "$RSS_START_KB")"
row "kipd RSS after load / after measures" "$(mb "$RSS_LOADED_KB") / $(mb "$RSS_END_KB")"
row "kipd RSS right after start (loaded db)" "$(mb "$RSS_RESTART_KB")"
row "kipd start-up, empty db" "$START_EMPTY_MS ms"
row "kipd start-up, loaded db: median of $RESTARTS" "$UP_MED ms (min $UP_MIN, max $UP_MAX)"
row "database file after load (+ WAL)" "$(bytes_mb "$DB_BYTES") (+ $(bytes_mb "$WAL_BYTES"))"
row "database file after stop (+ WAL)" "$(bytes_mb "$DB_STOP_BYTES") (+ $(bytes_mb "$WAL_STOP_BYTES"))"
row "  per plan (file after stop / N)" "$(awk -v b="$DB_STOP_BYTES" -v n="$N" 'BEGIN { printf "%.1f kB", b / n / 1024 }')"
