/* test_devreport.c — the MQTT deviation report schema: what is accepted,
 * and that every deviation from the schema is refused naming the key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devreport.h"
#include "t.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *json, struct devreport *r, char *err,
		 size_t errlen)
{
	return devreport_parse(json, strlen(json), r, err, errlen);
}

static void test_valid(void)
{
	struct devreport r;
	char err[256] = "";

	T_ASSERT(parse("{\"id\": \"dp-nord-2026-0042\", \"plan\": 12, "
		       "\"goal\": 2, \"action\": 1, \"text\": \"Udeblev.\\n"
		       "Ring til borgeren.\", \"occurred\": \"2026-11-20\"}",
		       &r, err, sizeof(err)) == 0);
	T_STREQ(r.id, "dp-nord-2026-0042");
	T_ASSERT(r.plan == 12 && r.goal == 2 && r.action == 1);
	T_STREQ(r.text, "Udeblev.\nRing til borgeren.");
	T_STREQ(r.occurred, "2026-11-20");
	devreport_free(&r);
	T_ASSERT(parse("{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"æøå\"}",
		       &r, err, sizeof(err)) == 0);
	T_ASSERT(r.action == 0 && r.occurred[0] == 0);
	devreport_free(&r);
}

static void test_refused(void)
{
	static const struct {
		const char *json, *why;
	} cases[] = {
	    {"", "not JSON"},
	    {"{", "not JSON"},
	    {"[1]", "JSON object"},
	    {"\"x\"", "not JSON"},
	    {"{\"plan\":1,\"goal\":1,\"text\":\"x\"}", "'id' is missing"},
	    {"{\"id\":\"\",\"plan\":1,\"goal\":1,\"text\":\"x\"}", "'id'"},
	    {"{\"id\":\"a/b\",\"plan\":1,\"goal\":1,\"text\":\"x\"}", "'id'"},
	    {"{\"id\":7,\"plan\":1,\"goal\":1,\"text\":\"x\"}", "'id'"},
	    {"{\"id\":\"a\",\"goal\":1,\"text\":\"x\"}", "'plan' is missing"},
	    {"{\"id\":\"a\",\"plan\":\"1\",\"goal\":1,\"text\":\"x\"}",
	     "'plan' must be an integer"},
	    {"{\"id\":\"a\",\"plan\":0,\"goal\":1,\"text\":\"x\"}",
	     "'plan' is out of range"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":100,\"text\":\"x\"}",
	     "'goal' is out of range"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1.5,\"text\":\"x\"}",
	     "'goal' must be an integer"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"action\":-1,\"text\":"
	     "\"x\"}",
	     "'action' is out of range"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1}", "'text' is missing"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"\"}", "'text'"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"a\\u0000b\"}",
	     "not JSON"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"a\\u001bb\"}",
	     "'text'"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":[\"x\"]}", "'text'"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"x\","
	     "\"occurred\":\"2026-02-30\"}",
	     "'occurred' must be a real date"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"x\","
	     "\"cpr\":\"x\"}",
	     "unknown key"},
	    {"{\"id\":\"a\",\"id\":\"b\",\"plan\":1,\"goal\":1,\"text\":\"x\"}",
	     "not JSON"},
	    {"{\"id\":\"a\",\"plan\":1,\"goal\":1,\"text\":\"\xff\"}",
	     "not JSON"},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		struct devreport r;
		char err[256] = "";

		T_ASSERT(parse(cases[i].json, &r, err, sizeof(err)) == -EINVAL);
		T_CONTAINS(err, cases[i].why);
		T_ASSERT(r.text == NULL);
	}
}

static void test_limits(void)
{
	size_t n = DEVREPORT_MAX_BYTES + 1;
	char *big = malloc(n + 1), err[256] = "";
	struct devreport r;

	T_ASSERT(big != NULL);
	if (!big)
		return;
	memset(big, ' ', n);
	big[n] = 0;
	T_ASSERT(devreport_parse(big, n, &r, err, sizeof(err)) == -EINVAL);
	T_CONTAINS(err, "larger than 64 KiB");
	free(big);
	/* 20000 bytes of text pass, 20001 do not */
	char *doc = malloc(20100);
	T_ASSERT(doc != NULL);
	if (!doc)
		return;
	for (int len = 20000; len <= 20001; len++) {
		int o = snprintf(doc, 100,
				 "{\"id\":\"a\",\"plan\":1,\"goal\":1,"
				 "\"text\":\"");
		memset(doc + o, 'x', (size_t)len);
		strcpy(doc + o + len, "\"}");
		int rc = parse(doc, &r, err, sizeof(err));
		T_ASSERT(len == 20000 ? rc == 0 : rc == -EINVAL);
		devreport_free(&r);
	}
	free(doc);
}

T_MAIN(T_CASE(test_valid), T_CASE(test_refused), T_CASE(test_limits))
