/*
 * apt_proto.h - APT's DPkg::Pre-Install-Pkgs protocol, read from untrusted
 * bytes (the hook's stdin). Part of the gate executable (hooks/apt/), and
 * compiled into its unit test and fuzz target directly.
 *
 * Version 1: one absolute .deb path per line, nothing else.
 * Versions 2 and 3: a "VERSION N" line, apt's configuration as Key=Value
 * lines (opaque to us but for where apt keeps its lists and dpkg's status:
 * Dir, Dir::State, Dir::State::lists and ::status; they include the hook's own command
 * line and the user's, so nothing else is ever matched there), one empty
 * line, then one line per package action:
 *   v2: name oldver cmp newver action
 *   v3: name oldver oldarch oldMA cmp newver newarch newMA action
 * "-" means none; cmp is '<', '>' or '='; action is the .deb to unpack (an
 * absolute path, the rest of the line), **CONFIGURE**, **REMOVE**, or
 * **ERROR** (apt's word for an install whose file is not an absolute path).
 *
 * Every line ends with '\n'. Anything else is an error naming the line:
 * a NUL or control byte, an overlong line, an unknown VERSION, a missing
 * blank line, a wrong field count or a malformed field.
 */
#ifndef GATE_HOOKS_APT_PROTO_H
#define GATE_HOOKS_APT_PROTO_H

#include "verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_APT_MAX_INPUT (64u * 1024 * 1024) /* whole stdin */
#define GATE_APT_MAX_LINE (1024u * 1024)       /* one line (apt's command line can be long) */
#define GATE_APT_MAX_CONFIG 200000	       /* Key=Value lines */
#define GATE_APT_MAX_ACTIONS 100000	       /* package action lines */
#define GATE_APT_MAX_PATH 4095		       /* a .deb path (PATH_MAX - 1) */
#define GATE_APT_MAX_FIELD 512		       /* name, version, arch, Multi-Arch */

enum gate_apt_op {
	GATE_APT_UNPACK = 0, /* unpack the .deb at deb */
	GATE_APT_CONFIGURE = 1,
	GATE_APT_REMOVE = 2,
	GATE_APT_OP_ERROR = 3, /* apt wrote **ERROR**: it has no path for the archive */
};

/* One action line. Strings are owned by the request; NULL stands for "-"
 * and, in version 1, for everything but deb. */
struct gate_apt_action {
	enum gate_apt_op op;
	char *name;
	char *old_version, *old_arch, *old_ma;
	char cmp; /* '<', '>', '='; 0 in version 1 */
	char *new_version, *new_arch, *new_ma;
	char *deb; /* GATE_APT_UNPACK only */
	unsigned line;
};

struct gate_apt_req {
	unsigned version;  /* 1, 2 or 3 */
	size_t nconfig;	   /* configuration lines seen (versions 2, 3) */
	char *lists_dir;   /* apt's lists directory (Dir + Dir::State + Dir::State::lists,
			   * resolved as apt does), NULL when apt's configuration named
			   * none of them */
	char *status_file; /* dpkg's status file as apt's Dir::State::status says, resolved
			    * the same way; NULL when not given */
	struct gate_apt_action *actions;
	size_t nactions;
};

/* Parse the protocol from buf (len bytes, not NUL-terminated). On success
 * *out is the caller's (free with gate_apt_req_free); it may hold no
 * action at all (apt sends nothing to unpack for a removal). On failure
 * err->line is the offending line (1-based; 0 for the whole input) and
 * err->msg says what is wrong with it. Errors: GATE_E_PARSE,
 * GATE_E_UNSUPPORTED (a VERSION other than 2 or 3), GATE_E_TOO_LARGE
 * (input, line, path or count over a cap above), GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_apt_parse(const uint8_t *buf, size_t len, struct gate_apt_req **out,
				      struct gate_error *err);
void gate_apt_req_free(struct gate_apt_req *r);

/* All of fd (apt's pipe), but never more than GATE_APT_MAX_INPUT + 1
 * bytes: gate_apt_parse refuses an input over its cap, and the extra byte
 * shows it. *out is the caller's. False, said on stderr: a read error or
 * out of memory. */
bool gate_apt_read_input(int fd, uint8_t **out, size_t *len);

/* apt's lists directory from its Dir, Dir::State and Dir::State::lists
 * values (NULL: apt's default), each relative to the one before unless
 * absolute. Malloc'd; NULL on allocation failure. */
char *gate_apt_lists_dir(const char *dir, const char *state, const char *lists);

/* "unpack", "configure", "remove", "error". */
const char *gate_apt_op_name(enum gate_apt_op op);

#endif
