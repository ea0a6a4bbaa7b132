/* evidence.c - find what vouches for an artifact: sidecar files next to it
 * and evidence stores indexed by digest (DIR/sha256/HEX/FILE). */
#include "gate_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EVIDENCE_MAX_FILE (16u * 1024 * 1024)
#define EVIDENCE_MAX_P7S (1u * 1024 * 1024) /* a detached CMS signature */

static bool is_regular(const char *path)
{
	struct stat st;
	/* lstat: a sidecar that is a link or a FIFO is not evidence. */
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum gate_err add_item(struct gate_evidence_list *l, enum gate_evidence_kind kind,
			      const char *main_file, const char *cert_file)
{
	if (l->n >= GATE_MAX_EVIDENCE) {
		l->truncated = true;
		return GATE_OK;
	}
	struct gate_evidence_item *it = &l->items[l->n];
	it->kind = kind;
	it->file = strdup(main_file);
	it->cert = cert_file ? strdup(cert_file) : NULL;
	if (!it->file || (cert_file && !it->cert)) {
		free(it->file);
		free(it->cert);
		return GATE_E_NOMEM;
	}
	l->n++;
	return GATE_OK;
}

/* X.sig goes with X.pem or X.crt when there is one (keyless), else with a
 * pinned key. */
static enum gate_err add_sig(struct gate_evidence_list *l, const char *sig, size_t stem_len)
{
	static const char *const cert_ext[] = {".pem", ".crt"};
	for (size_t i = 0; i < 2; i++) {
		char *cert = NULL;
		if (asprintf(&cert, "%.*s%s", (int)stem_len, sig, cert_ext[i]) < 0)
			return GATE_E_NOMEM;
		if (is_regular(cert)) {
			enum gate_err rc = add_item(l, GATE_EV_DETACHED, sig, cert);
			free(cert);
			return rc;
		}
		free(cert);
	}
	return add_item(l, GATE_EV_DETACHED, sig, NULL);
}

/* X.p7s: a detached CMS signature; one item per signer. The count comes
 * from parsing it here; a file that does not parse is one item whose
 * verification says why. */
static enum gate_err add_p7s_file(struct gate_evidence_list *l, const char *p7s)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 1;
	if (gate_read_file(p7s, EVIDENCE_MAX_P7S, &buf, &len, NULL) == GATE_OK) {
		struct gate_cs_input in = {
			.format = GATE_CS_CMS, .fd = -1, .sig = buf, .siglen = len};
		if (gate_codesign_count(&in, &n, NULL) != GATE_OK || n == 0)
			n = 1;
	}
	free(buf);
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; rc == GATE_OK && i < n; i++) {
		size_t at = l->n;
		rc = add_item(l, GATE_EV_P7S, p7s, NULL);
		if (rc == GATE_OK && l->n > at)
			l->items[at].index = i;
	}
	return rc;
}

static enum gate_err add_p7s(struct gate_evidence_list *l, const char *path)
{
	char *f = NULL;
	if (asprintf(&f, "%s.p7s", path) < 0)
		return GATE_E_NOMEM;
	enum gate_err rc = is_regular(f) ? add_p7s_file(l, f) : GATE_OK;
	free(f);
	return rc;
}

enum gate_err gate_evidence_add_embedded(struct gate_evidence_list *l, int fd, const char *path)
{
	enum gate_cs_format fmt = fd >= 0 ? gate_cs_sniff(fd) : GATE_CS_NONE;
	if (fmt == GATE_CS_NONE)
		return GATE_OK;
	struct gate_cs_input in = {.format = fmt, .fd = fd, .name = path};
	size_t n = 0;
	if (gate_codesign_count(&in, &n, NULL) != GATE_OK)
		n = 1; /* malformed: one item that fails with the reason */
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; rc == GATE_OK && i < n; i++) {
		char *label = NULL;
		if (asprintf(&label, "%s (embedded %s signature %zu)", path,
			     fmt == GATE_CS_PE ? "Authenticode" : "JAR", i + 1) < 0)
			return GATE_E_NOMEM;
		size_t at = l->n;
		rc = add_item(l, fmt == GATE_CS_PE ? GATE_EV_PE : GATE_EV_JAR, label, NULL);
		if (rc == GATE_OK && l->n > at)
			l->items[at].index = i;
		free(label);
	}
	return rc;
}

bool gate_evidence_is_x509(const struct gate_evidence_item *it)
{
	return it->kind == GATE_EV_P7S || it->kind == GATE_EV_PE || it->kind == GATE_EV_JAR;
}

static enum gate_err add_sidecars(struct gate_evidence_list *l, const char *path)
{
	static const char *const bundle_ext[] = {".sigstore.json", ".sigstore", ".bundle"};
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; rc == GATE_OK && i < 3; i++) {
		char *f = NULL;
		if (asprintf(&f, "%s%s", path, bundle_ext[i]) < 0)
			return GATE_E_NOMEM;
		if (is_regular(f))
			rc = add_item(l, GATE_EV_BUNDLE, f, NULL);
		free(f);
	}
	char *sig = NULL;
	if (rc == GATE_OK && asprintf(&sig, "%s.sig", path) < 0)
		return GATE_E_NOMEM;
	if (rc == GATE_OK && is_regular(sig))
		rc = add_sig(l, sig, strlen(path));
	free(sig);
	if (rc == GATE_OK)
		rc = add_p7s(l, path);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* DIR/sha256/HEX/: every bundle, and every .sig with its certificate. Read
 * in name order so decisions are reproducible. */
static enum gate_err add_store(struct gate_evidence_list *l, const char *dir, const char *hex)
{
	char *sub = NULL;
	char *names[GATE_MAX_EVIDENCE * 2];
	size_t n = 0;
	enum gate_err rc = GATE_OK;
	if (asprintf(&sub, "%s/sha256/%s", dir, hex) < 0)
		return GATE_E_NOMEM;
	DIR *d = opendir(sub);
	if (!d) {
		free(sub);
		return GATE_OK; /* nothing stored for this digest */
	}
	struct dirent *de;
	while ((de = readdir(d)) && n < GATE_MAX_EVIDENCE * 2) {
		if (de->d_name[0] == '.' || ends_with(de->d_name, ".pem") ||
		    ends_with(de->d_name, ".crt"))
			continue;
		if (!(names[n] = strdup(de->d_name))) {
			rc = GATE_E_NOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char *f = NULL;
		if (rc == GATE_OK && asprintf(&f, "%s/%s", sub, names[i]) < 0)
			rc = GATE_E_NOMEM;
		if (rc == GATE_OK && is_regular(f))
			rc = ends_with(f, ".sig")   ? add_sig(l, f, strlen(f) - 4)
			     : ends_with(f, ".p7s") ? add_p7s_file(l, f)
						    : add_item(l, GATE_EV_BUNDLE, f, NULL);
		free(f);
		free(names[i]);
	}
	free(sub);
	return rc;
}

enum gate_err gate_evidence_find(const struct gate_ctx *c, const char *path, const char *hex,
				 struct gate_evidence_list *l)
{
	memset(l, 0, sizeof(*l));
	enum gate_err rc = path ? add_sidecars(l, path) : GATE_OK;
	for (size_t i = 0; rc == GATE_OK && i < c->ndirs; i++)
		rc = gate_evidence_is_url(c->dirs[i]) ? gate_evidence_add_url(c, l, c->dirs[i], hex)
						      : add_store(l, c->dirs[i], hex);
	return rc;
}

void gate_evidence_list_clear(struct gate_evidence_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].file);
		free(l->items[i].cert);
	}
	memset(l, 0, sizeof(*l));
}

/* Parse one item into a bundle. */
enum gate_err gate_evidence_load(const struct gate_evidence_item *it, struct gate_bundle **out,
				 struct gate_error *err)
{
	if (it->kind == GATE_EV_BUNDLE)
		return gate_bundle_load(it->file, out, err);
	if (it->kind == GATE_EV_FAILED)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s",
				 it->cert ? it->cert : "unavailable");
	uint8_t *sig = NULL, *cert = NULL;
	size_t sl = 0, cl = 0;
	enum gate_err rc = gate_read_file(it->file, 64 * 1024, &sig, &sl, err);
	if (rc == GATE_OK && it->cert)
		rc = gate_read_file(it->cert, 1024 * 1024, &cert, &cl, err);
	if (rc == GATE_OK)
		rc = gate_bundle_from_detached(sig, sl, cert, cl, NULL, 0, out, err);
	free(sig);
	free(cert);
	return rc;
}
