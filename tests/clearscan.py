#!/usr/bin/env python3
"""clearscan.py — what a mailbox's reader sees in clear, searched for words.

  clearscan.py [--vocab] [--forbid TEXT]... FILE...

Reads each delivered message FILE as a mail program and its provider would
see it without a private key: every header (RFC 2047 words decoded), every
MIME part decoded (base64, quoted-printable), an iCalendar object with its
folded lines joined, the content of an opaque signed-data part (its
certificates included: they travel in clear), and the certificates of a
detached signature. An enveloped (encrypted) part is not opened: only its
headers are read.

It looks for the words that disclose what a coordinated action plan is
about (--vocab: Danish and English) and for each --forbid TEXT (other
participants' addresses, names, phone numbers), case-insensitively.

Prints one line per hit, "FILE: WHERE: 'TEXT'", then
"scanned N messages, M parts: H hits". Exit status 0 (the caller counts
the hits), 2 on a usage error.
"""
import email
import email.header
import email.policy
import re
import subprocess
import sys

VOCAB = [
    # Danish
    "indsatsplan", "koordinerende", "koordination", "psykiatri",
    "socialpsykiatri", "misbrug", "rusmiddel", "afvigelse", "behandling",
    "afhængighed", "sindslidelse",
    # English
    "action plan", "coordinated", "coordination", "psychiatr",
    "social psychiatry", "substance", "abuse", "addiction", "deviation",
    "treatment", "mental illness",
]


def decode_header(value):
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def cms_content(der, what):
    """The signed content (what='content') or the certificates
    (what='certs') of a CMS signed-data DER blob, as text."""
    if what == "content":
        cmd = ["openssl", "cms", "-verify", "-noverify", "-inform", "DER",
               "-binary"]
    else:
        cmd = ["openssl", "pkcs7", "-inform", "DER", "-print_certs"]
    try:
        out = subprocess.run(cmd, input=der, capture_output=True,
                             timeout=30).stdout
    except Exception:
        return b""
    return out


def texts_of(raw, where, out, depth=0):
    """Appends (where, text) for everything readable in clear in RAW."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        ctype = part.get_content_type()
        place = where + "/" + ctype
        for name, value in part.items():
            out.append((place + " header " + name, decode_header(value)))
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        smime_type = (part.get_param("smime-type") or "").lower()
        if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            if smime_type == "enveloped-data" or smime_type == "authenveloped-data":
                continue  # encrypted: its headers only
            if depth < 3:
                inner = cms_content(payload, "content")
                if inner:
                    texts_of(inner, place + " content", out, depth + 1)
            out.append((place + " certificates",
                        cms_content(payload, "certs").decode("utf-8", "replace")))
            continue
        if ctype in ("application/pkcs7-signature",
                     "application/x-pkcs7-signature"):
            out.append((place + " certificates",
                        cms_content(payload, "certs").decode("utf-8", "replace")))
            # the DER itself, as bytes a reader might search
            out.append((place + " bytes", payload.decode("latin-1")))
            continue
        text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        if ctype == "text/calendar":
            text = re.sub(r"\r?\n[ \t]", "", text)
        out.append((place, text))


def main(argv):
    vocab, forbid, files = False, [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--vocab":
            vocab = True
        elif argv[i] == "--forbid" and i + 1 < len(argv):
            i += 1
            if argv[i]:
                forbid.append(argv[i])
        elif argv[i].startswith("--"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            files.append(argv[i])
        i += 1
    words = (VOCAB if vocab else []) + forbid
    hits = parts = 0
    for f in files:
        with open(f, "rb") as fh:
            raw = fh.read()
        found = []
        texts_of(raw, "", found)
        parts += len(found)
        for where, text in found:
            low = text.lower()
            for w in words:
                if w.lower() in low:
                    hits += 1
                    print("%s: %s: %r" % (f, where, w))
    print("scanned %d messages, %d parts: %d hits" % (len(files), parts, hits))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
