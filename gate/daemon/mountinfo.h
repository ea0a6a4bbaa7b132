/*
 * mountinfo.h - a bounded parser of /proc/PID/mountinfo (proc(5)), for
 * gated's mount watcher and posture checks. No dependency beyond libc, so
 * the fuzz target (tests/fuzz/fuzz_mountinfo.c) links it alone.
 *
 * A line: ID PARENT MAJ:MIN ROOT POINT MOUNT-OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTS
 * ROOT, POINT and SOURCE are escaped by the kernel (\040 space, \011 tab,
 * \012 newline, \134 backslash): unescaped here.
 * Also the value of an integer sysctl file, for the posture checks.
 */
#ifndef GATE_DAEMON_MOUNTINFO_H
#define GATE_DAEMON_MOUNTINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATED_MOUNTINFO_MAX_BYTES (16u << 20) /* the whole file */
#define GATED_MOUNTINFO_MAX_MOUNTS 16384u     /* about 4 KiB each: 68 MiB at most */
#define GATED_FSTYPE_MAX 64

struct gated_mount {
	uint32_t id, parent;
	unsigned major, minor;
	bool noexec; /* the mount's own option (MOUNT-OPTS) */
	char point[PATH_MAX];
	char fstype[GATED_FSTYPE_MAX];
};

/* Parse one line (len bytes, no newline needed) into *m. False when the
 * line is malformed or a field is too long: the caller names the line. */
bool gated_mountinfo_line(const char *line, size_t len, struct gated_mount *m);

/* Parse a whole file's text. *out (malloc'ed, the caller frees) holds *n
 * mounts. Returns 0, or the 1-based number of the first bad line, or -1
 * when out of memory or over GATED_MOUNTINFO_MAX_MOUNTS. */
long gated_mountinfo_parse(const char *text, size_t len, struct gated_mount **out, size_t *n);

/* Read /proc/self/mountinfo (or path) and parse it. Returns 0, a bad line
 * number, or -1 with errno set (EFBIG: over GATED_MOUNTINFO_MAX_BYTES). */
long gated_mountinfo_read(const char *path, struct gated_mount **out, size_t *n);

/* A sysctl file's text: optional spaces, an optional '-', 1..18 digits,
 * optional trailing whitespace. False for anything else. */
bool gated_sysctl_int(const char *text, size_t len, long *out);

#endif
