/* dpkg_import_int.h - what the files of `gate ledger import dpkg` share:
 * dpkg_import.c (reading dpkg's database, hashing, the run), dpkg_parse.c
 * (the parsers of dpkg's files) and dpkg_record.c (recording in the
 * ledger). Never installed. */
#ifndef GATE_DPKG_IMPORT_INT_H
#define GATE_DPKG_IMPORT_INT_H

#include "dpkg_import.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIELD "dpkg"

enum ekind { E_PENDING, E_DIR, E_LINK, E_FILE, E_PROBLEM };

struct ipkg;

struct ient {
	struct ipkg *pkg;
	const char *path; /* as listed (points into the package's .list text) */
	const char *real; /* where the file is when diverted, else path */
	uint8_t md5[16];
	uint8_t want_sha[32]; /* has_sha: the SHA-256 the verified .deb ships ... */
	uint64_t deb_size;    /* ... and the size */
	bool has_md5, has_sha, conf;
	/* filled by a worker */
	enum ekind kind;
	enum gate_ledger_state state;
	uint64_t size;
	char sha256[65];
	const char *problem; /* static text */
	int err_no;
	bool by_deb; /* state decided against the archive's .deb, not dpkg's md5sum */
};

struct ipkg {
	char *name, *version, *arch, *conffiles; /* conffiles: the raw field, may be NULL */
	char *list;				 /* .list text; entries point into it */
	struct ient *ents;
	size_t nents;
	atomic_size_t left;
	struct ipkg *next_done;
	const char *list_problem; /* static: why there are no entries */
	const struct gate_ledger_pkg *pend; /* its pending row (opts.pending), or NULL */
};

struct run {
	const struct gate_import_opts *o;
	const char *root;
	size_t rootlen;
	struct ipkg *pkgs;
	size_t npkgs, cap;
	struct gate_dpkg_diversion *div;
	size_t ndiv;
	struct ient **all;
	size_t nall;
	atomic_size_t next;
	atomic_uint_least64_t bytes;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ipkg *done_head;
	const EVP_MD *sha256, *md5;
};

/* GATE_E_NOMEM, "out of memory" (dpkg_import.c). */
enum gate_err gate_dpkg_oom(struct gate_error *err);
/* The order of gate_dpkg_parse_md5sums' entries: by path (dpkg_parse.c). */
int gate_dpkg_cmp_md5ent(const void *a, const void *b);
/* Record the queued packages as the workers finish them, in batches
 * (dpkg_record.c). */
enum gate_err gate_dpkg_record_all(struct run *r, struct gate_ledger *l, size_t queued,
				   struct gate_import_stats *st, struct gate_error *err);

#endif
