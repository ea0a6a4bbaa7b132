/* fuzz_apt_proto.c - the apt hook's protocol parser on untrusted bytes:
 * whatever arrives on the hook's stdin. The parser belongs to the gate
 * executable (hooks/apt/), so it is compiled in here. What parses must
 * hold the parser's promises: known ops, absolute bounded paths without
 * control bytes, fields within their caps. */
#include "../../hooks/apt/apt_proto.c"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t max)
{
	if (s && (strlen(s) == 0 || strlen(s) > max))
		abort();
}

static void check(const struct gate_apt_req *r)
{
	if (r->version < 1 || r->version > 3 || r->nactions > GATE_APT_MAX_ACTIONS ||
	    r->nconfig > GATE_APT_MAX_CONFIG || (r->version == 1 && r->nconfig))
		abort();
	for (size_t i = 0; i < r->nactions; i++) {
		const struct gate_apt_action *a = &r->actions[i];
		if (a->op > GATE_APT_OP_ERROR || (a->op == GATE_APT_UNPACK) != (a->deb != NULL))
			abort();
		if (a->deb) {
			size_t n = strlen(a->deb);
			if (a->deb[0] != '/' || n > GATE_APT_MAX_PATH)
				abort();
			for (size_t k = 0; k < n; k++)
				if ((unsigned char)a->deb[k] < 0x20 || a->deb[k] == 0x7f)
					abort();
		}
		if (r->version == 1 && (a->name || a->cmp || a->op != GATE_APT_UNPACK))
			abort();
		if (r->version > 1 && (!a->name || !strchr("<>=", a->cmp) || !a->cmp))
			abort();
		if (r->version == 2 && (a->old_arch || a->new_arch || a->old_ma || a->new_ma))
			abort();
		const char *f[] = {a->name,	   a->old_version, a->old_arch, a->old_ma,
				   a->new_version, a->new_arch,	   a->new_ma};
		for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
			check_str(f[k], GATE_APT_MAX_FIELD);
		if (a->line == 0 || (i && a->line <= r->actions[i - 1].line))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_apt_req *r = NULL;
	struct gate_error err = {0};
	enum gate_err rc = gate_apt_parse(data, size, &r, &err);
	if (rc != GATE_OK) {
		if (r || err.code != rc || !err.msg[0])
			abort();
		return 0;
	}
	if (!r)
		abort();
	check(r);
	gate_apt_req_free(r);
	return 0;
}
