#!/usr/bin/python3
"""recorder.py — a recording SMTP server for kip's tests (aiosmtpd).

Listens on 127.0.0.1 only, offers no STARTTLS and no AUTH, and records
every line a client sends (commands and message text alike, as received,
without the line ending) to LOG. Accepted messages go to MAILDIR, one
file per message.

The mode decides how it answers; it is read from MODEFILE (if given and
present) at every new connection, so a test can switch it while the
server runs, else from --mode:
  accept    a plain SMTP server that accepts every message
  tempfail  answers EHLO/HELO normally, QUIT with 221, and every other
            command with "451 4.3.0 ..."
  permfail  the same with "554 5.7.1 ..."
  stall     accepts the TCP connection and never answers (no greeting),
            still recording what the client sends
  dsn-refused  accepts as in accept, but its EHLO names DSN although it
            refuses the parameters of RFC 3461 on MAIL and RCPT (555), as
            a relay behind a filter that knows no DSN may

Usage: recorder.py --port N --log LOG --maildir DIR [--mode MODE]
                   [--mode-file FILE] [--pid-file FILE]
"""

import argparse
import asyncio
import os
import signal
import sys

from aiosmtpd.smtp import SMTP

MODES = ("accept", "tempfail", "permfail", "stall", "dsn-refused")
REPLIES = {
    "tempfail": "451 4.3.0 Temporarily rejected by the kip test recorder",
    "permfail": "554 5.7.1 Rejected by the kip test recorder",
}
# Commands answered normally in the tempfail and permfail modes.
PASS_COMMANDS = ("EHLO", "HELO", "QUIT")


class Recorder:
    def __init__(self, opts):
        self.opts = opts
        self.log = open(opts.log, "ab", buffering=0)
        self.count = 0

    def mode(self):
        if self.opts.mode_file:
            try:
                with open(self.opts.mode_file, encoding="ascii") as f:
                    m = f.read().strip()
                if m in MODES:
                    return m
                print(f"recorder: unknown mode {m!r} in {self.opts.mode_file}",
                      file=sys.stderr)
            except FileNotFoundError:
                pass
        return self.opts.mode

    def record(self, line):
        self.log.write(line + b"\n")

    # aiosmtpd handler hook: the EHLO reply. (With this hook, the hook
    # records the client's name.)
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if server.recorder_mode == "dsn-refused":
            responses.insert(len(responses) - 1, "250-DSN")
        return responses

    # aiosmtpd handler hook: store an accepted message.
    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{os.getpid()}.{self.count}.eml"
        tmp = os.path.join(self.opts.maildir, "." + name)
        with open(tmp, "wb") as f:
            f.write(b"X-Recorder-Mail-From: " + envelope.mail_from.encode() + b"\r\n")
            for r in envelope.rcpt_tos:
                f.write(b"X-Recorder-Rcpt-To: " + r.encode() + b"\r\n")
            f.write(envelope.original_content or b"")
        os.rename(tmp, os.path.join(self.opts.maildir, name))
        return "250 2.0.0 Message accepted for delivery"


class LineLogger:
    """Splits received bytes into lines and records them."""

    def __init__(self, recorder):
        self.recorder = recorder
        self.buf = b""

    def feed(self, data):
        self.buf += data
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line, self.buf = self.buf[:i], self.buf[i + 1:]
            self.recorder.record(line.rstrip(b"\r"))

    def flush(self):
        if self.buf:
            self.recorder.record(self.buf.rstrip(b"\r"))
            self.buf = b""


class RejectingMethods(dict):
    """_smtp_methods for the fail modes: every command but EHLO, HELO and
    QUIT (also unknown ones) gets the mode's reply."""

    def __init__(self, methods, smtp, reply):
        super().__init__(methods)
        self.smtp = smtp
        self.reply = reply

    def get(self, command, default=None):
        if command in PASS_COMMANDS:
            return super().get(command, default)

        async def reject(arg):
            await self.smtp.push(self.reply)

        return reject


class RecordingSMTP(SMTP):
    def __init__(self, recorder, mode):
        super().__init__(recorder, hostname="recorder.test", ident="kip test recorder",
                         enable_SMTPUTF8=False, decode_data=False,
                         data_size_limit=64 * 1024 * 1024)
        self.lines = LineLogger(recorder)
        self.recorder_mode = mode
        if mode in REPLIES:
            self._smtp_methods = RejectingMethods(self._smtp_methods, self,
                                                  REPLIES[mode])

    def data_received(self, data):
        self.lines.feed(data)
        super().data_received(data)

    def connection_lost(self, exc):
        self.lines.flush()
        super().connection_lost(exc)


class Staller(asyncio.Protocol):
    """Accepts the connection, records what arrives, never answers."""

    def __init__(self, recorder):
        self.lines = LineLogger(recorder)

    def data_received(self, data):
        self.lines.feed(data)

    def connection_lost(self, exc):
        self.lines.flush()


def main():
    ap = argparse.ArgumentParser(description="recording SMTP server for tests")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--mode", choices=MODES, default="accept")
    ap.add_argument("--mode-file")
    ap.add_argument("--pid-file")
    opts = ap.parse_args()
    os.makedirs(opts.maildir, exist_ok=True)
    recorder = Recorder(opts)

    def factory():
        mode = recorder.mode()
        if mode == "stall":
            return Staller(recorder)
        return RecordingSMTP(recorder, mode)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=opts.port,
                           reuse_address=True))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if opts.pid_file:
        with open(opts.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(opts.pid_file + ".tmp", opts.pid_file)
    print(f"recorder: listening on 127.0.0.1:{opts.port}", file=sys.stderr, flush=True)
    loop.run_until_complete(stop.wait())
    server.close()
    # Connections still open (a stalled client) are dropped with the loop.
    loop.close()


if __name__ == "__main__":
    main()
