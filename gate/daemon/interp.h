/*
 * interp.h - configured interpreters known by content, and which of their
 * opens gated decides (docs/EXEC.md "Interpreters").
 *
 * Identity: each --interpreter is hashed at start and on SIGHUP; a
 * process is running an interpreter when the file behind /proc/PID/exe
 * has one of those digests, so copies and hard links count. The reader
 * never hashes: a size that matches no interpreter is "not one" at once
 * (a copy has the same size); an executable of a matching size is hashed
 * once per inode by a worker and the answer cached by device, inode,
 * size, mtime and ctime.
 *
 * Which opens are decided (the rest pass): the script the command line
 * names (the first operand, compared by device and inode), any file that
 * starts with "#!", and files with the interpreter family's source
 * suffixes (.sh, .py/.pyc, .pl/.pm, ...). Data files pass.
 *
 * Code from the command line or standard input (sh -c, python3 -c,
 * python3 -, perl -e, an interpreter with no script operand): not visible
 * at the exec event (the new argv is not in /proc yet), but visible at
 * every open the new image makes; with --interpreter-inline deny those
 * opens are refused (for a dynamically linked interpreter, its loader's
 * first library open), so it does not start.
 *
 * Internal to gated.
 */
#ifndef GATE_HOOKS_EXEC_INTERP_H
#define GATE_HOOKS_EXEC_INTERP_H

#include "gate_util.h"
#include "vcache.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define GATED_CMDLINE_MAX (64 * 1024) /* bytes of /proc/PID/cmdline looked at */
#define GATED_EXE_CACHE 4096	      /* executables whose interpreter-ness is cached */

enum gated_family {
	GATED_FAM_NONE = 0, /* not an interpreter */
	GATED_FAM_SHELL,
	GATED_FAM_PYTHON,
	GATED_FAM_PERL,
	GATED_FAM_OTHER,
	GATED_FAM_UNKNOWN /* exe not hashed yet: ask a worker */
};

enum gated_inline { GATED_INLINE_ALLOW = 0, GATED_INLINE_DENY };

struct gated_interps;

/* Hash the configured interpreter files (start, SIGHUP). Errors:
 * GATE_E_IO (one cannot be read), GATE_E_NOMEM. */
GATE_WUR enum gate_err gated_interps_new(char *const *paths, size_t n, size_t cache,
					 struct gated_interps **out, struct gate_error *err);
/* SIGHUP: hash them again; on failure the old table stays. */
GATE_WUR enum gate_err gated_interps_rehash(struct gated_interps *t, char *const *paths, size_t n,
					    struct gate_error *err);
void gated_interps_free(struct gated_interps *t);

/* Reader: the family of pid's executable from sizes and the cache only. */
enum gated_family gated_interps_peek(struct gated_interps *t, pid_t pid);
/* Worker: the same, hashing the executable when needed. */
enum gated_family gated_interps_resolve(struct gated_interps *t, pid_t pid);

/* What pid's command line asks the interpreter to run. */
enum gated_argv {
	GATED_ARGV_SCRIPT, /* a script operand (in *operand, malloc'd) */
	GATED_ARGV_MODULE, /* python -m: modules are decided as they are opened */
	GATED_ARGV_INLINE, /* -c / -e: code in argv */
	GATED_ARGV_STDIN,  /* no operand, "-", or -s: code on standard input */
	GATED_ARGV_UNREAD  /* cmdline unreadable or over the cap */
};
enum gated_argv gated_argv_classify(enum gated_family fam, const char *cmdline, size_t len,
				    char **operand);
/* Read /proc/PID/cmdline and classify it. */
enum gated_argv gated_interps_argv(pid_t pid, enum gated_family fam, char **operand);

/* Should this open (fd) by an interpreter of family fam be decided?
 * operand: the script the command line names, or NULL. */
bool gated_interps_is_script(enum gated_family fam, pid_t pid, int fd, const char *operand);

#endif
