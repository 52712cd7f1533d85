/* test_wording.c — the texts kip sends in clear (wording.c) and the
 * templates they are written in (template.c): values filled in, bad
 * templates refused, truncation, and no private text that names the
 * service or the kind of plan, in either language. */
#include "template.h"
#include "wording.h"
#include "t.h"

#include <ctype.h>
#include <stdbool.h>

static void test_check(void)
{
	static const char *const good[] = {
	    "",
	    "Besked",
	    "Besked fra {org} – ref. {ref}",
	    "{ref}{org}{coordinator}{date}{time}{p}",
	    "Møde {date} kl. {time}",
	};
	static const char *const bad[] = {
	    "{",  "}",	     "{ref",   "ref}",	"{navn}",
	    "{}", "{{ref}}", "{ref}}", "{REF}", "{ ref}",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		T_ASSERT(template_check(good[i]) == NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (template_check(bad[i]) == NULL)
			printf("  accepted \"%s\"\n", bad[i]);
		T_ASSERT(template_check(bad[i]) != NULL);
	}
	T_CONTAINS(template_check("Hej {navn}"), "unknown value");
}

static void test_expand(void)
{
	struct template_value v[] = {
	    {"ref", "KIP-7"}, {"org", "Testkommune"}, {"date", NULL}};
	char out[64];

	T_ASSERT(template_expand("Besked fra {org} – ref. {ref}", v, 3, out,
				 sizeof(out)) == strlen(out));
	T_STREQ(out, "Besked fra Testkommune – ref. KIP-7");
	template_expand("[{date}]", v, 3, out, sizeof(out));
	T_STREQ(out, "[]");
	/* a name not given is copied as written */
	template_expand("{time} {ref}", v, 3, out, sizeof(out));
	T_STREQ(out, "{time} KIP-7");
	/* truncated, always terminated */
	T_ASSERT(template_expand("ref {ref} and more", v, 3, out, 8) == 7);
	T_STREQ(out, "ref KIP");
	T_ASSERT(template_expand("{org}", v, 3, out, 1) == 0);
	T_STREQ(out, "");
}

static struct kip_config cfg(const char *lang, char *private_name)
{
	return (struct kip_config){.default_lang = (char *)lang,
				   .org_name = "Testkommune, Socialpsykiatri",
				   .private_name = private_name};
}

static const struct wording_args args = {7, "Karen Koordinator, +45 70 10",
					 "06.03.2030", "10:00"};

static void test_professional(void)
{
	struct kip_config c = cfg("da", "Testkommune");
	char out[900];

	wording(&c, W_PLAN_SUBJECT, false, &args, out, sizeof(out));
	T_STREQ(out, "Koordinerende indsatsplan – ref KIP-7");
	wording(&c, W_MEETING_SUMMARY, false, &args, out, sizeof(out));
	T_STREQ(out, "Koordinationsmøde (ref. KIP-7)");
	wording(&c, W_PLAN_NOTICE, false, &args, out, sizeof(out));
	T_CONTAINS(out, "Kontakt koordinatoren, Karen Koordinator, +45 70 10, "
			"for at få den.\r\n\r\nBeskeden");
	T_ASSERT(strlen(out) > 2 && strcmp(out + strlen(out) - 2, "\r\n") == 0);
	T_STREQ(wording_sender(&c, false), "Testkommune, Socialpsykiatri");
}

static void test_private(void)
{
	struct kip_config c = cfg("da", "Testkommune");
	struct kip_config none = cfg("en", NULL);
	char out[900], from[200];

	wording(&c, W_PLAN_SUBJECT, true, &args, out, sizeof(out));
	T_STREQ(out, "Besked fra Testkommune – ref. KIP-7");
	wording(&c, W_DEVIATION_SUBJECT, true, &args, out, sizeof(out));
	T_STREQ(out, "Besked fra Testkommune – ref. KIP-7");
	wording(&c, W_REMINDER_TEXT, true, &args, out, sizeof(out));
	T_STREQ(out, "Påmindelse: møde (ref. KIP-7) den 06.03.2030 kl. 10:00."
		     "\r\n\r\nBeskeden er sendt automatisk og indeholder ingen "
		     "personoplysninger.\r\n");
	wording(&none, W_PLAN_SUBJECT, true, &args, out, sizeof(out));
	T_STREQ(out, "Message – ref. KIP-7");
	T_ASSERT(wording_sender(&none, true) == NULL);
	T_STREQ(wording_sender(&c, true), "Testkommune");
	wording_from(wording_sender(&none, true), "kip@kommune.example", from,
		     sizeof(from));
	T_STREQ(from, "kip@kommune.example");
	wording_from("Testkommune", "kip@kommune.example", from, sizeof(from));
	T_STREQ(from, "Testkommune <kip@kommune.example>");
	wording_from("Testkommune, Socialpsykiatri", "kip@kommune.example",
		     from, sizeof(from));
	T_STREQ(from, "\"Testkommune, Socialpsykiatri\" <kip@kommune.example>");
	wording_from("A \"B\" \\C.", "k@x.example", from, sizeof(from));
	T_STREQ(from, "\"A B C.\" <k@x.example>");

	/* a configured text replaces the built-in one, for private only */
	c.private_subject = "Post fra {org} ({ref})";
	wording(&c, W_PLAN_SUBJECT, true, &args, out, sizeof(out));
	T_STREQ(out, "Post fra Testkommune (KIP-7)");
	wording(&c, W_PLAN_SUBJECT, false, &args, out, sizeof(out));
	T_STREQ(out, "Koordinerende indsatsplan – ref KIP-7");

	T_ASSERT(wording_private("citizen", false));
	T_ASSERT(wording_private("relative", false));
	T_ASSERT(wording_private("supporter", false));
	T_ASSERT(!wording_private("professional", false));
	T_ASSERT(wording_private("professional", true));
}

/* The words tests/clearscan.py looks for. */
static const char *const vocab[] = {
    "indsatsplan", "koordinerende", "koordination", "psykiatri",
    "misbrug",	   "rusmiddel",	    "afvigelse",    "behandling",
    "action plan", "coordinated",   "coordination", "psychiatr",
    "substance",   "abuse",	    "deviation",    "treatment",
};

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void test_private_says_nothing(void)
{
	static const char *const langs[] = {"da", "en"};
	char *names[] = {"Testkommune", NULL};

	for (size_t l = 0; l < 2; l++)
		for (size_t n = 0; n < 2; n++) {
			struct kip_config c = cfg(langs[l], names[n]);

			for (int id = 0; id < W_COUNT; id++) {
				char out[900];

				wording(&c, (enum wording)id, true, &args, out,
					sizeof(out));
				lower(out);
				T_ASSERT(*out);
				T_ASSERT(!strchr(out, '{'));
				for (size_t w = 0;
				     w < sizeof(vocab) / sizeof(vocab[0]); w++)
					if (strstr(out, vocab[w])) {
						printf("  %s text %d names "
						       "\"%s\"\n",
						       langs[l], id, vocab[w]);
						T_ASSERT(!"a private text "
							  "reveals the "
							  "service");
					}
			}
		}
}

T_MAIN(T_CASE(test_check), T_CASE(test_expand), T_CASE(test_professional),
       T_CASE(test_private), T_CASE(test_private_says_nothing))
