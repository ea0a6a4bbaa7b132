/* apt_origin.h - apt-origin evidence: a .deb is vouched for by an archive
 * when its SHA-256 and size appear in a Packages index whose hash is listed
 * in a Release whose OpenPGP signature verifies (gpgv, run as a program with
 * a fixed argument list and a timeout) against the keyring the policy names
 * for the archive (trust.apt_archives). The Release of a lists prefix is its
 * clearsigned InRelease, else its Release with the detached Release.gpg.
 * Never installed. */
#ifndef GATE_APT_ORIGIN_H
#define GATE_APT_ORIGIN_H

#include "deb822.h"
#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_APT_MAX_INDEX (512u * 1024 * 1024)	   /* a Packages file, decompressed */
#define GATE_APT_MAX_RELEASE (32u * 1024 * 1024)   /* InRelease or Release */
#define GATE_APT_MAX_SIG (1u * 1024 * 1024)	   /* Release.gpg */
#define GATE_APT_MAX_STATUS (1u * 1024 * 1024)	   /* gpgv's status lines */
#define GATE_APT_INDEX_MAX_LINE GATE_D822_MAX_LINE /* one line of either */
#define GATE_APT_MAX_RELEASE_FILES 200000	   /* SHA256 entries of a Release */
#define GATE_APT_MAX_INRELEASE 4096		   /* (In)Release files in a lists dir */
#define GATE_APT_GPGV_TIMEOUT_MS 30000
#define GATE_APT_GPGV "/usr/bin/gpgv"
#define GATE_APT_DEFAULT_LISTS "/var/lib/apt/lists"

struct gate_apt_relfile {
	char *path;
	uint8_t sha256[32];
	uint64_t size;
};

struct gate_apt_release {
	char *origin, *label, *suite, *codename;
	int64_t date, valid_until; /* unix seconds; 0 when absent */
	struct gate_apt_relfile *files;
	size_t nfiles;
};

struct gate_apt_pkg {
	uint8_t sha256[32];
	uint64_t size;
	char *name, *version, *arch;
};

struct gate_apt_index {
	struct gate_apt_pkg *pkgs; /* sorted by sha256 */
	size_t n;
	/* the entries with a name, version and arch, sorted by (name,
	 * version, arch, sha256): lookups by package identity */
	struct gate_apt_pkg **byname;
	size_t nbyname;
};

/* Parsers of deb822 text (untrusted; length-bounded, need no NUL). */
enum gate_err gate_apt_parse_release(const char *text, size_t len, struct gate_apt_release *out,
				     struct gate_error *err);
void gate_apt_release_clear(struct gate_apt_release *r);
enum gate_err gate_apt_parse_packages(const char *text, size_t len, struct gate_apt_index *out,
				      struct gate_error *err);
void gate_apt_index_clear(struct gate_apt_index *ix);
const struct gate_apt_pkg *gate_apt_index_find(const struct gate_apt_index *ix,
					       const uint8_t sha256[32]);
/* The entries of ix listing package name at version for arch (exact
 * strings): *n of them from the returned position in ix->byname; NULL
 * (and *n = 0) when none. */
struct gate_apt_pkg *const *gate_apt_index_find_version(const struct gate_apt_index *ix,
							const char *name, const char *version,
							const char *arch, size_t *n);
/* RFC 2822 date of a Release ("Sat, 01 Jan 2000 00:00:00 UTC"). */
bool gate_apt_parse_date(const char *s, size_t len, int64_t *out);

/* Is the artifact (sha256, size) vouched for by archive p->apts[archive] at
 * time now? On success *out holds facts of kind GATE_SIGNER_APT (archive
 * name in anchor_name, the Release signing key's fingerprint in
 * fingerprint, origin/suite/component/package/version as exts; no
 * component for a flat repository). Thread-safe; parsed indexes and
 * verified Releases are cached by file identity. */
enum gate_err gate_apt_origin_verify(const struct gate_policy *p, size_t archive,
				     const uint8_t sha256[32], uint64_t size, int64_t now,
				     struct gate_facts **out, struct gate_error *err);

/* Which verified Packages index of archive p->apts[archive] lists package
 * name at version for arch ("all" matches an index entry with Architecture
 * all)? Same chain of trust and Valid-Until check as
 * gate_apt_origin_verify; on success *out holds the same kind of facts,
 * with digest the .deb's SHA-256 (hex) as the index lists it, and *size
 * its size. Not listed: GATE_E_DIGEST with a reason. Thread-safe, cached. */
enum gate_err gate_apt_origin_find_version(const struct gate_policy *p, size_t archive,
					   const char *name, const char *version, const char *arch,
					   int64_t now, struct gate_facts **out, uint64_t *size,
					   struct gate_error *err);

/* Internal, for tests: run prog the way gpgv is run (production: always
 * GATE_APT_GPGV with GATE_APT_GPGV_TIMEOUT_MS; nothing else chooses the
 * program): a fixed argument list apart from the keyring, a minimal
 * environment, status lines on fd 3, killed (with its process group) and
 * reaped when it is not done within timeout_ms. Clearsigned when
 * sig_fd < 0: data_fd is the InRelease on stdin and *text gets the signed
 * text gpgv writes (NUL-terminated, at most GATE_APT_MAX_RELEASE bytes).
 * Detached when sig_fd >= 0: data_fd is the signed data on stdin ("-"),
 * sig_fd the signature (fd 4, named /dev/fd/4: needs /proc); text may be
 * NULL then. Both fds are read from offset 0. Success needs exit status 0,
 * GOODSIG and VALIDSIG status lines and none of BADSIG, ERRSIG, EXPSIG,
 * EXPKEYSIG, REVKEYSIG, NO_PUBKEY; fpr gets the primary key fingerprint
 * of VALIDSIG (lowercase hex). label names the signature in messages. */
enum gate_err gate_apt_run_verifier(const char *prog, unsigned timeout_ms, const char *keyring,
				    int data_fd, int sig_fd, const char *label, char **text,
				    size_t *textlen, char fpr[65], struct gate_error *err);

#endif
