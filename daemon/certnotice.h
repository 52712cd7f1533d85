/* certnotice.h — the weekly notice about S/MIME certificates that expire
 * soon (cmd_cert.c). */
#ifndef KIP_CERTNOTICE_H
#define KIP_CERTNOTICE_H

struct kipd;

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
 * Opens and commits its own transaction, so it must not run inside one;
 * after the commit it starts the outbox and MQTT. On failure everything is
 * rolled back, the error is logged, and the next call tries again.
 */
void cert_weekly_notice(struct kipd *k);

#endif
