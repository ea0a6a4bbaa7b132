/* apt_origin_int.h - internals shared by the apt-origin files: the
 * caches of verified Releases and parsed Packages indexes (apt_cache.c)
 * that the decision (apt_origin.c) walks. Never installed. */
#ifndef GATE_APT_ORIGIN_INT_H
#define GATE_APT_ORIGIN_INT_H

#include "apt_origin.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* A file as the caches know it: a change of any of these reloads it. */
struct fid {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* path: an InRelease, or a Release (detached: its signature is path.gpg) */
struct rel_ent {
	char *path, *keyring;
	bool detached;
	struct fid id, sid, kid; /* sid: of the Release.gpg */
	enum gate_err rc;
	char msg[sizeof(((struct gate_error *)0)->msg)];
	char fpr[65];
	struct gate_apt_release rel;
};

struct idx_ent {
	char *path;
	struct fid id;
	enum gate_err rc;
	char msg[sizeof(((struct gate_error *)0)->msg)];
	uint8_t sha256[32]; /* of the file as it is */
	uint64_t size;
	uint8_t plain_sha256[32]; /* of the index text, decompressed */
	uint64_t plain_size;
	struct gate_apt_index ix;
};

/* Held while the caches are looked up and while their entries are used:
 * entries are replaced in place when a file changes. */
extern pthread_mutex_t gate_apt_cache_lock;

bool gate_apt_ends_with(const char *s, const char *suffix);
/* With gate_apt_cache_lock held: the verified Release at path (an InRelease, or
 * with detached a Release and its path.gpg), or the parsed Packages index
 * at path; NULL with err set when it does not load or verify. */
const struct rel_ent *gate_apt_get_release(const char *path, bool detached, const char *keyring,
					   struct gate_error *err);
const struct idx_ent *gate_apt_get_index(const char *path, struct gate_error *err);

#endif
