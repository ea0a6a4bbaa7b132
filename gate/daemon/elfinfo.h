/*
 * elfinfo.h - the little gated needs to know about an ELF file it is
 * asked to exec: is it ELF, and which program interpreter (PT_INTERP, the
 * dynamic loader) does it name. The file is untrusted: every offset and
 * size is checked against the file's size and against named caps before
 * it is read, and nothing is read outside what a read callback returns.
 * Internal to gated (and its fuzz target).
 */
#ifndef GATE_HOOKS_EXEC_ELFINFO_H
#define GATE_HOOKS_EXEC_ELFINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GATED_ELF_MAX_PHNUM 256	 /* program headers looked at */
#define GATED_ELF_INTERP_MAX 512 /* bytes of PT_INTERP, its NUL included */

enum gated_elf_kind {
	GATED_ELF_NOT = 0,  /* not ELF (a script, data, too short) */
	GATED_ELF_STATIC,   /* ELF without PT_INTERP */
	GATED_ELF_DYNAMIC,  /* ELF with a well-formed PT_INTERP */
	GATED_ELF_MALFORMED /* ELF magic, but headers that do not check out */
};

struct gated_elf {
	enum gated_elf_kind kind;
	char interp[GATED_ELF_INTERP_MAX]; /* GATED_ELF_DYNAMIC: NUL-terminated path */
	const char *why;		   /* GATED_ELF_MALFORMED: the field at fault */
};

/* Read exactly n bytes at off into buf; false on a short read or error. */
typedef bool (*gated_elf_read_fn)(void *ctx, void *buf, size_t n, uint64_t off);

/* Classify a file of file_size bytes read through rd. Never fails: a
 * read error or a bad header is GATED_ELF_MALFORMED with why set, a file
 * without the ELF magic is GATED_ELF_NOT. */
void gated_elf_parse(gated_elf_read_fn rd, void *ctx, uint64_t file_size, struct gated_elf *out);
/* Same over a descriptor (pread; the offset is left alone). */
void gated_elf_from_fd(int fd, struct gated_elf *out);

#endif
