/*
 * deb.h - reading a Debian package (.deb) with libarchive: the control
 * fields that identify it and the digest of every regular file of its data
 * archive. Streamed: nested archives are read through the outer one,
 * nothing is extracted to disk. Untrusted input: sizes and counts capped.
 */
#ifndef GATE_DEB_H
#define GATE_DEB_H

#include "ledger.h"

#define GATE_DEB_MAX_FILES 200000			/* entries in data.tar */
#define GATE_DEB_MAX_CONTROL (4u * 1024 * 1024)		/* control.tar member "control" */
#define GATE_DEB_MAX_SUMS (64u * 1024 * 1024)		/* control.tar member "md5sums" */
#define GATE_DEB_MAX_TOTAL (64ull * 1024 * 1024 * 1024) /* bytes read from data.tar */

/* Read the .deb at path, or from fd when fd >= 0 (read with pread from
 * offset 0: the descriptor and its offset are left alone, and it is not
 * closed; path may then be NULL and only names the input in messages).
 * The input must be a regular file (a memfd is one).
 *
 * Read as dpkg reads it (deb(5)): ar members debian-binary ("2.0\n"),
 * control.tar{,.gz,.xz,.zst}, data.tar{,.gz,.xz,.zst,.bz2}, in that order,
 * "_"-prefixed members allowed between and after, nothing else; each raw
 * member name exactly as dpkg expects (no GNU/BSD long-name tables), no
 * trailing bytes. control must have Package, Version and Architecture.
 * data.tar: GNU/ustar only (dpkg refuses pax and sparse entries); every
 * regular file and every hard link (with its earlier target's content)
 * becomes a file with an absolute path; directories, symlinks and devices
 * are skipped; a path twice is an error.
 *
 * On success sets pkg->name, version, arch, deb_sha256 (of every byte of
 * the input), files (sorted by path) and nfiles, which the caller frees
 * with gate_ledger_pkg_clear; rule, signers, origin and time are left as
 * they were. On failure *pkg is untouched. Errors: GATE_E_PARSE (not a
 * .deb, bad member names or order, truncated, bad control fields, a path
 * that is absolute, empty or has "." or ".." components or control
 * bytes, a dangling hard link, a duplicate path), GATE_E_UNSUPPORTED
 * (debian-binary not 2.0, pax headers, sparse files), GATE_E_TOO_LARGE
 * (the caps above), GATE_E_IO (open or read failed, not a regular file),
 * GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_deb_read(const char *path, int fd, struct gate_ledger_pkg *pkg,
				     struct gate_error *err);

/* As gate_deb_read, for what the apt hook keeps until dpkg has installed
 * the package: the control fields and control.tar's "md5sums" member,
 * whose text goes to *md5sums (NUL-terminated, *md5sums_len bytes, the
 * caller frees it). With an md5sums member nothing after control.tar is
 * read: pkg->files stays empty and pkg->deb_sha256 is "" (the hook has the
 * digest it decided on; a second pass over the whole .deb would only cost
 * time). Without one, *md5sums is NULL and pkg and its files are filled as
 * gate_deb_read fills them. Errors: those of gate_deb_read, and
 * GATE_E_PARSE for an md5sums that is there twice or not a regular file,
 * GATE_E_TOO_LARGE for one over GATE_DEB_MAX_SUMS. */
struct gate_deb_sizes {
	uint64_t installed_kib; /* control's Installed-Size; 0 when absent */
	uint64_t data_bytes;	/* data.tar as stored in the .deb (compressed) */
};
GATE_WUR enum gate_err gate_deb_read_sums(const char *path, int fd, struct gate_ledger_pkg *pkg,
					  char **md5sums, size_t *md5sums_len,
					  struct gate_deb_sizes *sizes, struct gate_error *err);

#endif
