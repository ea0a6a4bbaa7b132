/*
 * nsguard.h - what gated needs to trust the world outside its fanotify
 * group (docs/EXEC.md, "Mounts, namespaces and posture"):
 *   pathtrust.c  the path of an exec, resolved again in gated's own mount
 *                namespace and compared with the event's file;
 *   mounts.c     every mount of gated's namespace seen as it appears
 *                (fanotify mount events and /proc/self/mountinfo), and
 *                marked under --follow-mounts;
 *   posture.c    what gated cannot close itself (memfd exec, unprivileged
 *                user namespaces, unmarked mounts that allow exec),
 *                checked at start, on SIGHUP and when mounts change, and
 *                logged, fixed or refused (--posture).
 * Internal to gated.
 */
#ifndef GATE_DAEMON_NSGUARD_H
#define GATE_DAEMON_NSGUARD_H

#include "gated.h"
#include "mountinfo.h"

#include <jansson.h>
#include <pthread.h>

#define GATED_UNRESOLVED "(unresolved) "
#define GATED_MAX_GAPS 32 /* in the status file: gate status reads 256 KiB */
#define GATED_SYSCTL_ROOT "/proc/sys"

enum gated_posture { GATED_POSTURE_LOG = 0, GATED_POSTURE_FIX, GATED_POSTURE_REFUSE };

/* ---- pathtrust.c ---- */
/* path (from readlink of the event's descriptor fd) resolved in gated's
 * mount namespace: true when it names the same file (device, inode and
 * mount). Otherwise path becomes GATED_UNRESOLVED + the original (cut to
 * cap) and why says what did not match. */
bool gated_path_resolve(int fd, char *path, size_t cap, char *why, size_t whycap);
/* After a decision on an unresolved path: an allow by a rule that matches
 * on path is turned into a deny (the path was not the file's). */
void gated_path_unresolved_verdict(const struct gate_ctx *ctx, struct gate_verdict *v,
				   const char *why);
/* The mount member of a cache key, from the event's descriptor
 * (vcache.h): an answer is reused only through the same mount. The name is
 * not part of the key (it costs a readlink and a hash on every exec): a
 * hard link on the same mount shares the answer of the file's bytes. */
void gated_key_place(int fd, struct gate_vcache_key *k);

/* ---- posture.c ---- */
struct gated_gap {
	char check[24]; /* "vm.memfd_noexec", "userns", "mount" */
	char what[256]; /* the sysctl file or the mount point */
	char have[32], want[32];
	bool fixed;
	char msg[640];
};

struct gated_ns {
	pthread_mutex_t lock; /* everything below */
	struct gated_gap gaps[GATED_MAX_GAPS];
	size_t ngaps, omitted;
	int64_t checked; /* unix seconds of the last check */
	/* mounts.c */
	const char *watch; /* "fanotify" or "mountinfo" */
	struct gated_mount *known;
	size_t nknown;
	uint64_t *fs_marked; /* makedev() of filesystems marked */
	size_t nfs_marked;
	uint32_t *mnt_marked; /* mount ids marked with --mount */
	size_t nmnt_marked;
	unsigned long long marked, mark_failures, rescans;
	int fan_mnt_fd, mi_fd, stop_fd;
	pthread_t thread;
	bool thread_on;
};

/* "log", "fix" or "refuse"; false otherwise. */
bool gated_posture_parse(const char *s, int *out);
/* Check (and in enforce mode with --posture fix, fix) every gap; logs
 * each gap as a "posture" event (only new ones when !all). Returns the
 * number of gaps left open. Takes ns->lock. */
size_t gated_posture_check(struct gated *g, bool all);
/* Writes "gated: posture: ..." lines naming every open gap to f. */
void gated_posture_print(struct gated *g, FILE *f);
json_t *gated_posture_json(struct gated *g);

/* ---- mounts.c ---- */
/* State, the marks of --follow-mounts on every current mount, and the
 * watcher thread. Errors: GATE_E_NOMEM, GATE_E_IO. */
GATE_WUR enum gate_err gated_ns_start(struct gated *g, struct gate_error *err);
void gated_ns_stop(struct gated *g);
/* Read mountinfo again and mark what is new (the watcher; SIGHUP). */
void gated_ns_rescan(struct gated *g);
/* Under ns->lock: is this mount covered by a mark? */
bool gated_mount_marked(const struct gated_ns *ns, const struct gated_mount *m);

#endif
