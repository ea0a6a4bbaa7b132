/*
 * loader.h - the dynamic loader run as a program (`ld.so ./prog`), known
 * by content. The kernel asks about a dynamically linked program first
 * (FAN_OPEN_EXEC_PERM) and, only after that was answered, about the
 * loader its PT_INTERP names (FAN_OPEN_EXEC_PERM again, same pid, same
 * execve). Run as a program, the loader is the only exec event: the file
 * it then maps never is one. So an exec of a file whose SHA-256 is a
 * known loader's is allowed only when the same pid's previous exec event
 * was an allowed program naming that very file (same device and inode,
 * resolved in the process's root) as its interpreter.
 *
 * Known loaders: the PT_INTERP of a few system programs and of every
 * configured interpreter, the usual ld-linux paths, and every PT_INTERP
 * an allowed program named (hashed once per path). Copies and hard links
 * of a loader have its digest, so they are loaders too.
 *
 * Thread-safe (one mutex). Internal to gated.
 */
#ifndef GATE_HOOKS_EXEC_LOADER_H
#define GATE_HOOKS_EXEC_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GATED_LOADER_DIGESTS 64	  /* loader digests kept */
#define GATED_LOADER_PATHS 255	  /* interpreter paths with an id (uint8_t, 0: none) */
#define GATED_LOADER_RECORDS 4096 /* pids between a program's event and its loader's */
/* A program's record waits this long for its loader's event; it is also
 * dropped by the pid's next exec event of any kind. */
#define GATED_LOADER_EXPECT_NS (10 * 1000000000LL)

struct gated_loaders;

struct gated_loaders *gated_loaders_new(void);
void gated_loaders_free(struct gated_loaders *l);

/* Start and SIGHUP: learn the loaders system programs (and the given
 * interpreters) name, and the usual ld-linux paths. Returns how many
 * digests are known. Hashes files: never from the reader. */
size_t gated_loaders_scan(struct gated_loaders *l, char *const *interpreters, size_t n);
bool gated_loaders_is_loader(struct gated_loaders *l, const uint8_t sha256[32]);
/* The id of an interpreter path (1..GATED_LOADER_PATHS), 0 when the
 * table is full. *is_new: the caller should gated_loaders_learn it. */
uint8_t gated_loaders_intern(struct gated_loaders *l, const char *path, bool *is_new);
/* Hash the file at the id's path and add its digest (worker, after it
 * answered the kernel). */
void gated_loaders_learn(struct gated_loaders *l, uint8_t id);

/* A pid's exec event that was not a loader's: allowed and naming
 * interpreter id (0: none, or not allowed) - the record is set, or
 * dropped. Call it BEFORE the answer is written. */
void gated_loaders_program(struct gated_loaders *l, pid_t pid, uint8_t id, int64_t now_ns);
/* A loader's exec event through fd: NULL when pid's previous exec event
 * named this file as its interpreter (the record is used up), else the
 * reason to deny. May stat a path under /proc/PID/root. */
const char *gated_loaders_check(struct gated_loaders *l, pid_t pid, int fd, int64_t now_ns);
size_t gated_loaders_count(struct gated_loaders *l);

#endif
