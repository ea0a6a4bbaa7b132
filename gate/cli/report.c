/* report.c - SARIF 2.1.0 and JUnit XML reports of gate check.
 *
 * Everything in a verdict may come from untrusted input (file names, parts
 * of evidence files quoted in reasons), so every string is made safe for
 * its format here: invalid UTF-8 becomes U+FFFD in both formats, characters
 * that XML 1.0 does not allow become U+FFFD in JUnit, and paths become URI
 * references by percent-encoding in SARIF. */
#include "cli.h"
#include "gate.h"
#include "signer.h"
#include "verdict.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define RULE_NO_RULE "no-rule" /* default deny: no rule of the policy matched */
#define RULE_ERROR "error"     /* the file could not be decided */
/* SARIF wants an absolute URI for the tool's documentation: the manual
 * page, unless the build names the project's home page. */
#ifndef GATE_INFORMATION_URI
#define GATE_INFORMATION_URI "man:gate(1)"
#endif

/* ---- text hygiene ---- */

/* Decode one UTF-8 sequence at s (s[0] != 0). Strict: overlong forms,
 * surrogates and values past U+10FFFF are invalid. Returns the bytes
 * consumed (1 for an invalid byte, with *cp = U+FFFD). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
			*cp = 0xFFFD;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = v;
	return len;
}

static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A URI reference (RFC 3986) for a file path: a relative path stays
 * relative, an absolute one becomes a file: URI. Every byte that is not
 * unreserved, a sub-delimiter, '@' or '/' is percent-encoded, ':' too, so
 * that a first segment like "c:x" is not read as a scheme. */
static json_t *path_uri(const char *path, bool *relative)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *buf = malloc(n * 3 + 8);
	if (!buf)
		return NULL;
	size_t o = 0;
	*relative = path[0] != '/';
	if (!*relative) {
		memcpy(buf, "file://", 7);
		o = 7;
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=@/", c)) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	json_t *j = json_stringn(buf, o);
	free(buf);
	return j;
}

/* XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF]. */
static bool xml_char_ok(uint32_t cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
	       (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* Write untrusted s as XML character data or an attribute value (in
 * double quotes), reversibly and on one line: markup characters become
 * entities; a backslash is doubled; control characters (newlines and tabs
 * too: nothing from a file name may start a line of its own), bytes that
 * are not UTF-8 and characters XML cannot carry become \xNN or \uNNNN. */
static void xml_put(FILE *out, const char *s)
{
	if (!s)
		return;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		char u[4];
		size_t n = utf8_next(p, &cp);
		if (n == 1 && cp == 0xFFFD) { /* not UTF-8 */
			fprintf(out, "\\x%02x", *p);
			p++;
			continue;
		}
		p += n;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			fprintf(out, "\\x%02x", (unsigned)cp);
			continue;
		}
		if (!xml_char_ok(cp)) {
			fprintf(out, "\\u%04x", (unsigned)cp);
			continue;
		}
		switch (cp) {
		case '\\':
			fputs("\\\\", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fwrite(u, 1, utf8_put(cp, u), out);
			break;
		}
	}
}

/* ---- SARIF ---- */

struct rule_ids {
	const char **names; /* distinct policy rule names, first seen first */
	char **ids;	    /* their SARIF rule ids */
	size_t n;
};

/* The fixed descriptors come first: 0 = no-rule, 1 = error. */
static size_t rule_index(const struct rule_ids *r, const struct gate_verdict *v)
{
	if (v->kind == GATE_VERDICT_ERROR)
		return 1;
	if (!v->rule)
		return 0;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->names[i], v->rule) == 0)
			return i + 2;
	return 0; /* not reached: every rule name was collected */
}

/* "policy/" and the rule name in lower case, every run of other characters
 * than letters and digits as one '-', at most RULE_SLUG_MAX of them: ids
 * that code scanning shows and keeps alerts by. */
#define RULE_SLUG_MAX 48
static char *rule_slug(const char *name)
{
	char *s = malloc(sizeof "policy/" + RULE_SLUG_MAX + 16);
	size_t k = sizeof "policy/" - 1;
	if (!s)
		return NULL;
	memcpy(s, "policy/", k);
	for (const unsigned char *p = (const unsigned char *)name;
	     *p && k < sizeof "policy/" - 1 + RULE_SLUG_MAX; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			s[k++] = (char)*p;
		else if (*p >= 'A' && *p <= 'Z')
			s[k++] = (char)(*p - 'A' + 'a');
		else if (s[k - 1] != '-' && s[k - 1] != '/')
			s[k++] = '-';
	}
	while (s[k - 1] == '-')
		k--;
	if (s[k - 1] == '/')
		s[k++] = '-'; /* a name with no letter or digit */
	s[k] = '\0';
	return s;
}

/* FNV-1a: a short, stable tag of a rule name. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The ids of the collected rules: each its slug; slugs shared by several
 * names get "-" and a hash of the name, so an id depends on the rule's
 * own name only (and, failing even that, "-" and its position). */
static bool assign_rule_ids(struct rule_ids *r)
{
	if (!(r->ids = calloc(r->n ? r->n : 1, sizeof(*r->ids))))
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (!(r->ids[i] = rule_slug(r->names[i])))
			return false;
	for (size_t pass = 0; pass < 2; pass++) {
		bool *dup = calloc(r->n ? r->n : 1, sizeof(*dup));
		if (!dup)
			return false;
		for (size_t i = 0; i < r->n; i++)
			for (size_t j = i + 1; j < r->n; j++)
				if (strcmp(r->ids[i], r->ids[j]) == 0)
					dup[i] = dup[j] = true;
		for (size_t i = 0; i < r->n; i++) {
			size_t k = strlen(r->ids[i]);
			if (!dup[i])
				continue;
			if (pass == 0)
				snprintf(r->ids[i] + k, 10, "-%08x", name_hash(r->names[i]));
			else
				snprintf(r->ids[i] + k, 6, "-%zu", i % 10000);
		}
		free(dup);
	}
	return true;
}

static json_t *rule_id_of(const struct rule_ids *r, size_t idx)
{
	return json_string(idx == 0   ? RULE_NO_RULE
			   : idx == 1 ? RULE_ERROR
				      : r->ids[idx - 2]);
}

/* A SARIF message object. Message strings have syntax of their own
 * (SARIF 2.1.0 §3.11.5, §3.11.6): "{n}" is a placeholder, so literal braces
 * are doubled, and "[text](target)" is an embedded link, so "](" is broken
 * up: a file name can then neither garble a message nor plant a link. */
static json_t *text_obj(const char *text)
{
	json_t *o = json_object();
	size_t n = text ? strlen(text) : 0;
	char *buf = n ? malloc(2 * n + 1) : NULL;
	if (buf) {
		size_t k = 0;
		for (const char *p = text; *p; p++) {
			buf[k++] = *p;
			if (*p == '{' || *p == '}')
				buf[k++] = *p;
			else if (*p == ']' && p[1] == '(')
				buf[k++] = ' ';
		}
		buf[k] = '\0';
	}
	/* The text of a message must not be empty. */
	json_object_set_new(o, "text", gate_json_text(buf ? buf : n ? text : "-"));
	free(buf);
	return o;
}

static json_t *descriptor(json_t *id, const char *name, const char *short_text, const char *help,
			  const char *level)
{
	json_t *d = json_object(), *cfg = json_object();
	json_object_set_new(d, "id", id);
	json_object_set_new(d, "name", gate_json_text(name));
	json_object_set_new(d, "shortDescription", text_obj(short_text));
	json_object_set_new(d, "fullDescription", text_obj(help));
	json_object_set_new(d, "help", text_obj(help));
	json_object_set_new(cfg, "level", json_string(level));
	json_object_set_new(d, "defaultConfiguration", cfg);
	return d;
}

static json_t *sarif_rules(const struct rule_ids *r)
{
	json_t *a = json_array();
	json_array_append_new(
		a, descriptor(json_string(RULE_NO_RULE), "DeniedByDefault",
			      "No policy rule matches the file: denied by default",
			      "No rule of the policy matches this file (by type, path, caller or "
			      "size), so gate denies it by default. Add a rule that decides it, or "
			      "keep the file out of the checked paths.",
			      "error"));
	json_array_append_new(
		a,
		descriptor(json_string(RULE_ERROR), "Undecidable", "The file could not be decided",
			   "gate could not read or identify this file (unreadable, a symbolic "
			   "link or a special file). An undecidable file is denied in enforce "
			   "mode.",
			   "error"));
	for (size_t i = 0; i < r->n; i++) {
		char *s = NULL;
		if (asprintf(&s, "Policy rule '%s'", r->names[i]) < 0)
			s = NULL;
		json_t *d = descriptor(json_string(r->ids[i]), r->names[i], s ? s : "Policy rule",
				       "A rule of the policy that matched the file denied it: the "
				       "rule decides deny, or the evidence it requires (signatures "
				       "by its signer set, transparency log, timestamps, age) did "
				       "not hold. The result's properties list each requirement.",
				       "error");
		free(s);
		json_t *props = json_object();
		json_object_set_new(props, "policyRule", gate_json_text(r->names[i]));
		json_object_set_new(d, "properties", props);
		json_array_append_new(a, d);
	}
	return a;
}

/* MIME types in SARIF must look like type/subtype. */
static bool mime_ok(const char *m)
{
	const char *slash = m ? strchr(m, '/') : NULL;
	return slash && slash != m && slash[1];
}

/* index < 0: the location of the artifact object itself. */
static json_t *artifact_location(const char *path, long index)
{
	bool relative = false;
	json_t *loc = json_object();
	json_object_set_new(loc, "uri", path_uri(path, &relative));
	if (relative)
		json_object_set_new(loc, "uriBaseId", json_string("%SRCROOT%"));
	if (index >= 0)
		json_object_set_new(loc, "index", json_integer((json_int_t)index));
	return loc;
}

static json_t *sarif_artifact(const struct gate_verdict *v)
{
	json_t *a = json_object(), *roles = json_array();
	json_object_set_new(a, "location", artifact_location(v->path, -1));
	json_array_append_new(roles, json_string("analysisTarget"));
	json_object_set_new(a, "roles", roles);
	if (v->digest[0]) {
		json_t *h = json_object();
		json_object_set_new(h, "sha-256", json_string(v->digest));
		json_object_set_new(a, "hashes", h);
		json_object_set_new(a, "length", json_integer((json_int_t)v->size));
	}
	if (mime_ok(v->mime))
		json_object_set_new(a, "mimeType", gate_json_text(v->mime));
	return a;
}

static json_t *sarif_result(const struct rule_ids *r, const struct gate_verdict *v, size_t index)
{
	json_t *res = json_object(), *locs = json_array(), *phys = json_object(),
	       *loc = json_object(), *props = json_object(), *fp = json_object();
	size_t ri = rule_index(r, v);
	json_t *id = rule_id_of(r, ri);
	json_object_set_new(res, "ruleId", id);
	json_object_set_new(res, "ruleIndex", json_integer((json_int_t)ri));
	json_object_set_new(res, "kind", json_string("fail"));
	json_object_set_new(res, "level", json_string(v->allowed ? "warning" : "error"));
	json_object_set_new(res, "message", text_obj(v->reason));
	json_object_set_new(phys, "artifactLocation", artifact_location(v->path, (long)index));
	/* Code scanning places an alert on a line: the file's first. */
	json_t *region = json_object();
	json_object_set_new(region, "startLine", json_integer(1));
	json_object_set_new(phys, "region", region);
	json_object_set_new(loc, "physicalLocation", phys);
	json_array_append_new(locs, loc);
	json_object_set_new(res, "locations", locs);
	/* Alerts are tracked by file and rule, not by content: a rebuilt
	 * artifact that is denied again is the same alert. */
	char *key = NULL;
	const char *ids = json_string_value(id);
	const char *uri = json_string_value(
		json_object_get(json_object_get(phys, "artifactLocation"), "uri"));
	if (asprintf(&key, "%s|%s", ids ? ids : "", uri ? uri : "") >= 0) {
		json_object_set_new(fp, "gatePathRule/v1", gate_json_text(key));
		free(key);
	}
	json_object_set_new(res, "partialFingerprints", fp);
	json_object_set_new(props, "verdict", json_string(gate_verdict_name(v->kind)));
	json_object_set_new(props, "enforced", json_boolean(!v->allowed));
	json_object_set_new(props, "mode", json_string(gate_mode_name(v->mode)));
	if (v->rule)
		json_object_set_new(props, "policyRule", gate_json_text(v->rule));
	if (v->digest[0])
		json_object_set_new(props, "sha256", json_string(v->digest));
	if (v->mime)
		json_object_set_new(props, "mime", gate_json_text(v->mime));
	if (v->digest[0])
		json_object_set_new(props, "size", json_integer((json_int_t)v->size));
	gate_verdict_put_detail_json(props, v);
	json_object_set_new(res, "properties", props);
	return res;
}

static void free_rule_ids(struct rule_ids *r)
{
	for (size_t i = 0; r->ids && i < r->n; i++)
		free(r->ids[i]);
	free(r->ids);
	free(r->names);
}

static bool collect_rules(const struct gate_verdict *v, size_t n, struct rule_ids *r)
{
	if (!(r->names = calloc(n ? n : 1, sizeof(*r->names))))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].rule)
			continue;
		size_t k = 0;
		while (k < r->n && strcmp(r->names[k], v[i].rule) != 0)
			k++;
		if (k == r->n)
			r->names[r->n++] = v[i].rule;
	}
	return assign_rule_ids(r);
}

bool gate_report_sarif(FILE *out, const struct gate_verdict *v, size_t n, const char *policy)
{
	struct rule_ids rules = {0};
	bool ok = false;
	if (!collect_rules(v, n, &rules)) {
		fprintf(stderr, "gate check: out of memory\n");
		free_rule_ids(&rules);
		return false;
	}
	json_t *root = json_object(), *runs = json_array(), *run = json_object(),
	       *tool = json_object(), *driver = json_object(), *artifacts = json_array(),
	       *results = json_array(), *props = json_object();
	size_t counts[3] = {0};
	json_object_set_new(driver, "name", json_string("gate"));
	json_object_set_new(driver, "version", json_string(gate_version()));
	json_object_set_new(driver, "semanticVersion", json_string(gate_version()));
	json_object_set_new(driver, "informationUri", json_string(GATE_INFORMATION_URI));
	json_object_set_new(driver, "rules", sarif_rules(&rules));
	json_object_set_new(tool, "driver", driver);
	json_object_set_new(run, "tool", tool);
	for (size_t i = 0; i < n; i++) {
		counts[v[i].kind <= GATE_VERDICT_ERROR ? v[i].kind : GATE_VERDICT_ERROR]++;
		json_array_append_new(artifacts, sarif_artifact(&v[i]));
		/* Allowed files are listed as artifacts only: code scanning
		 * turns every result into an alert, whatever its kind. */
		if (v[i].kind != GATE_VERDICT_ALLOW)
			json_array_append_new(results, sarif_result(&rules, &v[i], i));
	}
	json_object_set_new(run, "artifacts", artifacts);
	json_object_set_new(run, "results", results);
	json_object_set_new(props, "policy", gate_json_text(policy));
	if (n)
		json_object_set_new(props, "mode", json_string(gate_mode_name(v[0].mode)));
	json_object_set_new(props, "allowed", json_integer((json_int_t)counts[0]));
	json_object_set_new(props, "denied", json_integer((json_int_t)counts[1]));
	json_object_set_new(props, "errors", json_integer((json_int_t)counts[2]));
	json_object_set_new(run, "properties", props);
	json_array_append_new(runs, run);
	json_object_set_new(root, "$schema", json_string(SARIF_SCHEMA));
	json_object_set_new(root, "version", json_string("2.1.0"));
	json_object_set_new(root, "runs", runs);
	if (!root || json_dumpf(root, out, JSON_INDENT(2)) != 0)
		fprintf(stderr, "gate check: cannot write the SARIF report\n");
	else
		ok = fputc('\n', out) != EOF;
	json_decref(root);
	free_rule_ids(&rules);
	return ok;
}

/* ---- JUnit XML ---- */

static void junit_details(FILE *out, const struct gate_verdict *v)
{
	fputs("verdict: ", out);
	fputs(gate_verdict_name(v->kind), out);
	fputs(v->allowed ? " (audit mode: reported, not enforced)\n" : " (enforced)\n", out);
	fputs("rule: ", out);
	xml_put(out, v->rule			     ? v->rule
		     : v->kind == GATE_VERDICT_ERROR ? "none (the file could not be decided)"
						     : "none (no rule matches: denied by default)");
	fputs("\npath: ", out);
	xml_put(out, v->path);
	fputs("\nreason: ", out);
	xml_put(out, v->reason);
	fputc('\n', out);
	if (v->digest[0])
		fprintf(out, "sha256: %s\nsize: %llu\n", v->digest, (unsigned long long)v->size);
	if (v->mime) {
		fputs("type: ", out);
		xml_put(out, v->mime);
		fputc('\n', out);
	}
	for (size_t i = 0; i < v->eval.nreqs && i < GATE_MAX_REQS; i++) {
		const struct gate_req_result *r = &v->eval.reqs[i];
		fputs("requirement ", out);
		xml_put(out, r->what);
		fputs(r->held ? ": held: " : ": NOT held: ", out);
		xml_put(out, r->detail);
		fputc('\n', out);
	}
	for (size_t i = 0; i < v->nevidence; i++) {
		const struct gate_evidence_result *e = &v->evidence[i];
		fputs("evidence ", out);
		xml_put(out, e->source);
		if (e->verified && e->facts) {
			fputs(": verified, ", out);
			fputs(gate_signer_name(e->facts->kind), out);
			if (e->facts->identity) {
				fputs(", identity ", out);
				xml_put(out, e->facts->identity);
			} else if (e->facts->kind == GATE_SIGNER_X509 && e->facts->subject) {
				fputs(", subject ", out);
				xml_put(out, e->facts->subject);
			}
			fputs(e->in_policy ? " (in the policy)\n" : " (not in any signer set)\n",
			      out);
		} else {
			fputs(": rejected: ", out);
			if (e->error.rule[0]) {
				xml_put(out, e->error.rule);
				fputc(' ', out);
			}
			if (e->error.field[0]) {
				xml_put(out, e->error.field);
				fputs(": ", out);
			}
			xml_put(out, e->error.msg);
			fputc('\n', out);
		}
	}
}

static void junit_case(FILE *out, const struct gate_verdict *v)
{
	/* Grouped by rule; the fixed names are those of the SARIF rules. */
	fputs("    <testcase classname=\"gate.", out);
	xml_put(out, v->rule ? v->rule : v->kind == GATE_VERDICT_ERROR ? RULE_ERROR : RULE_NO_RULE);
	fputs("\" name=\"", out);
	xml_put(out, v->path);
	fputs("\" time=\"0\"", out);
	if (v->kind == GATE_VERDICT_ALLOW) {
		fputs("/>\n", out);
		return;
	}
	const char *tag = v->kind == GATE_VERDICT_DENY ? "failure" : "error";
	fprintf(out, ">\n      <%s message=\"", tag);
	if (v->allowed)
		fputs("[audit: not enforced] ", out);
	xml_put(out, v->reason);
	fprintf(out, "\" type=\"%s\">", v->kind == GATE_VERDICT_DENY ? "deny" : "error");
	junit_details(out, v);
	fprintf(out, "</%s>\n    </testcase>\n", tag);
}

void gate_report_junit(FILE *out, const struct gate_verdict *v, size_t n, const char *policy)
{
	size_t fail = 0, err = 0;
	char when[32] = "";
	for (size_t i = 0; i < n; i++) {
		fail += v[i].kind == GATE_VERDICT_DENY;
		err += v[i].kind == GATE_VERDICT_ERROR;
	}
	if (n)
		gate_cli_time(v[0].time, when, sizeof when);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out, "<testsuites name=\"gate\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n",
		n, fail, err);
	fprintf(out,
		"  <testsuite name=\"gate check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"skipped=\"0\"",
		n, fail, err);
	if (when[0]) {
		fputs(" timestamp=\"", out);
		xml_put(out, when);
		fputc('"', out);
	}
	fputs(">\n    <properties>\n      <property name=\"policy\" value=\"", out);
	xml_put(out, policy);
	fprintf(out, "\"/>\n      <property name=\"gate.version\" value=\"%s\"/>\n",
		gate_version());
	if (n)
		fprintf(out, "      <property name=\"mode\" value=\"%s\"/>\n",
			gate_mode_name(v[0].mode));
	fputs("    </properties>\n", out);
	for (size_t i = 0; i < n; i++)
		junit_case(out, &v[i]);
	fputs("  </testsuite>\n</testsuites>\n", out);
}

/* ---- Markdown (a CI job's summary page) ---- */

#define MD_MAX_ROWS 100	 /* rows of the table; the rest are counted */
#define MD_MAX_CELL 300	 /* bytes of untrusted text shown per cell */

/* Write untrusted s as the text of a Markdown table cell, on one line and
 * reversibly, like the text report: control characters (newlines too) and
 * bytes that are not UTF-8 as \xNN, a backslash doubled; the punctuation
 * that Markdown (GitHub's too: '$' math, '@' mentions, ':' autolinks) gives
 * a meaning is backslash-escaped (a pipe cannot end the cell, a backtick
 * cannot open code, brackets cannot make a link) and '&', '<', '>' become
 * entities (no HTML). At most MD_MAX_CELL bytes of s, then an
 * ellipsis. */
static void md_put(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		uint32_t cp;
		char u[4];
		size_t n = utf8_next(p, &cp);
		if ((size_t)(p - (const unsigned char *)s) >= MD_MAX_CELL) {
			fputs("…", out);
			return;
		}
		if ((n == 1 && cp == 0xFFFD) || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			fprintf(out, "\\x%02x", n == 1 && cp == 0xFFFD ? *p : (unsigned)cp);
			p += n;
			continue;
		}
		p += n;
		if (cp == '\\')
			fputs("\\\\\\\\", out);
		else if (cp == '&')
			fputs("&amp;", out);
		else if (cp == '<')
			fputs("&lt;", out);
		else if (cp == '>')
			fputs("&gt;", out);
		else if (cp < 0x80 && strchr("!#$()*+-:@[]^_`{|}~", (int)cp)) {
			fputc('\\', out);
			fputc((int)cp, out);
		} else
			fwrite(u, 1, utf8_put(cp, u), out);
	}
}

static void md_row(FILE *out, const struct gate_verdict *v)
{
	fputs(v->kind == GATE_VERDICT_ALLOW  ? "| ✅ allow"
	      : v->kind == GATE_VERDICT_DENY ? "| ❌ deny"
					     : "| ⚠️ error",
	      out);
	if (v->allowed && v->kind != GATE_VERDICT_ALLOW)
		fputs(" (audit: not enforced)", out);
	fputs(" | ", out);
	md_put(out, v->path);
	fputs(" | ", out);
	md_put(out, v->rule ? v->rule : v->kind == GATE_VERDICT_ERROR ? "(none)" : "(no rule)");
	fputs(" | ", out);
	md_put(out, v->reason);
	fputs(" |\n", out);
}

void gate_report_markdown(FILE *out, const struct gate_verdict *v, size_t n, const char *policy)
{
	size_t counts[3] = {0}, shown = 0;
	for (size_t i = 0; i < n; i++)
		counts[v[i].kind <= GATE_VERDICT_ERROR ? v[i].kind : GATE_VERDICT_ERROR]++;
	fputs("### gate check\n\n", out);
	fprintf(out, "**%zu allowed, %zu denied, %zu errors** (%zu files; policy ", counts[0],
		counts[1], counts[2], n);
	md_put(out, policy);
	if (n)
		fprintf(out, ", mode %s", gate_mode_name(v[0].mode));
	fputs(")\n\n", out);
	if (n == 0)
		return;
	fputs("| Decision | File | Rule | Reason |\n| --- | --- | --- | --- |\n", out);
	/* Denials and errors first: a long list of allowed files must not
	 * push them past the cap. */
	for (int allowed = 0; allowed < 2; allowed++)
		for (size_t i = 0; i < n && shown < MD_MAX_ROWS; i++)
			if ((v[i].kind == GATE_VERDICT_ALLOW) == (allowed == 1)) {
				md_row(out, &v[i]);
				shown++;
			}
	if (shown < n)
		fprintf(out, "\nand %zu more (see the full report)\n", n - shown);
}
