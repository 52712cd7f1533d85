#!/usr/bin/env python3
"""mkmail.py — builds the mails a partner would send kip, for tests.

  mkmail.py signed   FROM SUBJECT TEXTFILE CERT KEY [--encrypt-to PEM]
                     [--message-id ID] [--in-reply-to ID] [--tamper]
                     [--kip-sign TOOL]
  mkmail.py unsigned FROM SUBJECT TEXTFILE [--message-id ID]
  mkmail.py reply    FROM UID SEQUENCE PARTSTAT [--message-id ID]
                     [--sign CERT KEY]

Writes the message (CRLF) to standard output. Signing and encryption use
the openssl command line (S/MIME, SHA-256, detached signature). --tamper
changes one byte of the signed text after signing. The people are
fictional.
"""
import email.utils
import subprocess
import sys
import uuid


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def openssl(args, data):
    p = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        sys.exit(1)
    return p.stdout


def headers(frm, subject, mid, irt=None):
    h = [
        "From: " + frm,
        "To: kip@kommune.example",
        "Subject: " + subject,
        "Date: " + email.utils.formatdate(localtime=False),
        "Message-ID: <%s>" % mid,
    ]
    if irt:
        h.append("In-Reply-To: <%s>" % irt.strip("<>"))
    return ("\r\n".join(h) + "\r\n").encode()


def text_entity(text):
    return crlf(b"Content-Type: text/plain; charset=utf-8\n"
                b"Content-Transfer-Encoding: 8bit\n\n" + text)


SIGN_TOOL = None


def sign(entity, cert, key):
    if SIGN_TOOL:
        # kip's own signing (tests/tools/smimesign): announces AES-GCM.
        p = subprocess.run([SIGN_TOOL, cert, key], input=entity,
                           capture_output=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr.decode(errors="replace"))
            sys.exit(1)
        return b"MIME-Version: 1.0\r\n" + p.stdout
    # openssl writes MIME-Version and the multipart/signed header itself.
    out = openssl(["cms", "-sign", "-signer", cert, "-inkey", key,
                   "-md", "sha256", "-binary"], entity)
    return crlf(out)


def encrypt(entity, cert):
    return crlf(openssl(["cms", "-encrypt", "-aes-256-cbc", "-binary",
                         cert], entity))


def take(args, flag, n=1):
    if flag not in args:
        return None
    i = args.index(flag)
    vals = args[i + 1:i + 1 + n]
    del args[i:i + 1 + n]
    return vals if n > 1 else (vals[0] if n else True)


def main():
    global SIGN_TOOL
    args = sys.argv[1:]
    SIGN_TOOL = take(args, "--kip-sign")
    mid = take(args, "--message-id") or "%s@partner.example" % uuid.uuid4()
    irt = take(args, "--in-reply-to")
    enc = take(args, "--encrypt-to")
    tamper = take(args, "--tamper", 0)
    signer = take(args, "--sign", 2)
    kind = args[0]
    if kind == "signed":
        frm, subject, textfile, cert, key = args[1:6]
        with open(textfile, "rb") as f:
            body = sign(text_entity(f.read()), cert, key)
        if tamper:
            i = body.index(b"\r\n\r\n", body.index(b"text/plain")) + 4
            body = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
        if enc:
            body = encrypt(body, enc)
        sys.stdout.buffer.write(headers(frm, subject, mid, irt) + body)
    elif kind == "unsigned":
        frm, subject, textfile = args[1:4]
        with open(textfile, "rb") as f:
            body = b"MIME-Version: 1.0\r\n" + text_entity(f.read())
        sys.stdout.buffer.write(headers(frm, subject, mid, irt) + body)
    elif kind == "reply":
        frm, uid, seq, partstat = args[1:5]
        ics = crlf((
            "BEGIN:VCALENDAR\nPRODID:-//Partner//Kalender 1.0//DA\n"
            "VERSION:2.0\nMETHOD:REPLY\nBEGIN:VEVENT\nUID:%s\n"
            "SEQUENCE:%s\nDTSTAMP:20261122T100000Z\n"
            "ATTENDEE;PARTSTAT=%s:mailto:%s\n"
            "ORGANIZER:mailto:kip@kommune.example\n"
            "END:VEVENT\nEND:VCALENDAR\n" % (uid, seq, partstat, frm)
        ).encode())
        entity = crlf(
            b"Content-Type: text/calendar; charset=utf-8; method=REPLY\n"
            b"Content-Transfer-Encoding: 8bit\n\n") + ics
        if signer:
            body = sign(entity, signer[0], signer[1])
        else:
            body = b"MIME-Version: 1.0\r\n" + entity
        sys.stdout.buffer.write(
            headers(frm, "Svar: Koordinationsmøde", mid) + body)
    else:
        sys.exit("unknown kind " + kind)


main()
