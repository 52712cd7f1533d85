/* curltls.c — see curltls.h. */
#include "curltls.h"

CURL *curltls_handle(const struct curltls *t, char *ebuf)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, t->protocols);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	if (t->client_cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, t->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, t->client_key);
	}
	if (t->username) {
		curl_easy_setopt(c, CURLOPT_USERNAME, t->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
				 t->password ? t->password : "");
	}
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	return c;
}
