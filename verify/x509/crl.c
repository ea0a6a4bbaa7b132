/* crl.c - revocation of code-signing chains with CRLs (RFC 5280 §6.3, the
 * parts that matter here): CRLs from files, or fetched from a
 * certificate's CRL distribution point (http/https, size and time capped)
 * and cached. A CRL counts only when its issuer's signature verifies. A
 * certificate revoked at or before the signing time fails; one revoked
 * later keeps signatures made before (the timestamp model). */
#include "codesign.h"
#include "tuf.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRL_CACHE_MAX 64     /* downloaded CRLs kept in memory */
#define CRL_MAX_URLS 4	     /* distribution points tried per certificate */
#define CRL_FETCH_TIMEOUT 20 /* seconds for one download */

struct cached {
	char *url;
	X509_CRL *crl;
};

struct gate_crl_cache {
	pthread_mutex_t mu;
	struct cached e[CRL_CACHE_MAX];
	size_t n, next;
};

enum gate_err gate_crl_cache_new(struct gate_crl_cache **out)
{
	struct gate_crl_cache *c = calloc(1, sizeof(*c));
	if (!c || pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return GATE_E_NOMEM;
	}
	*out = c;
	return GATE_OK;
}

void gate_crl_cache_free(struct gate_crl_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].url);
		X509_CRL_free(c->e[i].crl);
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* An up-ref'd cached CRL for url, or NULL. */
static X509_CRL *cache_get(struct gate_crl_cache *c, const char *url)
{
	X509_CRL *r = NULL;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n && !r; i++)
		if (strcmp(c->e[i].url, url) == 0 && X509_CRL_up_ref(c->e[i].crl))
			r = c->e[i].crl;
	pthread_mutex_unlock(&c->mu);
	return r;
}

static void cache_put(struct gate_crl_cache *c, const char *url, X509_CRL *crl)
{
	char *u = strdup(url);
	if (!u || !X509_CRL_up_ref(crl)) {
		free(u);
		return;
	}
	pthread_mutex_lock(&c->mu);
	size_t slot = c->n;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].url, url) == 0) {
			slot = i; /* replace a stale copy in place */
			break;
		}
	if (slot == c->n) {
		if (c->n < CRL_CACHE_MAX)
			c->n++;
		else
			slot = c->next++ % CRL_CACHE_MAX;
	}
	free(c->e[slot].url);
	X509_CRL_free(c->e[slot].crl);
	c->e[slot].url = u;
	c->e[slot].crl = crl;
	pthread_mutex_unlock(&c->mu);
}

static X509_CRL *crl_from_der(const uint8_t *b, size_t n)
{
	const unsigned char *p = b;
	if (n == 0 || n > GATE_CS_MAX_CRL)
		return NULL;
	X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)n);
	if (c && p != b + n) {
		X509_CRL_free(c);
		c = NULL;
	}
	if (!c) { /* some servers publish PEM */
		BIO *bio = BIO_new_mem_buf(b, (int)n);
		c = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	}
	ERR_clear_error();
	return c;
}

/* The on-disk cache: DIR/<sha256 of url>.crl, written atomically. It is
 * as untrusted as the network: the signature is checked on every use. */
static char *cache_path(const char *dir, const char *url)
{
	uint8_t md[32];
	char hex[65], *p = NULL;
	gate_sha256(url, strlen(url), md);
	gate_hex_encode(md, 32, hex);
	if (asprintf(&p, "%s/%s.crl", dir, hex) < 0)
		return NULL;
	return p;
}

static X509_CRL *disk_get(const char *dir, const char *url)
{
	char *p = cache_path(dir, url);
	uint8_t *buf = NULL;
	size_t n = 0;
	X509_CRL *c = NULL;
	if (p && gate_read_file(p, GATE_CS_MAX_CRL, &buf, &n, NULL) == GATE_OK)
		c = crl_from_der(buf, n);
	free(buf);
	free(p);
	return c;
}

static void disk_put(const char *dir, const char *url, const uint8_t *b, size_t n)
{
	char *p = cache_path(dir, url);
	if (!p)
		return;
	(void)mkdir(dir, 0755);
	/* Best effort: a CRL that could not be cached is fetched again. */
	enum gate_err rc = gate_atomic_write_file(p, NULL, b, n, 0644, GATE_ATOMIC_UMASK, NULL);
	(void)rc;
	free(p);
}

static bool fresh(X509_CRL *c, int64_t now)
{
	int64_t nu;
	const ASN1_TIME *t = X509_CRL_get0_nextUpdate(c);
	return !t || (gate_asn1_time_to_unix(t, &nu) && nu >= now);
}

static X509_CRL *fetch(const struct gate_x509_trust *t, const char *url, int64_t now, char *why,
		       size_t whylen)
{
	X509_CRL *c = cache_get(t->cache, url);
	if (c && fresh(c, now))
		return c;
	X509_CRL_free(c);
	if (t->crl_cache_dir && (c = disk_get(t->crl_cache_dir, url)) && fresh(c, now)) {
		cache_put(t->cache, url, c);
		return c;
	}
	X509_CRL_free(c);
	c = NULL;
	struct gate_tuf_fetch_opts o = {.connect_timeout = 10,
					.low_speed_limit = 1024,
					.low_speed_time = 10,
					.total_timeout = CRL_FETCH_TIMEOUT};
	uint8_t *buf = NULL;
	size_t n = 0;
	long status = 0;
	struct gate_error e = {0};
	if (gate_tuf_fetch_buf(url, GATE_CS_MAX_CRL, &o, &buf, &n, &status, &e) != GATE_OK) {
		snprintf(why, whylen, "%.100s: %.90s", url, e.msg);
		return NULL;
	}
	if (!(c = crl_from_der(buf, n))) {
		snprintf(why, whylen, "%s: not a CRL", url);
	} else {
		cache_put(t->cache, url, c);
		if (t->crl_cache_dir)
			disk_put(t->crl_cache_dir, url, buf, n);
	}
	free(buf);
	return c;
}

static bool http_url(const char *s, size_t len)
{
	return (len > 7 && strncasecmp(s, "http://", 7) == 0) ||
	       (len > 8 && strncasecmp(s, "https://", 8) == 0);
}

/* Usable means: issued by issuer (name and signature), not a delta CRL,
 * and thisUpdate not in the future. */
static bool crl_usable(X509_CRL *c, X509 *issuer, int64_t now)
{
	int64_t tu;
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	bool ok = k && X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(issuer)) == 0 &&
		  X509_CRL_get_ext_by_NID(c, NID_delta_crl, -1) < 0 &&
		  gate_asn1_time_to_unix(X509_CRL_get0_lastUpdate(c), &tu) && tu <= now + 300 &&
		  X509_CRL_verify(c, k) == 1;
	ERR_clear_error();
	return ok;
}

/* A usable CRL for cert (issued by issuer): from the files, else fetched. */
static X509_CRL *find_crl(const struct gate_x509_trust *t, X509 *cert, X509 *issuer, int64_t now,
			  char *why, size_t whylen)
{
	for (int i = 0; i < sk_X509_CRL_num(t->crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(t->crls, i);
		if (crl_usable(c, issuer, now) && X509_CRL_up_ref(c))
			return c;
	}
	snprintf(why, whylen, "no CRL for it among the CRL files");
	if (!t->crl_fetch)
		return NULL;
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	X509_CRL *found = NULL;
	int tried = 0;
	if (!dps)
		snprintf(why, whylen, "no CRL file and no CRL distribution point");
	for (int i = 0; dps && i < sk_DIST_POINT_num(dps) && !found; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *names = dp->distpoint->name.fullname;
		for (int k = 0; k < sk_GENERAL_NAME_num(names) && !found; k++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, k);
			if (g->type != GEN_URI || tried >= CRL_MAX_URLS)
				continue;
			const char *u =
				(const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
			size_t ul = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
			if (!http_url(u, ul) || memchr(u, 0, ul) || ul > 2048)
				continue;
			char *url = strndup(u, ul);
			if (!url)
				break;
			tried++;
			X509_CRL *c = fetch(t, url, now, why, whylen);
			if (c && crl_usable(c, issuer, now))
				found = c;
			else if (c) {
				snprintf(why, whylen,
					 "%s: CRL not signed by the issuer or unusable", url);
				X509_CRL_free(c);
			}
			free(url);
		}
	}
	CRL_DIST_POINTS_free(dps);
	ERR_clear_error();
	return found;
}

/* The revocation status of the certificate at depth i is unknown, for
 * reason w: an error when CRLs are required, else counted in *unknown
 * (the first reason kept in why). */
static enum gate_err status_unknown(const struct gate_x509_trust *t, int i, const char *w,
				    size_t *unknown, char *why, size_t cap, const char *field,
				    struct gate_error *err)
{
	if (t->crl_mode == GATE_CRL_REQUIRE)
		return gate_fail(err, GATE_E_CERT, "C8", field,
				 "revocation status of the certificate at depth %d is unknown: %s",
				 i, w);
	if (!(*unknown)++)
		snprintf(why, cap, "depth %d: %.200s", i, w);
	return GATE_OK;
}

enum gate_err gate_cs_revocation(const struct gate_x509_trust *t, STACK_OF(X509) *chain,
				 int64_t t_sign, int64_t now, char *note, size_t notelen,
				 const char *field, struct gate_error *err)
{
	int n = sk_X509_num(chain);
	size_t checked = 0, unknown = 0;
	char why[400] = "", ts[32], rt[32];
	note[0] = '\0';
	if (t->crl_mode == GATE_CRL_IGNORE) {
		snprintf(note, notelen, "not checked (policy)");
		return GATE_OK;
	}
	/* The anchor is trusted as configured; everything below it is checked
	 * against a CRL of its issuer. */
	for (int i = 0; i + 1 < n; i++) {
		X509 *cert = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
		char w[200] = "";
		X509_CRL *crl = find_crl(t, cert, issuer, now, w, sizeof w);
		if (!crl) {
			if (status_unknown(t, i, w, &unknown, why, sizeof why, field, err) !=
			    GATE_OK)
				return GATE_E_CERT;
			continue;
		}
		checked++;
		X509_REVOKED *rev = NULL;
		int r = X509_CRL_get0_by_cert(crl, &rev, cert);
		int64_t when = 0;
		if (r == 1 && rev &&
		    gate_asn1_time_to_unix(X509_REVOKED_get0_revocationDate(rev), &when)) {
			gate_format_time(when, rt);
			gate_format_time(t_sign, ts);
			if (when <= t_sign) {
				X509_CRL_free(crl);
				return gate_fail(
					err, GATE_E_CERT, "C8", field,
					"the certificate at depth %d was revoked on %s, not "
					"after the signing time %s",
					i, rt, ts);
			}
			snprintf(note, notelen,
				 "certificate at depth %d revoked on %s, after the "
				 "signing time %s",
				 i, rt, ts);
		} else if (!fresh(crl, now)) {
			/* Past its nextUpdate a CRL still proves what it lists,
			 * but not that nothing else was revoked since. */
			checked--;
			snprintf(w, sizeof w, "the CRL for it is past its nextUpdate");
			if (status_unknown(t, i, w, &unknown, why, sizeof why, field, err) !=
			    GATE_OK) {
				X509_CRL_free(crl);
				return GATE_E_CERT;
			}
		}
		X509_CRL_free(crl);
	}
	ERR_clear_error();
	if (note[0])
		return GATE_OK;
	if (unknown)
		snprintf(note, notelen, "%zu of %zu certificates unchecked (%s)", unknown,
			 unknown + checked, why);
	else
		snprintf(note, notelen, "not revoked (%zu CRL%s checked)", checked,
			 checked == 1 ? "" : "s");
	return GATE_OK;
}
