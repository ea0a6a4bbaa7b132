/* dpkg_import.h - record what dpkg installed in the ledger (`gate ledger
 * import dpkg`): every regular file each installed package lists, hashed
 * now, compared with the md5sum dpkg kept at install, with the package's
 * origin when a verified archive index lists its exact version
 * (apt_origin.h). Config files and files changed since install are
 * recorded as such, never vouched for (ledger.h). Internal. */
#ifndef GATE_DPKG_IMPORT_H
#define GATE_DPKG_IMPORT_H

#include "ledger.h"
#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_DPKG_ADMINDIR "/var/lib/dpkg"
#define GATE_DPKG_MAX_STATUS (256u * 1024 * 1024) /* the status file */
#define GATE_DPKG_MAX_LIST (64u * 1024 * 1024)	  /* one .list or .md5sums */
#define GATE_DPKG_MAX_JOBS 64

struct gate_import_stats {
	size_t packages;			/* installed packages selected */
	size_t done;				/* of those, handled so far (progress) */
	size_t imported;			/* recorded now */
	size_t skipped;				/* already recorded at this version */
	size_t archive;				/* imported, vouched for by a verified archive */
	size_t files;				/* regular files recorded */
	size_t ok, config, changed, unverified; /* their states */
	size_t problems;			/* listed, not recorded: missing, unreadable, ... */
	size_t links, dirs;			/* listed, not hashed */
	size_t forgotten;			/* recorded before, no longer installed: removed */
	size_t deb_checked; /* archive packages whose files were compared with their .deb */
	uint64_t bytes;	    /* hashed */
};

/* One report line. path is NULL for a note about the whole package.
 * recorded: the file is in the ledger (with the state named in what);
 * otherwise what says why it is not. */
struct gate_import_event {
	const char *package, *version, *arch;
	const char *path;
	bool recorded;
	const char *what;   /* "missing", "changed", "config", "no origin", ... */
	const char *detail; /* a sentence, may be "" */
};

struct gate_import_opts {
	const char *root;		  /* files are read at root + path; NULL or "" for / */
	const char *admindir;		  /* NULL: root + GATE_DPKG_ADMINDIR */
	const struct gate_policy *policy; /* its trust.apt_archives vouch; may be NULL */
	int64_t now;			  /* for Valid-Until; 0: the clock */
	unsigned jobs;			  /* hashing threads; 0: online CPUs */
	bool force;			  /* re-hash packages already recorded at their version */
	const char *debs;	 /* a directory of .debs (apt's cache): an archive package's
				 * files are compared with its .deb there, when it is the one
				 * the verified index lists (slower: every such .deb is read);
				 * NULL: dpkg's md5sums only */
	const char *const *only; /* "name" or "name:arch"; nonly 0: every package */
	size_t nonly;
	/* The apt hook's pending packages (ledger.h), after dpkg ran: only
	 * these are imported, each only when dpkg lists its exact version as
	 * installed, recorded as source INSTALL with the pending row's .deb
	 * digest, rule, signers and origin, every file compared with the
	 * digest its verified .deb ships instead of dpkg's md5sums; nothing
	 * is forgotten. npending 0: an ordinary import. */
	const struct gate_ledger_pkg *pending;
	size_t npending;
	/* Called from the calling thread only. */
	void (*event)(void *ctx, const struct gate_import_event *ev);
	void (*progress)(void *ctx, const struct gate_import_stats *st); /* ~10 per second */
	void *ctx;
};

/* ---- parsers of dpkg's files (untrusted text, length-bounded) ---- */

/* An installed package's stanza of the status file. The callback may take
 * the strings (set the pointers to NULL); the rest is freed after it. */
struct gate_dpkg_stanza {
	char *name, *version, *arch, *status, *conffiles;
};
typedef enum gate_err (*gate_dpkg_stanza_fn)(void *ctx, struct gate_dpkg_stanza *s,
					     struct gate_error *err);
/* Every stanza whose Status is "... installed" goes to fn (an installed
 * one without Version or Architecture is GATE_E_PARSE); malformed text is
 * GATE_E_PARSE naming label and the line. fn's error stops the walk. */
enum gate_err gate_dpkg_parse_status(const char *text, size_t len, const char *label,
				     gate_dpkg_stanza_fn fn, void *ctx, struct gate_error *err);

/* The diversions file: (from, to, package) triples, package ":" for a
 * local diversion. Not a multiple of three lines: GATE_E_PARSE. */
struct gate_dpkg_diversion {
	char *from, *to, *pkg;
};
enum gate_err gate_dpkg_parse_diversions(const char *text, size_t len, const char *label,
					 struct gate_dpkg_diversion **out, size_t *n,
					 struct gate_error *err);
void gate_dpkg_diversions_free(struct gate_dpkg_diversion *d, size_t n);

/* A .md5sums file: "HEX32  relative/path" lines, sorted by path into *out
 * (paths point into text, which is modified: text[len] must be writable,
 * e.g. the NUL gate_read_file adds). Malformed lines are skipped: their
 * files are then recorded unverified, never trusted. Returns the count. */
struct gate_dpkg_md5 {
	const char *path;
	uint8_t md5[16];
};
size_t gate_dpkg_parse_md5sums(char *text, size_t len, struct gate_dpkg_md5 **out);

/* Is path (absolute) among the Conffiles lines " /etc/x MD5 [flag]"? */
bool gate_dpkg_is_conffile(const char *conffiles, const char *path);

/* ---- the import ---- */

/* Import. Every package is committed with all its files in one
 * transaction (in batches of packages), so an interrupted import keeps
 * what it committed and the next run goes on from there: a package already
 * recorded at its installed version is skipped unless force (or it was
 * recorded dpkg-only and the policy now names archives). Packages the
 * ledger holds that dpkg no longer lists as installed are forgotten (when
 * every package was selected). Errors (the
 * import stopped): GATE_E_IO (status file, ledger), GATE_E_PARSE (status
 * file malformed: names the line), GATE_E_TOO_LARGE, GATE_E_NOMEM,
 * GATE_E_USAGE (a selected package is not installed). */
GATE_WUR enum gate_err gate_import_dpkg(struct gate_ledger *l, const struct gate_import_opts *o,
					struct gate_import_stats *st, struct gate_error *err);

/* Forget the packages the ledger holds that dpkg's status file (NULL: the
 * default one) does not list as installed at the recorded version: what an
 * import does at its end,
 * without hashing anything (the apt hook, at each transaction).
 * *forgotten is how many. Errors: those of reading the status file
 * (GATE_E_IO, GATE_E_PARSE, ...) and of the ledger. */
GATE_WUR enum gate_err gate_ledger_prune_dpkg(struct gate_ledger *l, const char *status,
					      size_t *forgotten, struct gate_error *err);

#endif
