#!/usr/bin/env bash
# systemd: the unit passes systemd-analyze verify and security (exposure at
# most 2.0), sysusers and tmpfiles apply to an empty root, and kipd speaks
# sd_notify's protocol to a socket the test holds: READY=1 only once the
# control socket accepts, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1
# then READY=1 on SIGHUP, STOPPING=1 and exit 0 on SIGTERM.
# Needs systemd's tools (package systemd, not running) and python3; both
# come from tests/deps.sh.
. "$(dirname "$0")/../lib.sh"

SD=$ROOT/systemd
PYTHON=${PYTHON:-python3}
KIPD_ABS=$(readlink -f "$KIPD")

# --- the unit ----------------------------------------------------------

# verify refuses a unit whose ExecStart= does not exist, and /usr/local/
# sbin/kipd is not installed here: check a copy that runs the built kipd.
# verify exits 0 on unknown keys and only warns, so any output fails too.
mkdir -p "$TDIR/unit"
sed "s|/usr/local/sbin/kipd|$KIPD_ABS|g" "$SD/kipd.service" >"$TDIR/unit/kipd.service"
out=$(systemd-analyze verify "$TDIR/unit/kipd.service" 2>&1)
check_eq "systemd-analyze verify accepts kipd.service, without a warning" \
	"0:" "$?:$out"

check_out "the unit runs the installed kipd (make install, PREFIX=/usr/local)" \
	"^ExecStart=/usr/local/sbin/kipd -c /etc/kip/kipd.conf$" cat "$SD/kipd.service"
check_out "the unit checks the configuration before starting" \
	"^ExecStartPre=/usr/local/sbin/kipd --check-config" cat "$SD/kipd.service"
check_out "the unit waits for READY=1 and has a watchdog" \
	"^Type=notify$" cat "$SD/kipd.service"
check_out "the unit's watchdog is 30 s" "^WatchdogSec=30s$" cat "$SD/kipd.service"
# In a user namespace SO_PEERCRED would show every caller but kip as nobody.
check_eq "the unit has no PrivateUsers= (SO_PEERCRED needs real uids)" "" \
	"$(grep -E '^[[:space:]]*PrivateUsers=' "$SD/kipd.service")"

out=$(systemd-analyze security --offline=yes "$SD/kipd.service" 2>&1)
exposure=$(sed -n 's/.*Overall exposure level for kipd.service: \([0-9.]*\).*/\1/p' <<<"$out")
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	pass "systemd-analyze security: exposure $exposure (at most 2.0)"
else
	fail "systemd-analyze security: exposure at most 2.0" \
		"$(grep -E '✗|Overall' <<<"$out")"
fi

# --- user and directories ----------------------------------------------

R=$TDIR/root
mkdir -p "$R/etc"
check "systemd-sysusers creates user kip in an empty root" \
	systemd-sysusers --root="$R" "$SD/kip.sysusers"
check_out "kip: own group, home /var/lib/kip, no login" \
	"^kip:x:[0-9]+:[0-9]+:[^:]*:/var/lib/kip:/usr/sbin/nologin$" cat "$R/etc/passwd"
check_out "group kip exists" "^kip:x:[0-9]+:" cat "$R/etc/group"
kip_ids="$(awk -F: '$1 == "kip" { print $3 ":" $4 }' "$R/etc/passwd")"
mkdir -p "$R/etc/kip" && chmod 0700 "$R/etc/kip" # as ConfigurationDirectory= leaves it
check "systemd-tmpfiles --create applies kip.tmpfiles" \
	systemd-tmpfiles --root="$R" --create "$SD/kip.tmpfiles"
check_eq "/var/lib/kip is 0700 kip:kip" "700 $kip_ids" "$(stat -c '%a %u:%g' "$R/var/lib/kip")"
check_eq "/run/kip is 0750 kip:kip" "750 $kip_ids" "$(stat -c '%a %u:%g' "$R/run/kip")"
check_eq "/etc/kip is 0750 root:kip, so kipd can read its configuration" \
	"750 0:${kip_ids#*:}" "$(stat -c '%a %u:%g' "$R/etc/kip")"

# --- the notify protocol -------------------------------------------------

# notify.py MODE: binds NOTIFY_SOCKET, starts kipd with it (and with
# T_WATCHDOG_USEC / T_WATCHDOG_PID as WATCHDOG_USEC / WATCHDOG_PID; "self"
# is kipd's own pid), and prints what it saw as key=value lines. Every
# datagram goes to $TDIR/notify.log with its time since the start.
cat >"$TDIR/notify.py" <<'PY'
import os, signal, socket, subprocess, sys, time

mode, kipd, conf, ctl, addr, log_path, err_path = sys.argv[1:8]
msgs = []  # (seconds since start, [lines])
t0 = time.monotonic()

def out(key, value):
    print(f"{key}={value}", flush=True)

def accepts(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return "accepts"
    except OSError as e:
        return f"refused ({e.strerror})"
    finally:
        s.close()

ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind("\0" + addr[1:] if addr.startswith("@") else addr)

def receive(timeout):
    """One datagram into msgs within timeout seconds; False if none."""
    ns.settimeout(max(timeout, 0.001))
    try:
        data = ns.recv(4096)
    except socket.timeout:
        return False
    lines = data.decode().split("\n")
    msgs.append((time.monotonic() - t0, lines))
    if "READY=1" in lines:  # at once: is the control socket up?
        msgs[-1][1].append("#socket " + accepts(ctl))
    return True

def wait_for(line, start, timeout):
    """Index of the first message from msgs[start:] holding line."""
    deadline = time.monotonic() + timeout
    i = start
    while True:
        while i < len(msgs):
            if line in msgs[i][1]:
                return i
            i += 1
        left = deadline - time.monotonic()
        if left <= 0 or not receive(left):
            if i >= len(msgs):
                return None

def collect(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        receive(deadline - time.monotonic())

def states(start, names=("READY=1", "RELOADING=1", "STOPPING=1")):
    return " ".join(l for _, ls in msgs[start:] for l in ls if l in names)

env = {k: v for k, v in os.environ.items()
       if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
env["NOTIFY_SOCKET"] = addr
argv = [kipd, "-f", "-c", conf]
if os.environ.get("T_WATCHDOG_USEC"):
    env["WATCHDOG_USEC"] = os.environ["T_WATCHDOG_USEC"]
if os.environ.get("T_WATCHDOG_PID") == "self":
    argv = ["/bin/sh", "-c",
            'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" "$@"'] + argv
elif os.environ.get("T_WATCHDOG_PID"):
    env["WATCHDOG_PID"] = os.environ["T_WATCHDOG_PID"]
with open(err_path, "ab") as err:
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stderr=err)
try:
    i = wait_for("READY=1", 0, 20)
    out("ready", "no" if i is None else "yes")
    if i is not None:
        t_ready = msgs[i][0]
        out("ready_socket", [l for l in msgs[i][1] if l.startswith("#")][0][8:])
        out("ready_status", next((l for l in msgs[i][1]
                                  if l.startswith("STATUS=")), "none"))
        if mode == "full":
            collect(3.0)
            pings = [t for t, ls in msgs if "WATCHDOG=1" in ls
                     and t_ready <= t <= t_ready + 3.0]
            out("pings_3s", len(pings))
            marks = [t_ready] + pings + [t_ready + 3.0]
            gap = max(b - a for a, b in zip(marks, marks[1:]))
            out("ping_max_gap_ms", int(gap * 1000))
            mark = len(msgs)
            proc.send_signal(signal.SIGHUP)
            j = wait_for("RELOADING=1", mark, 10)
            if j is not None:
                wait_for("READY=1", j, 10)
                out("reload_monotonic", "yes" if any(
                    l.startswith("MONOTONIC_USEC=") for l in msgs[j][1])
                    else "no")
            out("reload_states", states(mark))
            out("reload_watchdog_usec", " ".join(
                l.split("=", 1)[1] for _, ls in msgs[mark:] for l in ls
                if l.startswith("WATCHDOG_USEC=")))
            ready2 = [ls for _, ls in msgs[mark:] if "READY=1" in ls]
            out("reload_socket", ready2[0][-1][8:] if ready2 else "none")
        else:
            collect(1.0)
            out("pings_1s", sum(1 for _, ls in msgs if "WATCHDOG=1" in ls))
    mark = len(msgs)
    proc.send_signal(signal.SIGTERM)
    k = wait_for("STOPPING=1", mark, 10)
    if k is not None:
        out("stop_extend", "yes" if any(
            l.startswith("EXTEND_TIMEOUT_USEC=") for l in msgs[k][1])
            else "no")
    try:
        out("exit", proc.wait(30))
    except subprocess.TimeoutExpired:
        out("exit", "timeout")
    collect(0.1)
    out("stop_states", states(mark))
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    with open(log_path, "a") as log:
        log.write(f"--- {mode} {addr}\n")
        for t, ls in msgs:
            log.write(f"{t:8.3f} {' | '.join(ls)}\n")
PY

kip_config
# notify MODE ADDR: runs notify.py; its key=value lines go to $TDIR/res.
notify() {
	"$PYTHON" "$TDIR/notify.py" "$1" "$KIPD" "$TDIR/kipd.conf" "$TDIR/kipd.sock" \
		"$2" "$TDIR/notify.log" "$TDIR/kipd.log" >"$TDIR/res" 2>&1
}
# res KEY: the value notify.py printed for KEY.
res() { sed -n "s/^$1=//p" "$TDIR/res" | head -1; }
notify_log() { printf '%s\n' "$(cat "$TDIR/res")" "$(tail -12 "$TDIR/notify.log")"; }

# 1. A path socket, a 2 s watchdog meant for kipd's pid: the whole life.
T_WATCHDOG_USEC=2000000 T_WATCHDOG_PID=self notify full "$TDIR/notify.sock"
check_eq "READY=1 arrives" "yes" "$(res ready)"
check_eq "at READY=1 the control socket accepts connections" "accepts" "$(res ready_socket)"
check_out "READY=1 comes with a STATUS= line" "^STATUS=serving .*kipd.sock" res ready_status
pings=$(res pings_3s)
if [ "${pings:-0}" -ge 2 ]; then
	pass "WATCHDOG=1 at least twice within 3 s of READY=1 ($pings)"
else
	fail "WATCHDOG=1 at least twice within 3 s of READY=1" "$(notify_log)"
fi
gap=$(res ping_max_gap_ms)
if [ -n "$gap" ] && [ "$gap" -lt 2000 ]; then
	pass "pings come within the 2 s interval (longest gap $gap ms)"
else
	fail "pings come within the 2 s interval" "$(notify_log)"
fi
check_eq "SIGHUP: RELOADING=1, then READY=1" "RELOADING=1 READY=1" "$(res reload_states)"
check_eq "RELOADING=1 carries MONOTONIC_USEC=" "yes" "$(res reload_monotonic)"
check_eq "the socket still accepts after the reload" "accepts" "$(res reload_socket)"
# reload() may wait smtp.timeout_s for transfers in flight: the watchdog
# is stretched by that much, then set back.
wd=$(res reload_watchdog_usec)
if [[ "$wd" =~ ^([0-9]+)\ 2000000$ ]] && [ "${BASH_REMATCH[1]}" -gt 2000000 ]; then
	pass "the watchdog is stretched during the reload, then restored ($wd)"
else
	fail "the watchdog is stretched during the reload, then restored" "$(notify_log)"
fi
check_eq "SIGTERM: STOPPING=1" "STOPPING=1" "$(res stop_states)"
check_eq "STOPPING=1 extends the stop timeout for SMTP in flight" "yes" "$(res stop_extend)"
check_eq "kipd exits 0 after SIGTERM" "0" "$(res exit)"
check_out "kipd logs the watchdog it keeps" "watchdog: WATCHDOG=1 every 1000 ms" \
	cat "$TDIR/kipd.log"
check_out "the reload was applied" "configuration reloaded" cat "$TDIR/kipd.log"

# 2. An abstract socket ('@'), and a watchdog meant for another process.
T_WATCHDOG_USEC=200000 T_WATCHDOG_PID=1 notify short "@kip-test-$$-$RANDOM"
check_eq "an abstract NOTIFY_SOCKET gets READY=1" "yes" "$(res ready)"
check_eq "no WATCHDOG=1 when WATCHDOG_PID is another process" "0" "$(res pings_1s)"
check_eq "abstract socket: STOPPING=1, exit 0" "STOPPING=1 0" "$(res stop_states) $(res exit)"

# 3. A malformed WATCHDOG_USEC: warned about, no pings, kipd serves anyway.
T_WATCHDOG_USEC=2s notify short "$TDIR/notify2.sock"
check_eq "a malformed WATCHDOG_USEC: READY=1 all the same" "yes" "$(res ready)"
check_eq "a malformed WATCHDOG_USEC: no WATCHDOG=1" "0" "$(res pings_1s)"
check_out "a malformed WATCHDOG_USEC is logged" "WATCHDOG_USEC or WATCHDOG_PID malformed" \
	cat "$TDIR/kipd.log"
check_eq "malformed watchdog: exit 0" "0" "$(res exit)"

# 4. Outside systemd (no NOTIFY_SOCKET) kipd runs as always.
kip_start
check_alive "without NOTIFY_SOCKET kipd serves as before"
t_done
