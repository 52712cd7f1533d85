/* smtpwire.c — see smtpwire.h. */
#include "smtpwire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "validate.h"

/* RFC 3461 4.4: an ENVID (as xtext) takes at most 100 characters. */
#define ENVID_MAX 100
/* More lines than any reply kip waits for has (an EHLO reply is libcurl's
 * to read): a server that never ends one is cut off here. */
#define REPLY_LINES_MAX 100

/* What xtext carries as it is: '!'..'~' but '+' and '='. */
static bool xchar(unsigned char c)
{
	return c >= '!' && c <= '~' && c != '+' && c != '=';
}

int smtpwire_envid(const char *message_id, char *ret, size_t len)
{
	const char *at;
	size_t n;

	if (!message_id || message_id[0] != '<' ||
	    !(at = strchr(message_id, '@')))
		return -EINVAL;
	n = (size_t)(at - message_id) - 1;
	if (n == 0 || n > ENVID_MAX)
		return -EINVAL;
	for (size_t i = 1; i <= n; i++)
		if (!xchar((unsigned char)message_id[i]) ||
		    strchr("<>", message_id[i]))
			return -EINVAL;
	/* "@DOMAIN>": one '>', at the end, after a domain */
	if (strpbrk(at + 1, "@<") || at[1] == '>' ||
	    strchr(at, '>') != at + strlen(at) - 1)
		return -EINVAL;
	if (n >= len)
		return -ENOSPC;
	memcpy(ret, message_id + 1, n);
	ret[n] = '\0';
	return 0;
}

int smtpwire_xtext(const char *s, char *ret, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (xchar(*p)) {
			if (o + 1 >= len)
				return -ENOSPC;
			ret[o++] = (char)*p;
			continue;
		}
		if (o + 3 >= len)
			return -ENOSPC;
		ret[o++] = '+';
		ret[o++] = hex[*p >> 4];
		ret[o++] = hex[*p & 15];
	}
	if (o >= len)
		return -ENOSPC;
	ret[o] = '\0';
	return 0;
}

/* snprintf() into RET: 0 or -ENOSPC. */
static int fits(int n, size_t len)
{
	return n >= 0 && (size_t)n < len ? 0 : -ENOSPC;
}

int smtpwire_mail(const char *from, size_t size, const char *envid, char *ret,
		  size_t len)
{
	char sz[32] = "", id[ENVID_MAX + 1] = "";

	if (!email_valid(from))
		return -EINVAL;
	if (envid && (!envid[0] || smtpwire_xtext(envid, id, sizeof(id)) < 0))
		return -EINVAL;
	if (size > 0)
		snprintf(sz, sizeof(sz), " SIZE=%zu", size);
	return fits(snprintf(ret, len, "MAIL FROM:<%s>%s%s%s\r\n", from, sz,
			     envid ? " RET=HDRS ENVID=" : "", id),
		    len);
}

int smtpwire_rcpt(const char *to, bool dsn, char *ret, size_t len)
{
	/* An address of at most 254 characters, each at most 3 as xtext. */
	char orcpt[3 * 254 + 1] = "";

	if (!email_valid(to))
		return -EINVAL;
	if (dsn && smtpwire_xtext(to, orcpt, sizeof(orcpt)) < 0)
		return -EINVAL;
	return fits(snprintf(ret, len, "RCPT TO:<%s>%s%s\r\n", to,
			     dsn ? " NOTIFY=SUCCESS,FAILURE,DELAY"
				   " ORCPT=rfc822;"
				 : "",
			     orcpt),
		    len);
}

bool smtpwire_ehlo_names(const char *line, size_t n, const char *keyword)
{
	size_t k = strlen(keyword);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n < 4 + k || strncmp(line, "250", 3) != 0 ||
	    (line[3] != '-' && line[3] != ' '))
		return false;
	return strncasecmp(line + 4, keyword, k) == 0 &&
	       (n == 4 + k || line[4 + k] == ' ');
}

void smtpwire_reply_reset(struct smtpwire_reply *r)
{
	r->code = 0;
	r->text[0] = '\0';
	r->line_len = 0;
	r->lines = 0;
}

/* The code of a reply line (without CRLF): 200..599, or -1. */
static int line_code(const char *l, size_t n)
{
	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
	    l[2] < '0' || l[2] > '9' || (n > 3 && l[3] != ' ' && l[3] != '-'))
		return -1;
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

/* A whole line of R (without CRLF): 1 when it ends the reply, 0 when
 * more lines follow, -EPROTO. */
static int take_line(struct smtpwire_reply *r, size_t n)
{
	int code = line_code(r->line, n);
	size_t t = n - (n > 4 ? 4 : n);

	if (code < 0 || (r->lines > 0 && code != r->code) ||
	    ++r->lines > REPLY_LINES_MAX)
		return -EPROTO;
	r->code = code;
	if (t > SMTPWIRE_TEXT_MAX)
		t = SMTPWIRE_TEXT_MAX;
	/* The text after the code; what names the recipient stays out of
	 * the log (the caller logs the code alone). */
	snprintf(r->text, sizeof(r->text), "%.3s%s%.*s", r->line, t ? " " : "",
		 (int)t, r->line + 4);
	for (char *c = r->text; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?';
	return n == 3 || r->line[3] == ' ';
}

int smtpwire_reply_feed(struct smtpwire_reply *r, const char *p, size_t n,
			size_t *used)
{
	size_t i = 0;

	*used = 0;
	while (i < n) {
		char c = p[i++];
		int end;

		if (c != '\n') {
			if (r->line_len + 1 >= sizeof(r->line)) {
				*used = i;
				return -EPROTO;
			}
			r->line[r->line_len++] = c;
			continue;
		}
		if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
			r->line_len--;
		end = take_line(r, r->line_len);
		r->line_len = 0;
		if (end != 0) {
			*used = i;
			return end;
		}
	}
	*used = i;
	return 0;
}
