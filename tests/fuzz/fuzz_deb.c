/* fuzz_deb.c - gate_deb_read and gate_deb_read_sums on untrusted bytes:
 * the outer ar, the nested tars (through libarchive's decompressors), the
 * control file, the md5sums member and the data paths. The input goes to a memfd so the descriptor path (pread from
 * offset 0) is what is exercised. Seeds: tiny real .debs (gzip, xz). */
#include "../../gate/debian/deb.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ok(const struct gate_ledger_pkg *p)
{
	if (!p->name || !*p->name || !p->version || !*p->version || !p->arch || !*p->arch ||
	    strlen(p->deb_sha256) != 64 || (p->nfiles && !p->files))
		abort();
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct gate_ledger_file *f = &p->files[i];
		/* Absolute, sorted, unique, no ".." component, hex digest. */
		if (!f->path || f->path[0] != '/' || strlen(f->sha256) != 64 ||
		    strstr(f->path, "/../") || strstr(f->path, "//") ||
		    (i > 0 && strcmp(p->files[i - 1].path, f->path) >= 0))
			abort();
		size_t len = strlen(f->path);
		if (len >= 3 && strcmp(f->path + len - 3, "/..") == 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_ledger_pkg p = {0};
	struct gate_error err = {0};
	int fd = memfd_create("fuzz.deb", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	enum gate_err rc = gate_deb_read(NULL, fd, &p, &err);
	if (rc == GATE_OK)
		check_ok(&p);
	else if (p.name || p.files || p.nfiles || !err.msg[0])
		abort(); /* untouched on failure, and always a reason */
	gate_ledger_pkg_clear(&p);
	char *sums = NULL;
	size_t len = 0;
	rc = gate_deb_read_sums(NULL, fd, &p, &sums, &len, NULL, &err);
	if (rc == GATE_OK)
		check_ok(&p);
	if (rc == GATE_OK && sums && (p.nfiles || strlen(sums) > len))
		abort(); /* md5sums instead of data.tar's files, NUL-terminated */
	if (rc != GATE_OK && (p.name || sums))
		abort();
	free(sums);
	gate_ledger_pkg_clear(&p);
	close(fd);
	return 0;
}
