/* fuzz_tuf.c - TUF metadata from the network before any signature is
 * checked: gate_tuf_md_parse + gate_tuf_md_load for each role type, then
 * what the updater does with a loaded file; OLPC canonical JSON (a fixed
 * point: canonicalising the canonical form changes nothing) and key ids;
 * "expires" parsing, percent-encoding and delegation path patterns on the
 * input as text ("pattern\npath").
 *
 * NOTE: reconstructed from its object file after the original was
 * overwritten by mistake; its owner should check it against their copy. */
#include "tuf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct gate_tuf_md *md)
{
	char bin[GATE_TUF_MAX_NAME + 16];
	switch (md->type) {
	case GATE_TUF_ROOT:
		for (int i = 0; i < GATE_TUF_NTYPES; i++)
			(void)gate_tuf_count_valid(md, &md->keys, &md->roles[i]);
		break;
	case GATE_TUF_TIMESTAMP:
		(void)gate_tuf_check_file(&md->snapshot_meta, (const uint8_t *)"x", 1, "t", "T12",
					  NULL);
		break;
	case GATE_TUF_SNAPSHOT:
		(void)gate_tuf_find_meta(md, "targets.json");
		for (size_t i = 0; i < md->nmeta; i++)
			(void)gate_tuf_check_file(&md->meta[i], (const uint8_t *)"", 0, "m", "T18",
						  NULL);
		break;
	case GATE_TUF_TARGETS:
		(void)gate_tuf_find_file(md, "a/b.txt");
		for (size_t i = 0; i < md->ndroles; i++) {
			(void)gate_tuf_delegation_matches(&md->droles[i], "a/b.txt");
			(void)gate_tuf_count_valid(md, &md->dkeys, &md->droles[i].role);
		}
		if (md->has_succinct &&
		    gate_tuf_succinct_role(&md->succinct, "a/b.txt", bin, sizeof bin))
			(void)gate_tuf_succinct_has(&md->succinct, bin);
		break;
	}
	(void)gate_tuf_expired(md, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1u << 20)
		return 0;
	for (int t = 0; t < GATE_TUF_NTYPES; t++) {
		struct gate_tuf_md *md = NULL;
		struct gate_error err;
		if (gate_tuf_md_parse(data, size, (enum gate_tuf_type)t, &md, &err) != GATE_OK)
			continue;
		if (gate_tuf_md_load(md, &err) == GATE_OK)
			exercise(md);
		gate_tuf_md_free(md);
	}

	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       NULL);
	if (j) {
		uint8_t *c = NULL;
		size_t clen = 0;
		char id[65];
		if (gate_tuf_canonical(j, 4 * size + 64, &c, &clen, NULL) == GATE_OK) {
			/* The canonical form is a fixed point: parsing it and
			 * canonicalising again must give the same bytes. */
			json_t *k = json_loadb((const char *)c, clen, JSON_DECODE_ANY, NULL);
			if (k) {
				uint8_t *c2 = NULL;
				size_t c2len = 0;
				if (gate_tuf_canonical(k, 4 * size + 64, &c2, &c2len, NULL) ==
					    GATE_OK &&
				    (c2len != clen || memcmp(c, c2, clen) != 0))
					abort();
				free(c2);
				json_decref(k);
			}
			free(c);
		}
		(void)gate_tuf_keyid(j, id, NULL);
		json_decref(j);
	}

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t t = 0;
	for (unsigned flags = 0; flags <= GATE_RFC3339_TUF; flags++)
		(void)gate_rfc3339_parse(s, flags, &t);
	free(gate_tuf_quote(s));
	char *nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		(void)gate_tuf_path_match(s, nl + 1);
	}
	free(s);
	return 0;
}
