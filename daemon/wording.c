/* wording.c — see wording.h. */
#include "wording.h"

#include <stdio.h>
#include <string.h>

#include "template.h"

enum { PRO, PRIV };
enum { DA, EN };

#define AUTO_DA                                                                \
	"{p}Beskeden er sendt automatisk og indeholder ingen "                 \
	"personoplysninger."
#define AUTO_EN                                                                \
	"{p}This message was sent automatically and contains no "              \
	"personal data."

/* The built-in texts: [text][language][professional, private]. */
static const char *const builtin[W_COUNT][2][2] = {
    [W_PLAN_SUBJECT] = {{"Koordinerende indsatsplan – ref {ref}",
			 "Besked fra {org} – ref. {ref}"},
			{"Coordinated action plan – ref {ref}",
			 "Message from {org} – ref. {ref}"}},
    [W_PLAN_NOTICE] =
	{{"Der er en ny version af en koordinerende indsatsplan, som du "
	  "deltager i (ref. {ref}).{p}Af hensyn til datasikkerheden sendes "
	  "den ikke med almindelig e-mail. Kontakt koordinatoren, "
	  "{coordinator}, for at få den." AUTO_DA,
	  "Der er en ny besked til dig (ref. {ref}).{p}Af hensyn til "
	  "datasikkerheden sendes den ikke med almindelig e-mail. Kontakt "
	  "{coordinator} for at få den." AUTO_DA},
	 {"A new version of a coordinated action plan you take part in is "
	  "ready (ref. {ref}).{p}For data protection it is not sent by "
	  "ordinary e-mail. Please contact the coordinator, {coordinator}, "
	  "to receive it." AUTO_EN,
	  "There is a new message for you (ref. {ref}).{p}For data "
	  "protection it is not sent by ordinary e-mail. Please contact "
	  "{coordinator} to receive it." AUTO_EN}},
    [W_DEVIATION_SUBJECT] = {{"Afvigelse – ref {ref}",
			      "Besked fra {org} – ref. {ref}"},
			     {"Deviation – ref {ref}",
			      "Message from {org} – ref. {ref}"}},
    [W_DEVIATION_NOTICE] =
	{{"Der er indberettet en afvigelse i en koordinerende indsatsplan, "
	  "som du deltager i (ref. {ref}).{p}Af hensyn til datasikkerheden "
	  "sendes den ikke med almindelig e-mail. Kontakt koordinatoren, "
	  "{coordinator}." AUTO_DA,
	  NULL},
	 {"A deviation was reported in a coordinated action plan you take "
	  "part in (ref. {ref}).{p}For data protection it is not sent by "
	  "ordinary e-mail. Please contact the coordinator, "
	  "{coordinator}." AUTO_EN,
	  NULL}},
    [W_INVITATION_SUBJECT] = {{"Invitation: koordinationsmøde – ref {ref}",
			       "Invitation til møde – ref. {ref}"},
			      {"Invitation: coordination meeting – ref {ref}",
			       "Invitation to a meeting – ref. {ref}"}},
    [W_CANCEL_SUBJECT] = {{"Aflyst: koordinationsmøde – ref {ref}",
			   "Aflyst: møde – ref. {ref}"},
			  {"Cancelled: coordination meeting – ref {ref}",
			   "Cancelled: meeting – ref. {ref}"}},
    [W_MEETING_SUMMARY] = {{"Koordinationsmøde (ref. {ref})",
			    "Møde (ref. {ref})"},
			   {"Coordination meeting (ref. {ref})",
			    "Meeting (ref. {ref})"}},
    [W_REMINDER_SUBJECT] = {{"Påmindelse: koordinationsmøde – ref {ref}",
			     "Påmindelse: møde – ref. {ref}"},
			    {"Reminder: coordination meeting – ref {ref}",
			     "Reminder: meeting – ref. {ref}"}},
    [W_REMINDER_TEXT] =
	{{"Påmindelse: koordinationsmøde (ref. {ref}) den {date} kl. "
	  "{time}." AUTO_DA,
	  "Påmindelse: møde (ref. {ref}) den {date} kl. {time}." AUTO_DA},
	 {"Reminder: coordination meeting (ref. {ref}) on {date} at "
	  "{time}." AUTO_EN,
	  "Reminder: meeting (ref. {ref}) on {date} at {time}." AUTO_EN}},
    [W_DIGEST_SUBJECT] = {{"Daglig oversigt – {date}", "Oversigt – {date}"},
			  {"Daily digest – {date}", "Summary – {date}"}},
    [W_DIGEST_NOTICE] =
	{{"Din daglige oversigt over koordinerende indsatsplaner er klar."
	  "{p}Af hensyn til datasikkerheden sendes den ikke med almindelig "
	  "e-mail, fordi kip ikke har et gyldigt certifikat til dig. Se den "
	  "med: kipctl digest" AUTO_DA,
	  "Der er en ny oversigt til dig.{p}Af hensyn til datasikkerheden "
	  "sendes den ikke med almindelig e-mail." AUTO_DA},
	 {"Your daily digest of coordinated action plans is ready.{p}For "
	  "data protection it is not sent by ordinary e-mail, as kip has no "
	  "valid certificate for you. See it with: kipctl digest" AUTO_EN,
	  "There is a new summary for you.{p}For data protection it is not "
	  "sent by ordinary e-mail." AUTO_EN}},
    [W_PDF_NOTICE] =
	{{"Der er en ny version af en koordinerende indsatsplan, som du "
	  "deltager i (ref. {ref}).{p}Den er vedhæftet som en PDF, der er "
	  "beskyttet med en adgangskode. Du får adgangskoden over telefonen "
	  "af koordinatoren, {coordinator}." AUTO_DA,
	  "Der er en ny besked til dig (ref. {ref}).{p}Den ligger i den "
	  "vedhæftede fil, som er beskyttet med en adgangskode. Du "
	  "får adgangskoden over telefonen af {coordinator}." AUTO_DA},
	 {"A new version of a coordinated action plan you take part in is "
	  "ready (ref. {ref}).{p}It is attached as a PDF protected by a "
	  "passphrase. You will get the passphrase by phone "
	  "from the coordinator, {coordinator}." AUTO_EN,
	  "There is a new message for you (ref. {ref}).{p}It is in the "
	  "attached file, which is protected by a passphrase. You "
	  "will get the passphrase by phone from {coordinator}." AUTO_EN}},
};

/* The private subjects without an organisation name (private.name
 * unset): "Besked fra {org}" would name nobody. */
static const char *const subject_no_org[2] = {"Besked – ref. {ref}",
					      "Message – ref. {ref}"};

/* The configured replacement of a private text, or NULL. */
static const char *configured(const struct kip_config *cfg, enum wording id)
{
	switch (id) {
	case W_PLAN_SUBJECT:
	case W_DEVIATION_SUBJECT:
		return cfg->private_subject;
	case W_PLAN_NOTICE:
	case W_DEVIATION_NOTICE:
		return cfg->private_notice;
	case W_INVITATION_SUBJECT:
		return cfg->private_invitation_subject;
	case W_CANCEL_SUBJECT:
		return cfg->private_cancel_subject;
	case W_MEETING_SUMMARY:
		return cfg->private_meeting_summary;
	case W_REMINDER_SUBJECT:
		return cfg->private_reminder_subject;
	case W_REMINDER_TEXT:
		return cfg->private_reminder;
	case W_DIGEST_SUBJECT:
	case W_DIGEST_NOTICE:
	case W_PDF_NOTICE:
	case W_COUNT:
		break;
	}
	return NULL;
}

static const char *template_for(const struct kip_config *cfg, enum wording id,
				bool private)
{
	int lang = texts_danish(cfg) ? DA : EN;
	const char *t;

	if (!private)
		return builtin[id][lang][PRO];
	if ((t = configured(cfg, id)))
		return t;
	if (id == W_DEVIATION_NOTICE) /* the same words as a plan's */
		id = W_PLAN_NOTICE;
	if ((id == W_PLAN_SUBJECT || id == W_DEVIATION_SUBJECT) &&
	    !(cfg->private_name && *cfg->private_name))
		return subject_no_org[lang];
	return builtin[id][lang][PRIV];
}

void wording(const struct kip_config *cfg, enum wording id, bool private,
	     const struct wording_args *a, char *out, size_t len)
{
	char ref[32];
	struct template_value v[] = {
	    {"ref", ref},
	    {"org", private ? cfg->private_name : cfg->org_name},
	    {"coordinator", a ? a->coordinator : NULL},
	    {"date", a ? a->date : NULL},
	    {"time", a ? a->time : NULL},
	    {"p", "\r\n\r\n"},
	};
	size_t used;

	if (!len)
		return;
	snprintf(ref, sizeof(ref), "KIP-%lld", a ? a->plan : 0);
	used = template_expand(template_for(cfg, id, private), v,
			       sizeof(v) / sizeof(v[0]), out, len);
	/* the plain texts end with a line break, as mail text does */
	if ((id == W_PLAN_NOTICE || id == W_DEVIATION_NOTICE ||
	     id == W_REMINDER_TEXT || id == W_DIGEST_NOTICE) &&
	    used + 3 <= len)
		memcpy(out + used, "\r\n", 3);
}

const char *wording_sender(const struct kip_config *cfg, bool private)
{
	if (!private)
		return cfg->org_name;
	return cfg->private_name && *cfg->private_name ? cfg->private_name
						       : NULL;
}

void wording_from(const char *name, const char *addr, char *out, size_t len)
{
	size_t used = 0;

	if (!name || !*name) {
		snprintf(out, len, "%s", addr);
		return;
	}
	if (!strpbrk(name, "()<>[]:;@\\,.\"")) {
		snprintf(out, len, "%s <%s>", name, addr);
		return;
	}
	/* A phrase with specials ("Testkommune, Socialpsykiatri") is a
	 * quoted string (RFC 5322 3.2.4); a quote or backslash in it is
	 * left out rather than escaped, which encoded words would show. */
	if (len < 2)
		return;
	out[used++] = '"';
	for (; *name && used + 1 < len; name++)
		if (*name != '"' && *name != '\\')
			out[used++] = *name;
	out[used] = '\0';
	snprintf(out + used, len - used, "\" <%s>", addr);
}

bool wording_private(const char *recipient_kind, bool marked)
{
	return marked || !recipient_kind ||
	       strcmp(recipient_kind, "professional") != 0;
}
