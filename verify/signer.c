/*
 * signer.c - the signer kinds, and the one encoder of verified facts
 * (signer.h).
 */
#include "signer.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

void gate_put_escaped(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, out);
		else
			fprintf(out, "\\x%02x", *p);
	}
}

json_t *gate_json_text(const char *s)
{
	json_t *j = json_string(s ? s : "");
	if (j)
		return j;
	/* Not UTF-8: every byte of 0x80 or more becomes the text \xNN and a
	 * backslash is doubled, so the original bytes can be told back. */
	size_t n = strlen(s);
	char *e = malloc(n * 4 + 1), *o = e;
	if (!e)
		return json_string("");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (*p < 0x80) {
			*o++ = (char)*p;
		} else {
			o += sprintf(o, "\\x%02x", *p);
		}
	}
	*o = '\0';
	j = json_string(e);
	free(e);
	return j ? j : json_string("");
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void put(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, gate_json_text(v));
}

static void put_sha256(json_t *o, const char *k, const char *hex)
{
	if (hex && hex[0])
		json_object_set_new(o, k, json_sprintf("sha256:%s", hex));
}

static void line(FILE *out, const char *indent, const char *label, const char *v)
{
	fprintf(out, "%s%s: ", indent, label);
	gate_put_escaped(out, v ? v : "-");
	fputc('\n', out);
}

static void line_sha256(FILE *out, const char *indent, const char *label, const char *hex)
{
	if (hex && hex[0])
		fprintf(out, "%s%s: sha256:%s\n", indent, label, hex);
}

/* ---- keyless: a Fulcio certificate, named by OIDC issuer and identity ---- */

static bool keyless_same(const struct gate_facts *a, const struct gate_facts *b)
{
	return eq(a->identity, b->identity) &&
	       strcmp(a->issuer ? a->issuer : "", b->issuer ? b->issuer : "") == 0;
}

/* An exact value, or else a compiled anchored pattern. */
static bool str_matches(const char *exact, const struct gate_regex *re, const char *value)
{
	if (!value)
		return false;
	if (exact)
		return strcmp(exact, value) == 0;
	return re && gate_regex_matches(re, value);
}

const char *const gate_keyless_claims[] = {
	"github_workflow_trigger",
	"github_workflow_sha",
	"github_workflow_name",
	"github_workflow_repository",
	"github_workflow_ref",
	"build_signer_uri",
	"build_signer_digest",
	"runner_environment",
	"source_repository_uri",
	"source_repository_digest",
	"source_repository_ref",
	"source_repository_identifier",
	"source_repository_owner_uri",
	"build_config_uri",
	"build_trigger",
	NULL,
};

const char *gate_facts_ext(const struct gate_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n_exts && i < GATE_MAX_FACT_EXTS; i++)
		if (f->exts[i].name && strcmp(f->exts[i].name, name) == 0)
			return f->exts[i].value;
	return NULL;
}

/* Issuer, identity and every claim the entry names; a claim the
 * certificate does not carry never matches. */
static bool keyless_match(const struct gate_signer_match *m, const struct gate_facts *f)
{
	if (!str_matches(m->issuer, m->issuer_re, f->issuer) ||
	    !str_matches(m->identity, m->identity_re, f->identity))
		return false;
	for (size_t i = 0; i < m->nclaims && i < GATE_MAX_CLAIMS; i++)
		if (!gate_claim_matches(&m->claims[i], gate_facts_ext(f, m->claims[i].name)))
			return false;
	return true;
}

bool gate_claim_matches(const struct gate_claim_match *c, const char *value)
{
	return str_matches(c->exact, c->re, value);
}

void gate_claim_match_clear(struct gate_claim_match *c)
{
	free(c->exact);
	free(c->regex);
	gate_regex_free(c->re);
	memset(c, 0, sizeof(*c));
}

static void keyless_json(const struct gate_facts *f, json_t *o)
{
	put(o, "identity", f->identity);
	put(o, "issuer", f->issuer);
	if (f->subject && f->subject[0])
		put(o, "subject", f->subject);
}

static void keyless_text(const struct gate_facts *f, FILE *out, const char *indent)
{
	line(out, indent, "identity", f->identity);
	line(out, indent, "issuer", f->issuer);
}

/* ---- key: a managed public key, named by its id ---- */

static bool key_same(const struct gate_facts *a, const struct gate_facts *b)
{
	return a->key_id[0] && strcmp(a->key_id, b->key_id) == 0;
}

static bool key_match(const struct gate_signer_match *m, const struct gate_facts *f)
{
	return m->key_id[0] && strcmp(m->key_id, f->key_id) == 0;
}

static void key_json(const struct gate_facts *f, json_t *o)
{
	(void)f;
	(void)o; /* the key id is common to every kind */
}

static void key_text(const struct gate_facts *f, FILE *out, const char *indent)
{
	(void)f;
	(void)out;
	(void)indent;
}

/* ---- x509: classic code signing, named by the leaf certificate ---- */

static bool x509_same(const struct gate_facts *a, const struct gate_facts *b)
{
	return a->fingerprint[0] && strcmp(a->fingerprint, b->fingerprint) == 0;
}

/* The chain reached an anchor of the named root set, and each given
 * constraint holds (a SAN constraint: some SAN matches). */
static bool x509_match(const struct gate_signer_match *m, const struct gate_facts *f)
{
	if (!m->x509 || !m->x509_root ||
	    !gate_x509_trust_has_anchor(m->x509, m->x509_root, f->anchor_fingerprint))
		return false;
	if ((m->subject || m->subject_re) && !str_matches(m->subject, m->subject_re, f->subject))
		return false;
	if (m->fingerprint && strcmp(m->fingerprint, f->fingerprint) != 0)
		return false;
	if (!m->san && !m->san_re)
		return true;
	for (size_t i = 0; i < f->n_sans; i++)
		if (str_matches(m->san, m->san_re, f->sans[i]))
			return true;
	return false;
}

static void x509_json(const struct gate_facts *f, json_t *o)
{
	put(o, "format", f->cs_format);
	put(o, "subject", f->subject);
	put(o, "issuer", f->cert_issuer);
	put(o, "serial", f->serial);
	put_sha256(o, "fingerprint", f->fingerprint);
	put(o, "root", f->anchor_name);
	if (f->n_sans) {
		json_t *a = json_array();
		for (size_t i = 0; i < f->n_sans; i++)
			json_array_append_new(a, gate_json_text(f->sans[i]));
		json_object_set_new(o, "sans", a);
	}
}

static void x509_text(const struct gate_facts *f, FILE *out, const char *indent)
{
	line(out, indent, "format", f->cs_format);
	line(out, indent, "subject", f->subject);
	line(out, indent, "issuer", f->cert_issuer);
	line(out, indent, "serial", f->serial);
	line_sha256(out, indent, "fingerprint", f->fingerprint);
	line(out, indent, "root", f->anchor_name);
	for (size_t i = 0; i < f->n_sans; i++)
		line(out, indent, "san", f->sans[i]);
}

/* ---- apt_archive: an apt archive's InRelease, named by the policy's
 * archive it verified against ---- */

/* apt_archive and tuf_target: the signer is the archive or repository of
 * the policy that vouched (its name is set only once verified). */
static bool anchor_same(const struct gate_facts *a, const struct gate_facts *b)
{
	return eq(a->anchor_name, b->anchor_name);
}

static bool anchor_match(const struct gate_signer_match *m, const struct gate_facts *f)
{
	return eq(m->anchor, f->anchor_name);
}

/* What the archive vouches for: its origin, suite and component, and the
 * package, version and architecture its index lists with this digest. */
static bool apt_ext(const struct gate_fact_ext *e)
{
	return strncmp(e->name, "apt_", 4) == 0;
}

static void apt_json(const struct gate_facts *f, json_t *o)
{
	put(o, "archive", f->anchor_name);
	put(o, "fingerprint", f->fingerprint[0] ? f->fingerprint : NULL);
	for (size_t i = 0; i < f->n_exts; i++)
		if (apt_ext(&f->exts[i]))
			put(o, f->exts[i].name, f->exts[i].value);
}

static void apt_text(const struct gate_facts *f, FILE *out, const char *indent)
{
	line(out, indent, "archive", f->anchor_name);
	if (f->fingerprint[0])
		fprintf(out, "%sInRelease key: %s\n", indent, f->fingerprint);
}

/* ---- tuf_target: a TUF repository of the policy lists the artifact (its
 * exact length and SHA-256) as a target; identity holds the target path,
 * subject the role that speaks for it ---- */

static void tuf_json(const struct gate_facts *f, json_t *o)
{
	put(o, "repository", f->anchor_name);
	put(o, "target", f->identity);
	put(o, "role", f->subject);
}

static void tuf_text(const struct gate_facts *f, FILE *out, const char *indent)
{
	line(out, indent, "repository", f->anchor_name);
	line(out, indent, "target", f->identity);
	line(out, indent, "role", f->subject);
}

static const struct gate_signer_kind_ops kinds[] = {
	{GATE_SIGNER_KEYLESS, "keyless", "keyless", keyless_same, keyless_match, keyless_json,
	 keyless_text},
	{GATE_SIGNER_KEY, "key", "managed key", key_same, key_match, key_json, key_text},
	{GATE_SIGNER_X509, "x509", "x509", x509_same, x509_match, x509_json, x509_text},
	{GATE_SIGNER_APT, "apt_archive", "apt archive", anchor_same, anchor_match, apt_json,
	 apt_text},
	{GATE_SIGNER_TUF, "tuf_target", "TUF target", anchor_same, anchor_match, tuf_json,
	 tuf_text},
};

const struct gate_signer_kind_ops *gate_signer_kind_get(enum gate_signer_kind k)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].kind == k)
			return &kinds[i];
	return NULL;
}

const char *gate_signer_name(enum gate_signer_kind k)
{
	const struct gate_signer_kind_ops *ops = gate_signer_kind_get(k);
	return ops ? ops->name : "unknown";
}

bool gate_signer_same(const struct gate_facts *a, const struct gate_facts *b)
{
	const struct gate_signer_kind_ops *ops = gate_signer_kind_get(a->kind);
	return ops && a->kind == b->kind && ops->same(a, b);
}

bool gate_signer_matches(const struct gate_signer_match *m, const struct gate_facts *f)
{
	const struct gate_signer_kind_ops *ops = gate_signer_kind_get(m->kind);
	return ops && m->kind == f->kind && ops->match(m, f);
}

void gate_signer_match_clear(struct gate_signer_match *m)
{
	char **owned[] = {&m->issuer,	 &m->issuer_regex, &m->identity,      &m->identity_regex,
			  &m->x509_root, &m->subject,	   &m->subject_regex, &m->san,
			  &m->san_regex, &m->fingerprint};
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
		free(*owned[i]);
	gate_regex_free(m->issuer_re);
	gate_regex_free(m->identity_re);
	gate_regex_free(m->subject_re);
	gate_regex_free(m->san_re);
	for (size_t i = 0; i < m->nclaims && i < GATE_MAX_CLAIMS; i++)
		gate_claim_match_clear(&m->claims[i]);
	memset(m, 0, sizeof(*m));
}

/* ---- the encoder ---- */

static const char *time_source_name(enum gate_time_source s)
{
	return s == GATE_TIME_TSA	   ? "rfc3161 timestamp"
	       : s == GATE_TIME_COUNTERSIG ? "pkcs9 countersignature"
	       : s == GATE_TIME_TLOG	   ? "tlog"
					   : "none";
}

/* Extensions the kind does not already write. */
static bool generic_ext(const struct gate_facts *f, const struct gate_fact_ext *e)
{
	return !(f->kind == GATE_SIGNER_APT && apt_ext(e));
}

static void detail_json(json_t *o, const struct gate_facts *f)
{
	char t[32];
	json_t *logs = json_array(), *tsa = json_array(), *ext = json_object();
	put_sha256(o, "digest", f->digest);
	if (f->signing_time) {
		gate_format_time(f->signing_time, t);
		json_object_set_new(o, "signing_time", json_string(t));
	} else {
		json_object_set_new(o, "signing_time", json_null());
	}
	json_object_set_new(o, "time_source", json_string(time_source_name(f->time_source)));
	for (size_t i = 0; i < f->n_tlog && i < GATE_MAX_FACT_LOGS; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "log_index", json_integer(f->log_index[i]));
		if (f->integrated_time[i])
			json_object_set_new(e, "integrated_time",
					    json_integer(f->integrated_time[i]));
		json_array_append_new(logs, e);
	}
	json_object_set_new(o, "tlog_entries", logs);
	for (size_t i = 0; i < f->n_tsa && i < GATE_MAX_FACT_LOGS; i++) {
		gate_format_time(f->tsa_time[i], t);
		json_array_append_new(tsa, json_string(t));
	}
	json_object_set_new(o, "timestamps", tsa);
	put(o, "payload_type", f->payload_type);
	put(o, "predicate_type", f->predicate_type);
	if (f->n_predicate) {
		json_t *pr = json_object();
		for (size_t i = 0; i < f->n_predicate && i < GATE_MAX_FACT_PREDICATE; i++)
			put(pr, f->predicate[i].name, f->predicate[i].value);
		json_object_set_new(o, "predicate", pr);
	}
	if (f->kind == GATE_SIGNER_X509)
		json_object_set_new(o, "unsigned_entries", json_integer((json_int_t)f->n_unsigned));
	for (size_t i = 0; i < f->n_exts; i++)
		if (generic_ext(f, &f->exts[i]))
			put(ext, f->exts[i].name, f->exts[i].value);
	json_object_set_new(o, "extensions", ext);
}

void gate_facts_put_json(json_t *o, const char *label_key, const struct gate_facts *f,
			 unsigned what)
{
	const struct gate_signer_kind_ops *ops = gate_signer_kind_get(f->kind);
	json_object_set_new(o, label_key, json_string(gate_signer_name(f->kind)));
	if (ops)
		ops->json(f, o);
	put_sha256(o, "key_id", f->key_id);
	/* Which trust vouched is part of every record of a verified item, so
	 * that a decision on stale trust shows in check's and audit's output. */
	if (f->trust_source && label_key && strcmp(label_key, "signer") == 0) {
		put(o, "trust_source", f->trust_source);
		json_object_set_new(o, "trust_expired", json_boolean(f->trust_expired));
	}
	if (what & GATE_FACTS_DETAIL)
		detail_json(o, f);
}

json_t *gate_facts_json(const struct gate_facts *f)
{
	json_t *o = json_object();
	if (o)
		gate_facts_put_json(o, "signer", f, GATE_FACTS_DETAIL);
	return o;
}

json_t *gate_error_json(const struct gate_error *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "code", json_string(gate_err_str(e->code)));
	json_object_set_new(o, "rule", gate_json_text(e->rule));
	json_object_set_new(o, "field", gate_json_text(e->field));
	json_object_set_new(o, "message", gate_json_text(e->msg));
	if (e->file[0])
		json_object_set_new(o, "file", gate_json_text(e->file));
	return o;
}

json_t *gate_facts_signer_json(const struct gate_facts *f)
{
	json_t *o = json_object();
	if (o)
		gate_facts_put_json(o, "kind", f, GATE_FACTS_SIGNER);
	return o;
}

json_t *gate_facts_signers_json(const struct gate_facts *const *facts, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		bool seen = !facts[i];
		for (size_t k = 0; k < i && !seen; k++)
			seen = facts[k] && gate_signer_same(facts[k], facts[i]);
		if (!seen)
			json_array_append_new(a, gate_facts_signer_json(facts[i]));
	}
	return a;
}

void gate_facts_put_text(FILE *out, const char *indent, const struct gate_facts *f, unsigned what)
{
	const struct gate_signer_kind_ops *ops = gate_signer_kind_get(f->kind);
	char t[32];
	fprintf(out, "%ssigner: %s\n", indent, ops ? ops->title : "unknown");
	if (ops)
		ops->text(f, out, indent);
	line_sha256(out, indent, "key id", f->key_id);
	if (!(what & GATE_FACTS_DETAIL))
		return;
	line_sha256(out, indent, "digest", f->digest);
	if (f->signing_time) {
		gate_format_time(f->signing_time, t);
		fprintf(out, "%ssigning time: %s (%s)\n", indent, t,
			time_source_name(f->time_source));
	} else {
		fprintf(out, "%ssigning time: none%s\n", indent,
			f->kind == GATE_SIGNER_X509 ? " (no verified timestamp: certificate "
						      "checked at the current time)"
						    : "");
	}
	if (f->kind != GATE_SIGNER_X509 && f->kind != GATE_SIGNER_TUF) {
		fprintf(out, "%slog entries: %zu", indent, f->n_tlog);
		for (size_t i = 0; i < f->n_tlog && i < GATE_MAX_FACT_LOGS; i++)
			fprintf(out, "%s%lld", i ? ", " : " (index ", (long long)f->log_index[i]);
		fprintf(out, "%s\n%stimestamps: %zu\n", f->n_tlog ? ")" : "", indent, f->n_tsa);
	}
	if (f->trust_source)
		fprintf(out, "%strust: %s%s\n", indent, f->trust_source,
			f->trust_expired ? " (expired: run 'gate trust update')" : "");
	if (f->predicate_type)
		line(out, indent, "predicate", f->predicate_type);
	for (size_t i = 0; i < f->n_predicate && i < GATE_MAX_FACT_PREDICATE; i++) {
		char label[64];
		snprintf(label, sizeof label, "predicate %s", f->predicate[i].name);
		line(out, indent, label, f->predicate[i].value);
	}
	for (size_t i = 0; i < f->n_exts; i++)
		if (generic_ext(f, &f->exts[i]))
			line(out, indent, f->exts[i].name, f->exts[i].value);
}
