#!/usr/bin/env python3
"""make_corpus.py PKI OUTDIR -- the hostile inbound mail corpus for inmail.c.

Called by make-corpus.sh (which makes sure PKI has the certificates used
here). Writes one .eml per case into OUTDIR; the name says the verdict:
accept-*.eml must be accepted, reject-<reason>-*.eml must be rejected with
exactly <reason> (inmail_reason_name()). See README.md.

Everything is fictional. Dates, Message-IDs, boundaries and texts are
fixed; what openssl adds (signing time, random keys and IVs) is not, so
the bytes differ between runs but every verdict is the same.
"""
import base64
import os
import quopri
import subprocess
import sys
import tempfile

if len(sys.argv) != 3:
    sys.exit("usage: make_corpus.py PKI OUTDIR")
PKI, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="kip-corpus.")

ORG = "kip@kommune.example"
PETER = "peter.psykiatri@region.example"
JONAS = "jonas.jobcenter@kommune.example"
KAREN = "karen.koordinator@kommune.example"
DATE = "Tue, 03 Mar 2043 10:15:00 +0100"

SUBJECT = "Re: Koordinerende indsatsplan \u2013 ref KIP-12"
TEXT = ("Afvigelse fra indsatsplanen.\n"
        "M\u00e5l: 2 / Indsats: 1\n"
        "\n"
        "Borgeren udeblev fra ambulant behandling tirsdag og onsdag.\n"
        "Vi foresl\u00e5r at fremrykke opf\u00f8lgningsm\u00f8det.\n")
TEXT_JOB = ("M\u00e5l: 1\n"
            "Indsats: 3\n"
            "Borgeren er ikke m\u00f8dt op i jobcentret i denne uge.\n")
ICS_REPLY = ("BEGIN:VCALENDAR\r\n"
             "PRODID:-//kip test//fictional//DA\r\n"
             "VERSION:2.0\r\n"
             "METHOD:REPLY\r\n"
             "BEGIN:VEVENT\r\n"
             "UID:kip-meeting-12-1@kommune.example\r\n"
             "DTSTAMP:20430303T091500Z\r\n"
             "ATTENDEE;PARTSTAT=ACCEPTED:mailto:" + PETER + "\r\n"
             "END:VEVENT\r\n"
             "END:VCALENDAR\r\n")

counter = [0]


def tmpfile(data):
    counter[0] += 1
    path = os.path.join(TMP, "f%d" % counter[0])
    with open(path, "wb") as f:
        f.write(data)
    return path


def openssl(*args):
    r = subprocess.run(["openssl", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        sys.exit("openssl %s failed" % " ".join(args[:2]))
    return r.stdout


def pki(name):
    return os.path.join(PKI, name)


def who(addr):
    return addr.replace("@", "_at_")


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b64(data):
    s = base64.b64encode(data)
    return b"".join(s[i:i + 76] + b"\r\n" for i in range(0, len(s), 76))


def encword(s):
    if all(ord(c) < 128 for c in s):
        return s
    return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?="


# ---------------------------------------------------------------- entities --

def text_part(text, charset="utf-8", cte="quoted-printable", ctype="text/plain",
              extra=""):
    raw = text.encode(charset)
    if cte == "quoted-printable":
        body = crlf(quopri.encodestring(raw.replace(b"\r\n", b"\n")))
    else:
        body = b64(raw)
    return crlf(("Content-Type: %s; charset=%s%s\n"
                 "Content-Transfer-Encoding: %s\n\n" %
                 (ctype, charset, extra, cte)).encode()) + body


def multipart(subtype, parts, boundary, extra_headers=""):
    out = ("Content-Type: multipart/%s; boundary=\"%s\"\r\n%s\r\n" %
           (subtype, boundary, extra_headers)).encode()
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\n" + p
        if not p.endswith(b"\r\n"):
            out += b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def report(text=TEXT, html=True):
    """A deviation report: text/plain (and text/html) in UTF-8."""
    t = text_part(text)
    if not html:
        return t
    h = text_part("<p>" + text.replace("\n", "<br>\n") + "</p>\n",
                  ctype="text/html")
    return multipart("alternative", [t, h], "alt-b1")


def cms_sign(entity, signer, detached=True, md="sha256", cert=None, key=None):
    args = ["cms", "-sign", "-binary", "-md", md, "-outform", "DER",
            "-signer", cert or pki(signer + ".pem"),
            "-inkey", key or pki(signer + ".key"), "-in", tmpfile(entity)]
    if not detached:
        args.append("-nodetach")
    return openssl(*args)


def signed(entity, signer, md="sha256", proto="application/pkcs7-signature",
           cert=None, key=None, boundary="sig-b1"):
    der = cms_sign(entity, signer, md=md, cert=cert, key=key)
    sigtype = proto if "pkcs7" in proto else "application/pkcs7-signature"
    return (("Content-Type: multipart/signed;\r\n"
             " protocol=\"%s\";\r\n"
             " micalg=%s; boundary=\"%s\"\r\n"
             "\r\n"
             "This is an S/MIME signed message.\r\n"
             "\r\n"
             "--%s\r\n" % (proto, "sha-256" if md == "sha256" else md,
                           boundary, boundary)).encode()
            + entity +
            ("\r\n--%s\r\n"
             "Content-Type: %s; name=smime.p7s\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "Content-Disposition: attachment; filename=smime.p7s\r\n"
             "\r\n" % (boundary, sigtype)).encode()
            + b64(der) + ("\r\n--%s--\r\n" % boundary).encode())


def pkcs7_mime(der, smime_type="signed-data", ctype="application/pkcs7-mime"):
    st = "; smime-type=" + smime_type if smime_type else ""
    return (("Content-Type: %s%s; name=smime.p7m\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "Content-Disposition: attachment; filename=smime.p7m\r\n"
             "\r\n" % (ctype, st)).encode() + b64(der))


def opaque(entity, signer, **kw):
    return pkcs7_mime(cms_sign(entity, signer, detached=False, **kw))


def cms_encrypt(entity, recipient_pem, cipher="aes-256-cbc"):
    return openssl("cms", "-encrypt", "-binary", "-" + cipher, "-outform",
                   "DER", "-in", tmpfile(entity), recipient_pem)


def enveloped(der, gcm=False):
    return pkcs7_mime(der, "authEnveloped-data" if gcm else "enveloped-data")


def mail(name, entity, frm=PETER, subject=SUBJECT, headers=None,
         from_header=None, lf=False):
    hs = []
    if from_header is not None:
        hs += from_header
    elif frm:
        hs.append("From: " + encword("Fiktiv Afsender (test)") +
                  " <" + frm + ">")
    hs += ["To: Koordinerende indsatsplaner <" + ORG + ">",
           "Subject: " + encword(subject),
           "Date: " + DATE,
           "Message-ID: <" + name + "@corpus.example>",
           "In-Reply-To: <kip-12-3@kommune.example>",
           "MIME-Version: 1.0"]
    hs += headers or []
    data = ("\r\n".join(hs) + "\r\n").encode() + entity
    if lf:
        data = data.replace(b"\r\n", b"\n")
    with open(os.path.join(OUT, name + ".eml"), "wb") as f:
        f.write(data)


def flip(der, offset):
    b = bytearray(der)
    b[offset] ^= 0x01
    return bytes(b)


# ------------------------------------------------------------------ accept --

peter_signed = signed(report(), who(PETER))
mail("accept-detached", peter_signed)
mail("accept-detached-lf", peter_signed, lf=True)

job = text_part(TEXT_JOB, charset="iso-8859-1", cte="base64")
mail("accept-opaque", opaque(job, who(JONAS)), frm=JONAS,
     subject="Afvigelse KIP-7")

mail("accept-x-pkcs7",
     signed(report(html=False), who(KAREN),
            proto="application/x-pkcs7-signature"),
     frm=KAREN, subject="Afvigelse (kip-31)")

# As kip sends: protected headers inside, a neutral outer subject; here
# with an iMIP reply beside the text.
inner = multipart("mixed",
                  [report(html=False),
                   text_part(ICS_REPLY, cte="base64", ctype="text/calendar",
                             extra="; method=REPLY")],
                  "mix-b1",
                  "Subject: " + encword("Afvigelse \u2013 ref KIP-40") +
                  "\r\nFrom: <" + KAREN + ">\r\n")
karen_signed = signed(inner, who(KAREN))
mail("accept-encrypted-cbc",
     enveloped(cms_encrypt(karen_signed, pki("org.pem"))),
     frm=KAREN, subject="Krypteret meddelelse")

peter_opaque = opaque(report(), who(PETER))
mail("accept-encrypted-gcm",
     enveloped(cms_encrypt(peter_opaque, pki("org.pem"), "aes-256-gcm"),
               gcm=True),
     subject="Krypteret meddelelse KIP-41")

# ECDSA (P-256) instead of RSA.
mail("accept-ec-signer", signed(report(), "ec_recipient"),
     frm="ec.recipient@region.example")

# An empty text in a charset that needs converting: accepted, no numbers.
mail("accept-empty-text",
     signed(text_part("", charset="iso-8859-1", cte="base64"), who(PETER)))

# ---------------------------------------------------------------- unsigned --

mail("reject-unsigned-plain", report(html=False))
mail("reject-unsigned-imip-reply",
     multipart("alternative",
               [text_part("Accepteret: koordinationsm\u00f8de\n"),
                text_part(ICS_REPLY, ctype="text/calendar",
                          extra="; method=REPLY")], "imip-b1"))
mail("reject-unsigned-encrypted-only",
     enveloped(cms_encrypt(report(), pki("org.pem"))))

# ---------------------------------------------------------------- wrapping --

mail("reject-signature-wrapping-mixed",
     multipart("mixed",
               [text_part("M\u00e5l: 1 / Indsats: 2\nDenne tekst er ikke "
                          "signeret.\n"), peter_signed], "wrap-b1"))
with open(os.path.join(OUT, "accept-detached.eml"), "rb") as f:
    whole = f.read()
mail("reject-signature-wrapping-rfc822",
     multipart("mixed",
               [text_part("Se den vedh\u00e6ftede mail.\n"),
                b"Content-Type: message/rfc822\r\n\r\n" + whole], "wrap-b2"))
mail("reject-signature-wrapping-alternative",
     multipart("alternative",
               [text_part("Usigneret alternativ.\n"), peter_signed],
               "wrap-b3"))

# ------------------------------------------------------- signer and sender --

mail("reject-signer-not-sender-partner", peter_signed, frm=JONAS)
mail("reject-signer-not-sender-sender-header", peter_signed,
     headers=["Sender: <sekretariat@region.example>"])
mail("reject-malformed-missing-from", peter_signed, frm=None)
mail("reject-malformed-two-from", peter_signed,
     from_header=["From: <" + PETER + ">", "From: <" + JONAS + ">"])
mail("reject-malformed-two-from-addresses", peter_signed,
     from_header=["From: <" + PETER + ">, <" + JONAS + ">"])

# ------------------------------------------------------------- signatures --

tampered = peter_signed.replace(b"tirsdag", b"torsdag", 1)
assert tampered != peter_signed
mail("reject-bad-signature-tampered-text", tampered)

der = cms_sign(report(), who(PETER), detached=False)
i = der.find(b"udeblev")
assert i > 0
mail("reject-bad-signature-tampered-opaque", pkcs7_mime(flip(der, i)))

mail("reject-bad-signature-sha1", signed(report(), who(PETER), md="sha1"))

# A third part in multipart/signed: OpenSSL reads exactly two.
three = peter_signed.replace(
    b"\r\n--sig-b1--\r\n",
    b"\r\n--sig-b1\r\nContent-Type: text/plain\r\n\r\nM\xc3\xa5l: 9\r\n"
    b"\r\n--sig-b1--\r\n")
mail("reject-malformed-signed-three-parts", three)

mail("reject-expired-signer", signed(report(), "expired"),
     frm="expired@region.example")
mail("reject-revoked-signer", signed(report(), "revoked"),
     frm="revoked@region.example")
mail("reject-expired-not-yet-valid", signed(report(), "notyet"),
     frm="notyet@region.example")
mail("reject-signer-not-sender-wrong-certificate", signed(report(), "wrongaddr"),
     frm="peter.psykiatri@psykiatri.example")
# A certificate for the From's domain but not its address (a colleague's,
# or the organisation's gateway's): only kipd knows whether it counts.
mail("reject-organisation-signer-colleague", signed(report(), "wrongaddr"))
mail("reject-organisation-signer-gateway", signed(report(), "orgdomain"))
mail("reject-untrusted-noprotect", signed(report(), "noprotect"),
     frm="noprotect@region.example")

ss_key, ss_cert = os.path.join(TMP, "ss.key"), os.path.join(TMP, "ss.pem")
openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ss_key,
        "-out", ss_cert, "-days", "365",
        "-subj", "/CN=Selvudstedt (test)",
        "-addext", "subjectAltName=email:" + PETER,
        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext", "extendedKeyUsage=emailProtection")
mail("reject-untrusted-self-signed",
     signed(report(), None, cert=ss_cert, key=ss_key))

# ------------------------------------------------------------- encryption --

plain = karen_signed
ct = cms_encrypt(plain, pki("org.pem"))
ctlen = (len(plain) // 16 + 1) * 16
start = len(ct) - ctlen
k = plain.find(b"udeblev") // 16
assert k > 0 and start > 0
# CBC: flipping a bit of ciphertext block k garbles plaintext block k and
# flips the same bit of block k+1, both inside the signed text.
mail("reject-bad-signature-cbc-gadget", enveloped(flip(ct, start + 16 * k + 3)),
     frm=KAREN)

gcm = cms_encrypt(peter_opaque, pki("org.pem"), "aes-256-gcm")
mail("reject-undecryptable-gcm-tag", enveloped(flip(gcm, len(gcm) - 1),
                                               gcm=True))
mail("reject-undecryptable-gcm-ciphertext",
     enveloped(flip(gcm, len(gcm) - 16 - 2 - 40), gcm=True))
mail("reject-undecryptable-to-someone-else",
     enveloped(cms_encrypt(peter_signed, pki(who(KAREN) + ".pem"))))
mail("reject-malformed-truncated-envelope",
     enveloped(ct[:len(ct) // 2]), frm=KAREN)

# ------------------------------------------------------------- structure --

der = cms_sign(report(), who(PETER), detached=False)
full = b64(der)
mail("reject-malformed-truncated-der",
     pkcs7_mime(b"") + full[:len(full) // 2 // 78 * 78])
mail("reject-malformed-garbage-base64",
     pkcs7_mime(b"") + b"!!!! dette er ikke base64 ****\r\n%%%%\r\n")

deep = text_part(TEXT)
for n in range(50):
    deep = multipart("mixed", [deep], "deep-%d" % n)
mail("reject-too-large-nested-50", signed(deep, who(PETER)))
mail("reject-too-large-nested-50-unsigned", deep)

mail("reject-too-large-many-parts",
     signed(multipart("mixed", [text_part(TEXT)] +
                      [text_part("Del %d.\n" % n) for n in range(100)],
                      "many-b1"), who(PETER)))

blob = bytes((n * 7 + 3) & 0xff for n in range(1200 * 1024))
att = (b"Content-Type: application/octet-stream; name=bilag.bin\r\n"
       b"Content-Transfer-Encoding: base64\r\n"
       b"Content-Disposition: attachment; filename=bilag.bin\r\n\r\n" +
       b64(blob))
mail("reject-too-large-oversized-part",
     signed(multipart("mixed", [text_part(TEXT), att], "big-b1"),
            who(PETER)))

# ---------------------------------------------------------- content types --

certs_only = openssl("crl2pkcs7", "-nocrl", "-outform", "DER",
                     "-certfile", pki(who(PETER) + ".pem"))
mail("reject-wrong-content-type-certs-only",
     pkcs7_mime(certs_only, "certs-only"))
mail("reject-wrong-content-type-certs-only-undeclared",
     pkcs7_mime(certs_only, None))
mail("reject-wrong-content-type-protocol-text-plain",
     signed(report(), who(PETER), proto="text/plain"))
mail("reject-wrong-content-type-no-text-plain",
     signed(text_part("<p>Kun HTML.</p>\n", ctype="text/html"), who(PETER)))
mail("reject-wrong-content-type-bare-signature",
     pkcs7_mime(cms_sign(report(), who(PETER)), None,
                ctype="application/pkcs7-signature"))
mail("reject-wrong-content-type-encrypted-twice",
     enveloped(cms_encrypt(enveloped(cms_encrypt(peter_signed,
                                                 pki("org.pem"))),
                           pki("org.pem"))))
mail("reject-malformed-two-content-types", peter_signed,
     headers=["Content-Type: text/plain; charset=utf-8"])
mail("reject-wrong-content-type-declared-enveloped",
     pkcs7_mime(der, "enveloped-data"))

print("%d mails in %s" % (len([n for n in os.listdir(OUT)
                                if n.endswith(".eml")]), OUT))
