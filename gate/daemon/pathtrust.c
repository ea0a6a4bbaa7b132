/* pathtrust.c - paths gated can trust. The path of an exec event is
 * readlink(/proc/self/fd/N): the kernel's name for the file, built from the
 * mounts of whatever namespace the exec happened in. In another mount
 * namespace (a user namespace's bind mount over a trusted directory, an
 * overlay's layer) that name can point somewhere else in ours, and a rule
 * that allows by path would then allow the wrong file. So the name is
 * opened again here and must lead back to the same device, inode and
 * mount; when it does not, the decision is made on a name no rule was
 * written for, and an allow that came from a path match is refused. */
#include "nsguard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

static bool fd_statx(int fd, struct statx *sx)
{
	return statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_INO | STATX_MNT_ID, sx) ==
	       0;
}

/* The name no rule was written for: the original, after a prefix. */
static bool unresolved(char *path, size_t cap)
{
	char orig[PATH_MAX];
	snprintf(orig, sizeof orig, "%s", path);
	snprintf(path, cap, "%s%s", GATED_UNRESOLVED, orig);
	return false;
}

bool gated_path_resolve(int fd, char *path, size_t cap, char *why, size_t whycap)
{
	struct statx a, b;
	if (path[0] != '/') {
		snprintf(why, whycap, "path '%s' is not absolute", path);
		return unresolved(path, cap);
	}
	int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		snprintf(why, whycap, "path '%s' does not resolve in gated's mount namespace: %s",
			 path, strerror(errno));
		return unresolved(path, cap);
	}
	bool ok = fd_statx(fd, &a) && fd_statx(pfd, &b);
	int e = errno;
	close(pfd);
	if (!ok) {
		snprintf(why, whycap, "path '%s': statx: %s", path, strerror(e));
		return unresolved(path, cap);
	}
	if (a.stx_dev_major != b.stx_dev_major || a.stx_dev_minor != b.stx_dev_minor ||
	    a.stx_ino != b.stx_ino) {
		snprintf(why, whycap,
			 "path '%s' names another file in gated's mount namespace (a mount in "
			 "another namespace?)",
			 path);
		return unresolved(path, cap);
	}
	if ((a.stx_mask & b.stx_mask & STATX_MNT_ID) && a.stx_mnt_id != b.stx_mnt_id) {
		snprintf(why, whycap,
			 "path '%s' reaches the file through another mount in gated's mount "
			 "namespace (a bind mount in another namespace?)",
			 path);
		return unresolved(path, cap);
	}
	return true;
}

static const struct gate_rule *rule_named(const struct gate_ctx *ctx, const char *name)
{
	const struct gate_policy *p = gate_ctx_policy(ctx);
	for (size_t i = 0; name && i < p->nrules; i++)
		if (p->rules[i].name && strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	return NULL;
}

/* A reason, cut at its size (paths may be long). */
static void reasonf(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reasonf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

void gated_path_unresolved_verdict(const struct gate_ctx *ctx, struct gate_verdict *v,
				   const char *why)
{
	const struct gate_rule *r = rule_named(ctx, v->rule);
	char reason[sizeof v->reason];
	/* No rule, or one that matched on a path: the path was not this file's. */
	bool refuse = v->kind == GATE_VERDICT_ALLOW && (!r || r->npaths > 0);
	if (refuse) {
		v->kind = GATE_VERDICT_DENY;
		v->allowed = v->mode != GATE_MODE_ENFORCE;
		reasonf(reason, sizeof reason, "denied: %s; rule '%s' matches on path", why,
			v->rule ? v->rule : "(none)");
	} else {
		reasonf(reason, sizeof reason, "%s; %s", v->reason, why);
	}
	memcpy(v->reason, reason, sizeof v->reason);
}

void gated_key_place(int fd, struct gate_vcache_key *k)
{
	struct statx sx;
	if (fd_statx(fd, &sx) && (sx.stx_mask & STATX_MNT_ID))
		k->mnt_id = sx.stx_mnt_id;
}
