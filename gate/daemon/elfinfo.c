/* elfinfo.c - PT_INTERP of an untrusted ELF file (ELF64 and ELF32, either
 * byte order), read piecewise with bounds checked before every read. */
#include "elfinfo.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EI_NIDENT 16
#define PT_INTERP 3

struct rd {
	gated_elf_read_fn fn;
	void *ctx;
	uint64_t size;
	bool big; /* ELFDATA2MSB */
};

static uint64_t get(const struct rd *r, const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[r->big ? n - 1 - i : i] << (8 * i);
	return v;
}

/* Bytes [off, off+n) are inside the file and were read. */
static bool rd_at(const struct rd *r, void *buf, size_t n, uint64_t off)
{
	if (off > r->size || n > r->size - off)
		return false;
	return r->fn(r->ctx, buf, n, off);
}

static void malformed(struct gated_elf *out, const char *why)
{
	out->kind = GATED_ELF_MALFORMED;
	out->interp[0] = '\0';
	out->why = why;
}

/* The interpreter string as the kernel takes it (fs/binfmt_elf.c): the
 * segment's last byte is NUL, the path runs to the first NUL; not empty,
 * under the cap. */
static void read_interp(const struct rd *r, uint64_t off, uint64_t filesz, struct gated_elf *out)
{
	if (filesz < 2 || filesz > GATED_ELF_INTERP_MAX)
		return malformed(out, "PT_INTERP size");
	if (!rd_at(r, out->interp, (size_t)filesz, off))
		return malformed(out, "PT_INTERP outside the file");
	if (out->interp[filesz - 1] != '\0' || out->interp[0] == '\0')
		return malformed(out, "PT_INTERP string");
	out->kind = GATED_ELF_DYNAMIC;
}

void gated_elf_parse(gated_elf_read_fn fn, void *ctx, uint64_t file_size, struct gated_elf *out)
{
	uint8_t eh[64], ph[56];
	struct rd r = {.fn = fn, .ctx = ctx, .size = file_size};
	memset(out, 0, sizeof(*out));
	out->kind = GATED_ELF_NOT;
	if (!rd_at(&r, eh, EI_NIDENT, 0) || memcmp(eh, "\177ELF", 4) != 0)
		return;
	bool is64 = eh[4] == 2;
	if ((eh[4] != 1 && eh[4] != 2) || (eh[5] != 1 && eh[5] != 2))
		return malformed(out, "e_ident class or data");
	r.big = eh[5] == 2;
	size_t ehsize = is64 ? 64 : 52, phsize = is64 ? 56 : 32;
	if (!rd_at(&r, eh, ehsize, 0))
		return malformed(out, "ELF header truncated");
	uint64_t phoff = is64 ? get(&r, eh + 32, 8) : get(&r, eh + 28, 4);
	uint64_t phentsize = get(&r, eh + (is64 ? 54 : 42), 2);
	uint64_t phnum = get(&r, eh + (is64 ? 56 : 44), 2);
	if (phnum == 0)
		return (void)(out->kind = GATED_ELF_STATIC);
	if (phentsize < phsize || phnum > GATED_ELF_MAX_PHNUM)
		return malformed(out, "e_phentsize or e_phnum");
	bool seen = false;
	for (uint64_t i = 0; i < phnum; i++) {
		/* phoff <= size was not checked yet: rd_at does, without overflow. */
		if (phoff > file_size || i * phentsize > file_size - phoff)
			return malformed(out, "program headers outside the file");
		if (!rd_at(&r, ph, phsize, phoff + i * phentsize))
			return malformed(out, "program headers outside the file");
		if (get(&r, ph, 4) != PT_INTERP)
			continue;
		if (seen)
			return malformed(out, "two PT_INTERP headers");
		seen = true;
		uint64_t off = is64 ? get(&r, ph + 8, 8) : get(&r, ph + 4, 4);
		uint64_t filesz = is64 ? get(&r, ph + 32, 8) : get(&r, ph + 16, 4);
		read_interp(&r, off, filesz, out);
		if (out->kind == GATED_ELF_MALFORMED)
			return;
	}
	if (!seen)
		out->kind = GATED_ELF_STATIC;
}

static bool fd_read(void *ctx, void *buf, size_t n, uint64_t off)
{
	int fd = *(int *)ctx;
	size_t done = 0;
	while (done < n) {
		ssize_t k = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		done += (size_t)k;
	}
	return true;
}

void gated_elf_from_fd(int fd, struct gated_elf *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		memset(out, 0, sizeof(*out));
		return malformed(out, "not a regular file");
	}
	gated_elf_parse(fd_read, &fd, (uint64_t)st.st_size, out);
}
