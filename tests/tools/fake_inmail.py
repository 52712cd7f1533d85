#!/usr/bin/python3
"""A stand-in for kip-inmail that fails on purpose (t_intake.sh).

kipd starts it as its mail reader when it sits beside kipd's executable.
It passes everything to the real reader (KIP_REAL_INMAIL), except a
message holding the header "X-Kip-Test: crash" (it dies by SIGSEGV),
"X-Kip-Test: garbage" (it answers a frame that is not a verdict) or
"X-Kip-Test: hang" (it never answers).
"""
import os
import signal
import struct
import subprocess
import sys
import time


def read_frame(f):
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = f.read(n)
    if len(data) < n:
        return None
    return data


def write_frame(f, data):
    f.write(struct.pack(">I", len(data)) + data)
    f.flush()


def main():
    real = subprocess.Popen([os.environ["KIP_REAL_INMAIL"]],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    settings = read_frame(stdin)
    if settings is None:
        return 1
    write_frame(real.stdin, settings)
    write_frame(stdout, read_frame(real.stdout))
    while True:
        raw = read_frame(stdin)
        if raw is None:
            return 0
        if b"X-Kip-Test: crash" in raw:
            real.kill()
            os.kill(os.getpid(), signal.SIGSEGV)
        if b"X-Kip-Test: garbage" in raw:
            write_frame(stdout, b"\xff\x00\x00\x00\x01x")
            continue
        if b"X-Kip-Test: hang" in raw:
            time.sleep(600)
        write_frame(real.stdin, raw)
        write_frame(stdout, read_frame(real.stdout))


if __name__ == "__main__":
    sys.exit(main())
