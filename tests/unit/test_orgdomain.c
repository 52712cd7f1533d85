/* test_orgdomain.c — the pure rules of organisation certificates
 * (orgdomain.c): a domain as typed, the domain of an address, exact
 * matches only (no sub-domains, no suffixes), case, and which names of a
 * certificate are for a domain. */
#include "orgdomain.h"
#include "t.h"

static void test_normalise(void)
{
	static const char *const bad[] = {
	    "",
	    "example",
	    "postkasse@region.example",
	    "region..example",
	    ".region.example",
	    "region.example.",
	    "-region.example",
	    "region-.example",
	    "region.example-",
	    "reg ion.example",
	    "region_x.example",
	    "régïon.example",
	    "a.b\n.example",
	};
	char out[ORGDOMAIN_MAX], err[200], longest[300];

	T_ASSERT(orgdomain_normalise("Region.Example", out, err, sizeof(err)) ==
		 0);
	T_STREQ(out, "region.example");
	T_ASSERT(orgdomain_normalise("a-1.sub.region.example", out, err,
				     sizeof(err)) == 0);
	T_STREQ(out, "a-1.sub.region.example");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (orgdomain_normalise(bad[i], out, err, sizeof(err)) == 0)
			printf("  accepted \"%s\"\n", bad[i]);
		T_ASSERT(orgdomain_normalise(bad[i], out, err, sizeof(err)) <
			 0);
		T_CONTAINS(err, "domain:");
	}
	T_ASSERT(orgdomain_normalise(NULL, out, err, sizeof(err)) < 0);
	T_CONTAINS(
	    (orgdomain_normalise("x@y.example", out, err, sizeof(err)), err),
	    "without a local part");
	/* a label of 64 characters */
	memset(longest, 'a', 64);
	memcpy(longest + 64, ".example", 9);
	T_ASSERT(orgdomain_normalise(longest, out, err, sizeof(err)) < 0);
	memcpy(longest + 63, ".example", 9); /* 63 is the most */
	T_ASSERT(orgdomain_normalise(longest, out, err, sizeof(err)) == 0);
	/* 254 characters in all */
	memset(longest, 'a', 254);
	for (int i = 50; i < 254; i += 50)
		longest[i] = '.';
	longest[254] = '\0';
	T_ASSERT(orgdomain_normalise(longest, out, err, sizeof(err)) < 0);
}

static void test_domain_of(void)
{
	T_STREQ(orgdomain_of("peter.psykiatri@region.example"),
		"region.example");
	T_STREQ(orgdomain_of("\"a@b\"@Region.Example"), "Region.Example");
	T_ASSERT(orgdomain_of("no-domain") == NULL);
	T_ASSERT(orgdomain_of("trailing@") == NULL);
	T_ASSERT(orgdomain_of(NULL) == NULL);
}

static void test_at(void)
{
	T_ASSERT(orgdomain_at("peter@region.example", "region.example"));
	T_ASSERT(orgdomain_at("Peter@REGION.example", "region.example"));
	/* exact: a sub-domain is another domain, so is a suffix */
	T_ASSERT(!orgdomain_at("peter@a.region.example", "region.example"));
	T_ASSERT(!orgdomain_at("peter@xregion.example", "region.example"));
	T_ASSERT(!orgdomain_at("peter@region.example.org", "region.example"));
	T_ASSERT(!orgdomain_at("region.example", "region.example"));
	T_ASSERT(!orgdomain_at("peter@region.example", NULL));
}

static void test_name_for(void)
{
	const char *d = "region.example";

	T_ASSERT(orgdomain_name_for("postkasse@region.example", 24, false, d));
	T_ASSERT(orgdomain_name_for("Postkasse@Region.EXAMPLE", 24, false, d));
	T_ASSERT(orgdomain_name_for("region.example", 14, true, d));
	T_ASSERT(orgdomain_name_for("REGION.example", 14, true, d));
	/* a DNS name is not an address, and the other way round */
	T_ASSERT(!orgdomain_name_for("region.example", 14, false, d));
	T_ASSERT(!orgdomain_name_for("postkasse@region.example", 24, true, d));
	/* sub-domains, suffixes, wildcards and other domains do not count */
	T_ASSERT(!orgdomain_name_for("p@a.region.example", 18, false, d));
	T_ASSERT(!orgdomain_name_for("a.region.example", 16, true, d));
	T_ASSERT(!orgdomain_name_for("*.region.example", 16, true, d));
	T_ASSERT(!orgdomain_name_for("p@xregion.example", 17, false, d));
	T_ASSERT(
	    !orgdomain_name_for("postkasse@jobcenter.example", 27, false, d));
	/* no local part; an embedded NUL; the length is what counts */
	T_ASSERT(!orgdomain_name_for("@region.example", 15, false, d));
	T_ASSERT(!orgdomain_name_for("p@region.example\0.evil", 22, false, d));
	T_ASSERT(!orgdomain_name_for("p@region.examplex", 17, false, d));
	T_ASSERT(orgdomain_name_for("p@region.examplex", 16, false, d));
	T_ASSERT(!orgdomain_name_for(NULL, 0, true, d));
	T_ASSERT(!orgdomain_name_for("region.example", 14, true, ""));
}

T_MAIN(T_CASE(test_normalise), T_CASE(test_domain_of), T_CASE(test_at),
       T_CASE(test_name_for))
