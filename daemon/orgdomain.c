/* orgdomain.c — see orgdomain.h. */
#include "orgdomain.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool label_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-';
}

int orgdomain_normalise(const char *in, char out[ORGDOMAIN_MAX], char *err,
			size_t errlen)
{
	size_t n = in ? strlen(in) : 0, label = 0, labels = 1;

	if (n == 0 || n >= ORGDOMAIN_MAX) {
		snprintf(err, errlen,
			 "domain: give a mail domain of 1 to %d "
			 "characters, such as region.example",
			 ORGDOMAIN_MAX - 1);
		return -EINVAL;
	}
	if (strchr(in, '@')) {
		snprintf(
		    err, errlen,
		    "domain: give the domain alone, without a local part "
		    "and '@' (region.example, not postkasse@region.example)");
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		char ch =
		    in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32) : in[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || out[i - 1] == '-' ||
			    out[i - label] == '-' || label > 63) {
				snprintf(err, errlen,
					 "domain: label %zu is empty, longer "
					 "than 63 characters, or starts or "
					 "ends with '-'",
					 labels);
				return -EINVAL;
			}
			labels += ch == '.';
			label = 0;
		} else if (!label_char(ch)) {
			snprintf(err, errlen,
				 "domain: character %zu is not a letter, a "
				 "digit, '-' or '.'",
				 i + 1);
			return -EINVAL;
		} else {
			label++;
		}
		out[i] = ch;
	}
	if (labels < 2) {
		snprintf(err, errlen,
			 "domain: a mail domain has at least two labels "
			 "(region.example)");
		return -EINVAL;
	}
	return 0;
}

const char *orgdomain_of(const char *email)
{
	const char *at = email ? strrchr(email, '@') : NULL;

	return at && at[1] ? at + 1 : NULL;
}

bool orgdomain_at(const char *email, const char *domain)
{
	const char *d = orgdomain_of(email);

	return d && domain && strcasecmp(d, domain) == 0;
}

bool orgdomain_name_for(const char *name, size_t len, bool dns,
			const char *domain)
{
	size_t dlen = domain ? strlen(domain) : 0;
	const char *at;

	if (!name || !dlen || memchr(name, '\0', len))
		return false;
	if (dns)
		return len == dlen && strncasecmp(name, domain, len) == 0;
	at = memrchr(name, '@', len);
	return at && at > name && (size_t)(name + len - at - 1) == dlen &&
	       strncasecmp(at + 1, domain, dlen) == 0;
}
