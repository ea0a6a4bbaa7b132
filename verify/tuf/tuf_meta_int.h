/* tuf_meta_int.h - what the TUF metadata files (tuf_canon.c, tuf_keys.c,
 * tuf_meta.c) share among themselves. Never installed. */
#ifndef GATE_VERIFY_TUF_META_INT_H
#define GATE_VERIFY_TUF_META_INT_H

#include "tuf.h"

#include <jansson.h>
#include <stdbool.h>

/* tuf_canon.c: qsort comparison of two C strings (UTF-8 code point order). */
int gate_tuf_cmp_cstr(const void *a, const void *b);

/* tuf_meta.c: a string member (at most GATE_TUF_MAX_NAME bytes) and a
 * member that must be an object / array; null = absent. */
enum gate_err gate_tuf_get_str(json_t *obj, const char *key, bool required, const char **out,
			       const char *field, struct gate_error *err);
enum gate_err gate_tuf_get_typed(json_t *obj, const char *key, bool required, json_type type,
				 json_t **out, const char *field, struct gate_error *err);

/* tuf_keys.c: a key table (spec §3) read from a "keys" object, and its
 * release. */
enum gate_err gate_tuf_keys_load(json_t *obj, struct gate_tuf_keys *ks, const char *field,
				 struct gate_error *err);
void gate_tuf_keys_clear(struct gate_tuf_keys *ks);

#endif
