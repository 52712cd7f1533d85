#!/usr/bin/env python3
"""mailpart.py — reads one MIME message and prints what a test asks for.

  mailpart.py FILE header NAME       the value of a top-level header
  mailpart.py FILE part CONTENT-TYPE the decoded body of the first part of
                                     that type (e.g. text/calendar)
  mailpart.py FILE save TYPE OUT     writes the decoded bytes of the first
                                     part of TYPE (e.g. application/pdf) to
                                     OUT and prints its file name
  mailpart.py FILE types             every part's content type, one a line
  mailpart.py FILE text              every text/* part, decoded
  FILE may be - for standard input.
"""
import email
import email.policy
import signal
import sys

# A reader that stops early (grep -q) ends us quietly.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def main():
    path, what = sys.argv[1], sys.argv[2]
    raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if what == "text":
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                sys.stdout.write(part.get_payload(decode=True).decode("utf-8"))
                sys.stdout.write("\n")
        return
    if what == "header":
        print(msg.get(sys.argv[3], ""))
    elif what == "types":
        for part in msg.walk():
            print(part.get_content_type())
    elif what == "part":
        for part in msg.walk():
            if part.get_content_type() == sys.argv[3]:
                sys.stdout.write(part.get_payload(decode=True).decode("utf-8"))
                return
        sys.exit("no part of type " + sys.argv[3])
    elif what == "save":
        for part in msg.walk():
            if part.get_content_type() == sys.argv[3]:
                with open(sys.argv[4], "wb") as out:
                    out.write(part.get_payload(decode=True))
                print(part.get_filename() or "")
                return
        sys.exit("no part of type " + sys.argv[3])


if __name__ == "__main__":
    main()
