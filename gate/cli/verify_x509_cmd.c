/* verify_x509_cmd.c - `gate verify` for classic X.509 code signing:
 * detached CMS (--p7s), Authenticode in PE files and signed JARs (--pe,
 * --jar, or detected by content), against roots given with --ca. Prints
 * the facts of every signature, never a policy decision. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 16 /* of each of --ca, --tsa-ca, --crl */
#define MAX_SIGS 32  /* signatures reported from one file */

struct x509_args {
	const char *p7s, *artifact, *now, *crl_mode, *crl_cache;
	const char *ca[MAX_FILES], *tsa[MAX_FILES], *crl[MAX_FILES];
	size_t nca, ntsa, ncrl;
	bool pe, jar, crl_fetch, allow_unsigned;
	enum gate_format fmt;
};

enum {
	OPT_P7S = 256,
	OPT_CA,
	OPT_TSA,
	OPT_CRL,
	OPT_CRL_MODE,
	OPT_CRL_FETCH,
	OPT_CRL_CACHE,
	OPT_PE,
	OPT_JAR,
	OPT_UNSIGNED,
	OPT_FORMAT,
	OPT_NOW,
};

static const struct option x509_opts[] = {
	{"p7s", required_argument, NULL, OPT_P7S},
	{"ca", required_argument, NULL, OPT_CA},
	{"tsa-ca", required_argument, NULL, OPT_TSA},
	{"crl", required_argument, NULL, OPT_CRL},
	{"crl-mode", required_argument, NULL, OPT_CRL_MODE},
	{"crl-fetch", no_argument, NULL, OPT_CRL_FETCH},
	{"crl-cache", required_argument, NULL, OPT_CRL_CACHE},
	{"pe", no_argument, NULL, OPT_PE},
	{"jar", no_argument, NULL, OPT_JAR},
	{"allow-unsigned-entries", no_argument, NULL, OPT_UNSIGNED},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"current-time", required_argument, NULL, OPT_NOW},
	{NULL, 0, NULL, 0},
};

bool gate_cli_verify_is_x509(int argc, char **argv)
{
	static const char *const flags[] = {"--p7s", "--ca", "--pe", "--jar", "--tsa-ca", "--crl"};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
			size_t n = strlen(flags[k]);
			if (strncmp(argv[i], flags[k], n) == 0 &&
			    (argv[i][n] == 0 || argv[i][n] == '='))
				return true;
		}
	}
	return false;
}

static enum gate_err set_err(struct gate_error *e, enum gate_err code, const char *field,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum gate_err set_err(struct gate_error *e, enum gate_err code, const char *field,
			     const char *fmt, ...)
{
	va_list ap;
	memset(e, 0, sizeof(*e));
	e->code = code;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "gate verify: %s\n(see 'gate verify --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static bool push(const char **list, size_t *n, const char *v)
{
	if (*n >= MAX_FILES)
		return false;
	list[(*n)++] = v;
	return true;
}

static int parse_args(int argc, char **argv, struct x509_args *va)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", x509_opts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case OPT_P7S:
			ok = !va->p7s;
			va->p7s = optarg;
			break;
		case OPT_CA:
			ok = push(va->ca, &va->nca, optarg);
			break;
		case OPT_TSA:
			ok = push(va->tsa, &va->ntsa, optarg);
			break;
		case OPT_CRL:
			ok = push(va->crl, &va->ncrl, optarg);
			break;
		case OPT_CRL_MODE:
			ok = !va->crl_mode;
			va->crl_mode = optarg;
			break;
		case OPT_CRL_CACHE:
			ok = !va->crl_cache;
			va->crl_cache = optarg;
			break;
		case OPT_CRL_FETCH:
			va->crl_fetch = true;
			break;
		case OPT_PE:
			va->pe = true;
			break;
		case OPT_JAR:
			va->jar = true;
			break;
		case OPT_UNSIGNED:
			va->allow_unsigned = true;
			break;
		case OPT_NOW:
			ok = !va->now;
			va->now = optarg;
			break;
		case OPT_FORMAT:
			if (!gate_cli_parse_format(optarg, &va->fmt) || va->fmt > GATE_FMT_JSON)
				return usage_error("--format must be text or json");
			break;
		default:
			return usage_error(optopt ? "option needs a value, or does not go with "
						    "--p7s/--pe/--jar/--ca"
						  : "unknown option, or one that does not go with "
						    "--p7s/--pe/--jar/--ca");
		}
		if (!ok)
			return usage_error("an option was given twice (or more than 16 files)");
	}
	if (optind + 1 != argc)
		return usage_error("exactly one ARTIFACT file is required");
	va->artifact = argv[optind];
	if (va->nca == 0)
		return usage_error(
			"X.509 verification needs at least one --ca FILE (trusted roots)");
	if (!!va->p7s + va->pe + va->jar > 1)
		return usage_error("give at most one of --p7s, --pe and --jar");
	if (va->crl_mode && strcmp(va->crl_mode, "require") != 0 &&
	    strcmp(va->crl_mode, "prefer") != 0 && strcmp(va->crl_mode, "ignore") != 0)
		return usage_error("--crl-mode must be require, prefer or ignore");
	return -1;
}

static enum gate_err load_trust(const struct x509_args *va, struct gate_x509_trust **out,
				struct gate_error *err)
{
	struct gate_x509_trust *t = NULL;
	enum gate_err rc = gate_x509_trust_new(&t, err);
	for (size_t i = 0; rc == GATE_OK && i < va->nca; i++)
		rc = gate_x509_trust_add_roots(t, va->ca[i], va->ca[i], err);
	for (size_t i = 0; rc == GATE_OK && i < va->ntsa; i++)
		rc = gate_x509_trust_add_tsa_roots(t, va->tsa[i], va->tsa[i], err);
	for (size_t i = 0; rc == GATE_OK && i < va->ncrl; i++)
		rc = gate_x509_trust_add_crl(t, va->crl[i], err);
	enum gate_crl_mode m = GATE_CRL_PREFER;
	if (va->crl_mode && strcmp(va->crl_mode, "require") == 0)
		m = GATE_CRL_REQUIRE;
	else if (va->crl_mode && strcmp(va->crl_mode, "ignore") == 0)
		m = GATE_CRL_IGNORE;
	if (rc == GATE_OK)
		rc = gate_x509_trust_set_revocation(t, m, va->crl_fetch, va->crl_cache, err);
	if (rc != GATE_OK) {
		gate_x509_trust_free(t);
		return rc;
	}
	*out = t;
	return GATE_OK;
}

static const char *format_name(enum gate_cs_format f)
{
	return f == GATE_CS_CMS ? "cms" : f == GATE_CS_PE ? "authenticode" : "jar";
}

/* Open the artifact: hashed for CMS (the signed content), raw for PE and
 * JAR (their verifiers stream what they need, once). */
static enum gate_err open_artifact(const struct x509_args *va, struct gate_artifact **art, int *fd,
				   struct gate_error *err)
{
	struct stat st;
	*fd = open(va->artifact, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*fd < 0)
		return set_err(err, GATE_E_IO, "artifact", "cannot open %s: %s", va->artifact,
			       strerror(errno));
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return set_err(err, GATE_E_IO, "artifact", "%s is not a regular file",
			       va->artifact);
	}
	return va->p7s ? gate_artifact_from_fd(*fd, va->artifact, art, err) : GATE_OK;
}

struct results {
	size_t n, ok;
	struct gate_facts *f[MAX_SIGS];
	struct gate_error e[MAX_SIGS];
	enum gate_err rc[MAX_SIGS];
};

/* C9: a file verifies only when every signature in it does. */
static bool all_verified(const struct results *r)
{
	return r->n > 0 && r->ok == r->n;
}

/* Whether rc judges the artifact (exit 1, with the C rule it broke) rather
 * than saying it, or the trust, could not be read at all (exit 2): a
 * malformed but readable file is rejected, as docs/CODESIGN.md says. */
static bool is_rejection(enum gate_err rc)
{
	switch (rc) {
	case GATE_E_USAGE:
	case GATE_E_IO:
	case GATE_E_NOMEM:
	case GATE_E_INTERNAL:
	case GATE_E_TRUST_ROOT:
	case GATE_E_TOO_LARGE:
	case GATE_E_POLICY:
		return false;
	default:
		return true;
	}
}

static void print_results(const struct x509_args *va, enum gate_cs_format fmt,
			  const struct results *r)
{
	if (va->fmt == GATE_FMT_JSON) {
		json_t *o = json_object(), *sigs = json_array();
		json_object_set_new(o, "artifact", json_string(va->artifact));
		json_object_set_new(o, "format", json_string(format_name(fmt)));
		json_object_set_new(o, "verified", json_boolean(all_verified(r)));
		for (size_t i = 0; i < r->n; i++) {
			json_t *s = json_object();
			json_object_set_new(s, "index", json_integer((json_int_t)i));
			json_object_set_new(s, "verified", json_boolean(r->rc[i] == GATE_OK));
			json_object_set_new(s, r->rc[i] == GATE_OK ? "facts" : "error",
					    r->rc[i] == GATE_OK ? gate_facts_json(r->f[i])
								: gate_error_json(&r->e[i]));
			json_array_append_new(sigs, s);
		}
		json_object_set_new(o, "signatures", sigs);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("%s: ", all_verified(r) ? "verified" : "rejected");
	gate_put_escaped(stdout, va->artifact);
	printf(" (%s, %zu signature%s)\n", format_name(fmt), r->n, r->n == 1 ? "" : "s");
	if (r->ok && !all_verified(r))
		printf("  reason: C9: %zu of %zu signatures verified, and every signature of a "
		       "file must\n",
		       r->ok, r->n);
	for (size_t i = 0; i < r->n; i++) {
		if (r->n > 1)
			printf(" signature %zu: %s\n", i + 1,
			       r->rc[i] == GATE_OK ? "verified" : "rejected");
		if (r->rc[i] == GATE_OK) {
			gate_facts_put_text(stdout, "  ", r->f[i], GATE_FACTS_DETAIL);
			continue;
		}
		fputs("  field: ", stdout);
		gate_put_escaped(stdout, r->e[i].field[0] ? r->e[i].field : "-");
		fputs("\n  reason: ", stdout);
		if (r->e[i].rule[0])
			printf("%s: ", r->e[i].rule);
		gate_put_escaped(stdout, r->e[i].msg[0] ? r->e[i].msg : gate_err_str(r->rc[i]));
		fputc('\n', stdout);
	}
}

int gate_cmd_verify_x509(int argc, char **argv)
{
	struct x509_args va = {0};
	struct gate_error err = {0};
	struct gate_x509_trust *trust = NULL;
	struct gate_artifact *art = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0, n = 0;
	int fd = -1, code = parse_args(argc, argv, &va);
	struct results *r = NULL;
	struct gate_pe_prehash *prehash = NULL;
	enum gate_err rc;
	if (code >= 0)
		return code;
	struct gate_cs_opts o = {.allow_unsigned_entries = va.allow_unsigned};
	if (va.now && !gate_parse_rfc3339(va.now, &o.now))
		return usage_error("--current-time must be RFC 3339, e.g. 2025-01-01T00:00:00Z");
	if (!(r = calloc(1, sizeof(*r)))) {
		rc = set_err(&err, GATE_E_NOMEM, NULL, "out of memory");
		goto fail;
	}
	/* A PE's image hash is the bulk of the work: started before the
	 * trust is read and parsed, it runs while that happens. */
	if ((rc = open_artifact(&va, &art, &fd, &err)) != GATE_OK)
		goto fail;
	enum gate_cs_format format = va.p7s   ? GATE_CS_CMS
				     : va.pe  ? GATE_CS_PE
				     : va.jar ? GATE_CS_JAR
					      : gate_cs_sniff(fd);
	if (format == GATE_CS_PE)
		prehash = gate_pe_prehash(fd);
	if ((rc = load_trust(&va, &trust, &err)) != GATE_OK)
		goto fail;
	o.trust = trust;
	if (va.p7s && (rc = gate_read_file(va.p7s, 1024 * 1024, &sig, &siglen, &err)) != GATE_OK)
		goto fail;
	struct gate_cs_input in = {.fd = fd,
				   .name = va.artifact,
				   .sig = sig,
				   .siglen = siglen,
				   .sha256 = art ? gate_artifact_sha256(art) : NULL,
				   .format = format,
				   .prehash = prehash};
	if (in.format == GATE_CS_NONE) {
		rc = set_err(
			&err, GATE_E_UNSUPPORTED, "artifact",
			"neither a PE file nor a JAR: give --p7s FILE for a detached signature");
		goto fail;
	}
	/* Signature 0 first: for a PE its image hash starts at once, before
	 * the signatures are counted (which parses them all). */
	r->rc[0] = gate_verify_codesign(&in, &o, &r->f[0], &r->e[0]);
	if (r->rc[0] != GATE_OK && !is_rejection(r->rc[0]) && r->rc[0] != GATE_E_USAGE) {
		rc = r->rc[0];
		err = r->e[0];
		goto fail;
	}
	/* A verified signature says how many the file holds; else count. A
	 * file too malformed to count is one rejected signature. */
	if (r->rc[0] == GATE_OK)
		n = r->f[0]->n_signatures;
	else if ((rc = gate_codesign_count(&in, &n, &err)) != GATE_OK && !is_rejection(rc))
		goto fail;
	else if (rc != GATE_OK)
		n = 1;
	if (n == 0) {
		rc = set_err(&err, GATE_E_SIGNATURE, format_name(in.format),
			     "the file is not signed");
		snprintf(err.rule, sizeof err.rule, "C9");
		gate_facts_free(r->f[0]);
		r->f[0] = NULL;
		r->n = 1;
		r->rc[0] = rc;
		r->e[0] = err;
		print_results(&va, in.format, r);
		code = GATE_EXIT_DENY;
		goto out;
	}
	for (size_t i = 0; i < n && i < MAX_SIGS; i++) {
		in.index = i;
		if (i > 0)
			r->rc[i] = gate_verify_codesign(&in, &o, &r->f[i], &r->e[i]);
		r->ok += r->rc[i] == GATE_OK;
		r->n++;
	}
	print_results(&va, in.format, r);
	code = all_verified(r) ? GATE_EXIT_OK : GATE_EXIT_DENY;
	goto out;
fail:
	if (va.fmt == GATE_FMT_JSON) {
		json_t *o2 = json_object();
		json_object_set_new(o2, "artifact", json_string(va.artifact));
		json_object_set_new(o2, "verified", json_false());
		json_object_set_new(o2, "error", gate_error_json(&err));
		json_dumpf(o2, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o2);
	}
	gate_cli_print_error(va.artifact, &err);
	code = gate_cli_exit_for(rc);
out:
	for (size_t i = 0; r && i < r->n; i++)
		gate_facts_free(r->f[i]);
	free(r);
	gate_pe_prehash_free(prehash); /* before the fd it reads is closed */
	if (fd >= 0)
		close(fd);
	gate_artifact_free(art);
	gate_x509_trust_free(trust);
	free(sig);
	return code;
}
