/* tuf_client_int.h - the TUF updater's state and the helpers its files
 * (tuf_client.c, tuf_walk.c, tuf_download.c) share. Never installed. */
#ifndef GATE_VERIFY_TUF_CLIENT_INT_H
#define GATE_VERIFY_TUF_CLIENT_INT_H

#include "tuf.h"

/* A role loaded in this updater's life (top-level "targets" or delegated). */
struct loaded {
	char *name;
	struct gate_tuf_md *md;
};

enum refresh_state { REFRESH_NONE, REFRESH_OK, REFRESH_FAILED };

struct gate_tuf_updater {
	char *dir;
	char *mdurl;  /* with a trailing '/'; NULL offline */
	char *tgturl; /* with a trailing '/'; may be NULL */
	int64_t now;  /* T0 */
	struct gate_tuf_caps caps;
	bool curl_inited;
	enum refresh_state state;
	struct gate_tuf_md *root, *timestamp, *snapshot;
	struct loaded *roles;
	size_t nroles, aroles;
	struct gate_tuf_target **found; /* results handed out, freed with u */
	size_t nfound;
};

/* malloc'd formatted string, NULL on failure. */
char *gate_tuf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A role already loaded in this updater's life, or NULL. */
struct gate_tuf_md *gate_tuf_find_loaded(const struct gate_tuf_updater *u, const char *name);

/* Load role "name" delegated with keys/role (root's for "targets"): from
 * the cache or the network, verified as in T17-T21 (T24 when it was loaded
 * before); *out stays owned by u. */
enum gate_err gate_tuf_load_role(struct gate_tuf_updater *u, const char *name,
				 const struct gate_tuf_keys *keys, const struct gate_tuf_role *role,
				 struct gate_tuf_md **out, struct gate_error *err);

#endif
