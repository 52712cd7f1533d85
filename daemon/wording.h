/* wording.h — the words of what kip sends in clear, by kind of mailbox.
 *
 * Some of what kip sends travels unencrypted by design: the outer Subject
 * of every message, the neutral notice to those without a certificate,
 * reminders, and the signed iMIP invitation. A coordinated action plan
 * exists only for people with a mental illness and a drug or alcohol
 * problem, so the plan type, the service or the kind of meeting named in
 * a citizen's or a relative's mailbox discloses health data to whoever
 * reads that mailbox or runs it. Professionals, in their work mailbox,
 * expect the context and keep the informative words.
 *
 * A recipient is private when it is the citizen, a relative or a
 * supporter, or a professional's contact marked as a private mailbox.
 * The private texts are built in, in Danish and English
 * (plans.default_lang), and each can be replaced in kipd.conf's "private"
 * group. docs/PRIVACY.md says what is in clear, for whom, and why.
 *
 * Templates name their values in braces: {ref} the plan's reference
 * ("KIP-7"), {org} private.name (private texts only), {coordinator} the
 * coordinator's name and phone, {date} and {time} a meeting's ("06.03.2030",
 * "10:00"); {p} starts a new paragraph.
 */
#ifndef KIP_WORDING_H
#define KIP_WORDING_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum wording {
	W_PLAN_SUBJECT,	      /* the outer Subject of a plan version */
	W_PLAN_NOTICE,	      /* the notice to one without a certificate */
	W_DEVIATION_SUBJECT,  /* the outer Subject of a deviation report */
	W_DEVIATION_NOTICE,   /* its notice */
	W_INVITATION_SUBJECT, /* an invitation and its encrypted details */
	W_CANCEL_SUBJECT,     /* a cancelled meeting */
	W_MEETING_SUMMARY,    /* the invitation's SUMMARY */
	W_REMINDER_SUBJECT,   /* a meeting reminder */
	W_REMINDER_TEXT,
	W_DIGEST_SUBJECT, /* the coordinator's daily digest ({date}) */
	W_DIGEST_NOTICE,
	W_PDF_NOTICE, /* beside a plan as a password-protected PDF */
	W_COUNT
};

/* The values a template may name; NULL where a text has none. */
struct wording_args {
	long long plan; /* {ref}: "KIP-<plan>" */
	const char *coordinator;
	const char *date;
	const char *time;
};

/* Writes text ID for a private or a professional recipient into OUT,
 * truncated to LEN (always terminated). Line breaks are CRLF. */
void wording(const struct kip_config *cfg, enum wording id, bool private,
	     const struct wording_args *a, char *out, size_t len);

/* The display name of the sender (the From header, the invitation's
 * organiser): private.name for a private recipient, NULL when that is
 * unset (the address alone); organisation.name for a professional. */
const char *wording_sender(const struct kip_config *cfg, bool private);

/* "NAME <ADDR>" into OUT ("\"NAME\" <ADDR>" when NAME holds a comma, a
 * dot or another special), or ADDR alone when NAME is NULL or empty. */
void wording_from(const char *name, const char *addr, char *out, size_t len);

/* Whether RECIPIENT_KIND (citizen, relative, supporter, professional),
 * with the contact's private-mailbox mark, is a private recipient. */
bool wording_private(const char *recipient_kind, bool marked);

#endif
