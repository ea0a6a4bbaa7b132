/* deb_int.h - internals shared by the files that read a .deb (deb.h):
 * the reader's state, and the ar and nested-tar layer (deb.c) that the
 * readers of control.tar (deb_control.c) and data.tar (deb_data.c) stand
 * on. Never installed. */
#ifndef GATE_DEB_INT_H
#define GATE_DEB_INT_H

#include "deb.h"

#include "lazy_archive.h"
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIELD "deb"

/* The outer stream: pread from our own offset (the caller's file offset is
 * left alone), hashing every byte in order. */
struct src {
	int fd;
	uint64_t off;
	EVP_MD_CTX *md;
	uint8_t *buf;
	int read_errno; /* an I/O error, as opposed to a malformed archive */
};

/* A nested archive reads its member's data through the outer archive. */
struct nest {
	struct archive *outer;
	int64_t next; /* expected offset of the next block */
};

/* One entry of data.tar, before the sort. */
enum ent_kind { ENT_REG, ENT_LINK, ENT_OTHER };

struct ent {
	char *path;
	char *target; /* ENT_LINK: normalised target */
	size_t idx;   /* position in the archive */
	uint64_t size;
	uint8_t sha256[32];
	enum ent_kind kind;
};

struct deb {
	const char *path; /* for messages */
	struct src src;
	struct archive *outer;
	uint64_t next_hdr; /* where the next ar header must start */
	struct ent *ents;
	size_t nents, cap;
	uint64_t data_total;
	uint64_t control_total;
	char *name, *version, *arch;
	struct gate_ledger_file *files;
	size_t nfiles;
	bool want_sums;		/* gate_deb_read_sums: keep md5sums; data.tar only without it */
	bool stopped;		/* ... and with it, nothing after control.tar was read */
	uint64_t installed_kib; /* control's Installed-Size; 0 when absent */
	uint64_t data_bytes;	/* the data.tar member as stored */
	char *md5sums;		/* control.tar's md5sums, NUL-terminated */
	size_t md5sums_len;
};

/* An archive error as a gate error: GATE_E_IO when the outer stream could
 * not be read, else GATE_E_PARSE naming what was being read. */
enum gate_err gate_deb_fail_archive(struct deb *d, struct archive *a, const char *what,
				    struct gate_error *err);
/* The ar member being read opened as a nested tar, with only the
 * decompressor its extension ext names ("" for none); *filter is the
 * filter code its entries must then show (next_tar_entry checks). */
enum gate_err gate_deb_open_nested(struct deb *d, const char *ext, struct nest *n,
				   struct archive **out, int *filter, struct gate_error *err);
enum gate_err gate_deb_next_tar_entry(struct deb *d, struct archive *a, int filter,
				      const char *member, struct archive_entry **e,
				      struct gate_error *err);

/* control.tar (deb_control.c): sets d->name, d->version and d->arch. */
enum gate_err gate_deb_read_control_tar(struct deb *d, const char *ext, struct gate_error *err);
/* data.tar (deb_data.c): every entry into d->ents, then d->files. */
enum gate_err gate_deb_read_data_tar(struct deb *d, const char *ext, struct gate_error *err);
enum gate_err gate_deb_build_files(struct deb *d, struct gate_error *err);

#endif
