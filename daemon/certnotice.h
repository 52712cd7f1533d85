/* certnotice.h — the weekly notice about S/MIME certificates that expire
 * soon (certnotice.c). */
#ifndef KIP_CERTNOTICE_H
#define KIP_CERTNOTICE_H

struct cert_info;
struct kipd;

/*
 * The organisation's signing certificate (smime.cert, read again: kipd
 * keeps only the key and address from it): address, fingerprint and
 * not_after in cert_info's format. -ENOENT when no signer is configured,
 * -EIO when the file cannot be read (logged).
 */
int cert_org(const struct kipd *k, struct cert_info *ret);

/*
 * Once per ISO week (local time; the week "YYYY-Www" is recorded in
 * cert_notices, so calling it daily, or again after a restart, is safe):
 * finds every stored certificate that expires within
 * certificates.notice_days or has expired (the organisation's own, the
 * professionals', the citizens', and relatives' while the citizen consents
 * to involving them), emits "certificate.expiring" for each, and queues a
 * signed, neutral text message (ids and dates, no names) to
 * certificates.notice_address (if set: all of them) and to each
 * coordinator of an active plan whose citizen or members hold one of them
 * (those only). Without a signing certificate the events are emitted and
 * nothing is sent (logged).
 *
 * Its own unit of work (txn.h), so it must not run inside one; the mail
 * and events it queues mark it. On failure everything is rolled back, the
 * error is logged, and the next call tries again.
 */
void cert_weekly_notice(struct kipd *k);

#endif
