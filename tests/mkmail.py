#!/usr/bin/env python3
"""mkmail.py — builds the mails a partner would send kip, for tests.

  mkmail.py signed   FROM SUBJECT TEXTFILE CERT KEY [--encrypt-to PEM]
                     [--message-id ID] [--in-reply-to ID] [--tamper]
                     [--kip-sign TOOL]
  mkmail.py unsigned FROM SUBJECT TEXTFILE [--message-id ID]
  mkmail.py reply    FROM UID SEQUENCE PARTSTAT [--message-id ID]
                     [--sign CERT KEY]
  mkmail.py dsn      ACTION MSGID RCPT [--envid ID] [--headers-id ID]
                     [--status S] [--diag TEXT] [--original RCPT]
                     [--message-id ID]
  mkmail.py mdn      STYLE MSGID RCPT [--disposition D] [--headers-id ID]
                     [--message-id ID]

dsn: a delivery status notification as Postfix writes one, from
MAILER-DAEMON, about kip's message MSGID (with or without <>) to RCPT:
ACTION failed, delayed, delivered or relayed (the Status by default
5.1.1, 4.4.1, 2.0.0, 2.0.0); the Original-Envelope-Id is MSGID's local
part unless --envid gives another ("-": none); the returned headers
(text/rfc822-headers) carry MSGID unless --headers-id gives another
("-": none). mdn: a disposition notification from RCPT as Thunderbird
(STYLE thunderbird: sent manually, with the returned headers) or Outlook
(outlook: sent automatically, without) sends one; --disposition
displayed (default), deleted, ...

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


def returned_headers(msgid, rcpt):
    return ("Return-Path: <kip@kommune.example>\n"
            "From: Testkommune <kip@kommune.example>\n"
            "To: %s\nSubject: Koordinerende indsatsplan\n"
            "Message-ID: <%s>\nMIME-Version: 1.0\n" % (rcpt, msgid))


def dsn(action, msgid, rcpt, mid, args):
    envid = take(args, "--envid") or msgid.split("@")[0]
    hid = take(args, "--headers-id") or msgid
    status = take(args, "--status") or {"failed": "5.1.1",
                                        "delayed": "4.4.1"}.get(action,
                                                                "2.0.0")
    diag = take(args, "--diag") or "smtp; 550 5.1.1 <%s>: User unknown" % rcpt
    orig = take(args, "--original") or rcpt
    b = "B0UND4RY.1796631245/mail.region.example"
    per_msg = ("Reporting-MTA: dns; mail.region.example\n"
               "X-Postfix-Sender: rfc822; kip@kommune.example\n"
               "Arrival-Date: Mon,  7 Dec 2026 09:14:02 +0100 (CET)\n")
    if envid != "-":
        per_msg += "Original-Envelope-Id: %s\n" % envid
    parts = [
        "Content-Description: Notification\nContent-Type: text/plain; "
        "charset=us-ascii\n\nThis is the mail system at host "
        "mail.region.example.\n",
        "Content-Description: Delivery report\nContent-Type: "
        "message/delivery-status\n\n%s\nFinal-Recipient: rfc822; %s\n"
        "Original-Recipient: rfc822;%s\nAction: %s\nStatus: %s\n"
        "Remote-MTA: dns; mx.region.example\nDiagnostic-Code: %s\n"
        % (per_msg, rcpt, orig, action, status, diag),
    ]
    if hid != "-":
        parts.append("Content-Description: Undelivered Message Headers\n"
                     "Content-Type: text/rfc822-headers\n\n"
                     + returned_headers(hid, rcpt))
    subject = {"failed": "Undelivered Mail Returned to Sender",
               "delayed": "Delayed Mail (still being retried)"}.get(
                   action, "Successful Mail Delivery Report")
    head = ("From: MAILER-DAEMON@mail.region.example (Mail Delivery "
            "System)\nTo: kip@kommune.example\nSubject: %s\n"
            "Date: %s\nMessage-ID: <%s>\nAuto-Submitted: auto-replied\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; "
            "report-type=delivery-status;\n\tboundary=\"%s\"\n\n"
            "This is a MIME-encapsulated message.\n\n"
            % (subject, email.utils.formatdate(localtime=False), mid, b))
    body = "".join("--%s\n%s\n" % (b, p) for p in parts) + "--%s--\n" % b
    return crlf((head + body).encode())


def mdn(style, msgid, rcpt, mid, args):
    disp = take(args, "--disposition") or "displayed"
    hid = take(args, "--headers-id") or msgid
    b = "------------6A1B2C3D4E5F7A8B9C0D1E2F"
    if style == "thunderbird":
        head = ("From: Peter Psykiatri <%s>\nTo: kip@kommune.example\n"
                "Subject: Return Receipt (displayed) - Koordinerende "
                "indsatsplan\nUser-Agent: Mozilla Thunderbird\n" % rcpt)
        fields = ("Reporting-UA: region.example; Mozilla Thunderbird\n"
                  "Final-Recipient: rfc822;%s\nOriginal-Message-ID: <%s>\n"
                  "Disposition: manual-action/MDN-sent-manually; %s\n"
                  % (rcpt, msgid, disp))
        parts = ["Content-Type: text/plain; charset=UTF-8\n\nThis is a "
                 "Return Receipt for the mail that you sent to %s.\n" % rcpt,
                 "Content-Type: message/disposition-notification; "
                 "name=\"MDNPart2.txt\"\nContent-Disposition: inline\n\n"
                 + fields]
        if hid != "-":
            parts.append("Content-Type: text/rfc822-headers; "
                         "name=\"MDNPart3.txt\"\nContent-Disposition: "
                         "inline\n\n" + returned_headers(hid, rcpt))
    else:
        head = ("From: Jonas Job <%s>\nTo: Testkommune "
                "<kip@kommune.example>\nSubject: Read: Koordinerende "
                "indsatsplan\nIn-Reply-To: <%s>\n" % (rcpt, msgid))
        fields = ("Reporting-UA: EX01.jobcenter.example; Microsoft Exchange "
                  "Server 2019\nFinal-recipient: RFC822; %s\n"
                  "Original-Message-ID: <%s>\nDisposition: "
                  "automatic-action/MDN-sent-automatically; %s\n"
                  "X-Display-Name: Jonas Job\n" % (rcpt, msgid, disp))
        parts = ["Content-Type: text/plain; charset=\"us-ascii\"\n\n"
                 "Your message was read.\n",
                 "Content-Type: message/disposition-notification\n\n"
                 + fields]
    head += ("Date: %s\nMessage-ID: <%s>\nMIME-Version: 1.0\n"
             "Content-Type: multipart/report; "
             "report-type=disposition-notification;\n boundary=\"%s\"\n\n"
             % (email.utils.formatdate(localtime=False), mid, b))
    body = "".join("--%s\n%s\n" % (b, p) for p in parts) + "--%s--\n" % b
    return crlf((head + body).encode())


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
    elif kind == "dsn":
        action, msgid, rcpt = args[1:4]
        sys.stdout.buffer.write(dsn(action, msgid.strip("<>"), rcpt, mid,
                                    args))
    elif kind == "mdn":
        style, msgid, rcpt = args[1:4]
        sys.stdout.buffer.write(mdn(style, msgid.strip("<>"), rcpt, mid,
                                    args))
    else:
        sys.exit("unknown kind " + kind)


main()
