/* apt_origin.h - apt-origin evidence: a .deb is vouched for by an archive
 * when its SHA-256 and size appear in a Packages index whose hash is listed
 * in an InRelease file whose OpenPGP signature verifies (gpgv, run as a
 * program with a fixed argument list and a timeout) against the keyring the
 * policy names for the archive (trust.apt_archives). Never installed. */
#ifndef GATE_APT_ORIGIN_H
#define GATE_APT_ORIGIN_H

#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_APT_MAX_INDEX (512u * 1024 * 1024) /* a Packages file, decompressed */
#define GATE_APT_MAX_RELEASE (32u * 1024 * 1024)	/* InRelease, signed text */
#define GATE_APT_INDEX_MAX_LINE (1u * 1024 * 1024)	/* one line of either */
#define GATE_APT_MAX_RELEASE_FILES 200000	/* SHA256 entries of a Release */
#define GATE_APT_MAX_INRELEASE 4096		/* InRelease files in a lists dir */
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
/* RFC 2822 date of a Release ("Sat, 01 Jan 2000 00:00:00 UTC"). */
bool gate_apt_parse_date(const char *s, size_t len, int64_t *out);

/* Is the artifact (sha256, size) vouched for by archive p->apts[archive] at
 * time now? On success *out holds facts of kind GATE_SIGNER_APT (archive
 * name in anchor_name, the InRelease signing key's fingerprint in
 * fingerprint, origin/suite/component/package/version as exts). Thread-safe;
 * parsed indexes and verified Releases are cached by file identity. */
enum gate_err gate_apt_origin_verify(const struct gate_policy *p, size_t archive,
				     const uint8_t sha256[32], uint64_t size, int64_t now,
				     struct gate_facts **out, struct gate_error *err);

#endif
