/* mounts.c - every mount of gated's mount namespace, seen as it appears.
 *
 * Wake-ups come from a second fanotify group with FAN_REPORT_MNT on our
 * mount namespace (Linux 6.14+: FAN_MNT_ATTACH / FAN_MNT_DETACH) and from
 * /proc/self/mountinfo (POLLPRI on any change, remounts included, which
 * fanotify does not report); either may be missing, mountinfo alone works
 * on every kernel. The truth is always a fresh read of mountinfo, diffed
 * against the last one: a mount that came and went between two reads
 * costs nothing, one that stayed is never missed.
 *
 * With --follow-mounts DIR (--filesystem / implies --follow-mounts /)
 * each mount at or under DIR, at start and as it appears, has its
 * filesystem marked (FAN_MARK_FILESYSTEM: every mount of that filesystem, in every
 * namespace, from then on). Between the mount and the mark there is a
 * window in which an exec there is not asked about; only whoever may
 * mount in gated's namespace (root) can use it. Mounts made in other
 * mount namespaces are not visible here at all: that is a posture gap
 * (unprivileged user namespaces), not something a mark can close. */
#include "nsguard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Linux 6.14 uapi, for older headers. */
#ifndef FAN_REPORT_MNT
#define FAN_REPORT_MNT 0x00004000
#endif
#ifndef FAN_MARK_MNTNS
#define FAN_MARK_MNTNS 0x00000110
#endif
#ifndef FAN_MNT_ATTACH
#define FAN_MNT_ATTACH 0x01000000
#endif
#ifndef FAN_MNT_DETACH
#define FAN_MNT_DETACH 0x02000000
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

#define MOUNTINFO "/proc/self/mountinfo"

static uint64_t dev_of(const struct gated_mount *m)
{
	return (uint64_t)makedev(m->major, m->minor);
}

bool gated_mount_marked(const struct gated_ns *ns, const struct gated_mount *m)
{
	for (size_t i = 0; i < ns->nmnt_marked; i++)
		if (ns->mnt_marked[i] == m->id)
			return true;
	for (size_t i = 0; i < ns->nfs_marked; i++)
		if (ns->fs_marked[i] == dev_of(m))
			return true;
	return false;
}

static bool same_mount(const struct gated_mount *a, const struct gated_mount *b)
{
	return a->id == b->id && a->major == b->major && a->minor == b->minor &&
	       strcmp(a->point, b->point) == 0;
}

static bool was_known(const struct gated_ns *ns, const struct gated_mount *m)
{
	for (size_t i = 0; i < ns->nknown; i++)
		if (same_mount(&ns->known[i], m))
			return true;
	return false;
}

static bool add_u64(uint64_t **v, size_t *n, uint64_t x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return true;
	uint64_t *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return false;
	nv[(*n)++] = x;
	*v = nv;
	return true;
}

static bool add_u32(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return false;
	nv[(*n)++] = x;
	*v = nv;
	return true;
}

/* Mark the filesystem of mount m, through a descriptor checked to be on
 * that very mount (the point may have been mounted over since). */
static void mark_fs(struct gated *g, const struct gated_mount *m)
{
	struct gated_ns *ns = g->ns;
	struct statx sx;
	char link[64];
	const char *why = NULL;
	int err = 0;
	if (gated_mount_marked(ns, m))
		return;
	int fd = open(m->point, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		why = "open";
	} else if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0) {
		err = errno;
		why = "statx";
	} else if ((sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id != m->id) {
		why = "mounted over";
	} else {
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, gated_mark_mask(g),
				  AT_FDCWD, link) != 0) {
			err = errno;
			why = "fanotify_mark";
		}
	}
	if (fd >= 0)
		close(fd);
	if (!why) {
		ns->marked++;
		if (!add_u64(&ns->fs_marked, &ns->nfs_marked, dev_of(m)))
			ns->mark_failures++;
		return;
	}
	ns->mark_failures++;
	/* A noexec mount runs nothing (proc cannot be marked for permission
	 * events at all); any other failure is a posture gap, logged there. */
	if (!m->noexec)
		gated_log_msg(g, "mount", "cannot mark %s (%s, mount %u): %s%s%s", m->point,
			      m->fstype, m->id, why, err ? ": " : "", err ? strerror(err) : "");
}

/* Under one of the --follow-mounts directories? */
static bool followed(const struct gated *g, const char *point)
{
	for (size_t i = 0; i < g->cfg.nfollow; i++) {
		const char *d = g->cfg.follow[i];
		size_t n = strlen(d);
		while (n > 1 && d[n - 1] == '/')
			n--;
		if (n == 1 && d[0] == '/')
			return true;
		if (strncmp(point, d, n) == 0 && (point[n] == '\0' || point[n] == '/'))
			return true;
	}
	return false;
}

/* Read mountinfo, mark what is new (--follow-mounts), keep it as known. */
void gated_ns_rescan(struct gated *g)
{
	struct gated_ns *ns = g->ns;
	struct gated_mount *v = NULL;
	size_t n = 0;
	long rc = gated_mountinfo_read(MOUNTINFO, &v, &n);
	if (rc != 0) {
		gated_log_msg(g, "mount", "%s: %s", MOUNTINFO,
			      rc < 0 ? strerror(errno)
				     : "malformed line (kept the last good read)");
		free(v);
		return;
	}
	pthread_mutex_lock(&ns->lock);
	ns->rescans++;
	for (size_t i = 0; i < n; i++)
		if (followed(g, v[i].point) && !was_known(ns, &v[i]))
			mark_fs(g, &v[i]);
	free(ns->known);
	ns->known = v;
	ns->nknown = n;
	pthread_mutex_unlock(&ns->lock);
}

/* Drain whatever woke us: fanotify mount records (the event itself says
 * only "something changed"; the rescan finds what) or mountinfo's flag,
 * which poll() itself clears. */
static void drain(int fd)
{
	static _Alignas(struct fanotify_event_metadata) char buf[4096];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

static void *watch_main(void *arg)
{
	struct gated *g = arg;
	struct gated_ns *ns = g->ns;
	struct pollfd fds[3] = {{.fd = ns->stop_fd, .events = POLLIN},
				{.fd = ns->mi_fd, .events = POLLPRI},
				{.fd = ns->fan_mnt_fd, .events = POLLIN}};
	for (;;) {
		int r = poll(fds, 3, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (fds[0].revents & POLLIN))
			break;
		if (fds[2].revents & POLLIN)
			drain(ns->fan_mnt_fd);
		gated_ns_rescan(g);
		gated_posture_check(g, false); /* logs new gaps only */
	}
	return NULL;
}

static void open_watch(struct gated_ns *ns)
{
	ns->mi_fd = open(MOUNTINFO, O_RDONLY | O_CLOEXEC);
	ns->fan_mnt_fd = fanotify_init(FAN_REPORT_MNT | FAN_CLOEXEC | FAN_NONBLOCK, 0);
	if (ns->fan_mnt_fd >= 0 &&
	    fanotify_mark(ns->fan_mnt_fd, FAN_MARK_ADD | FAN_MARK_MNTNS,
			  FAN_MNT_ATTACH | FAN_MNT_DETACH, AT_FDCWD, "/proc/self/ns/mnt") != 0) {
		close(ns->fan_mnt_fd);
		ns->fan_mnt_fd = -1;
	}
	ns->watch = ns->fan_mnt_fd >= 0 ? "fanotify" : ns->mi_fd >= 0 ? "mountinfo" : NULL;
}

/* The mounts and filesystems the command line marked, for coverage. */
static enum gate_err note_cfg_marks(struct gated *g, struct gate_error *err)
{
	struct gated_ns *ns = g->ns;
	struct stat st;
	struct statx sx;
	for (size_t i = 0; i < g->cfg.nfilesystems; i++)
		if (stat(g->cfg.filesystems[i], &st) == 0 &&
		    !add_u64(&ns->fs_marked, &ns->nfs_marked, (uint64_t)st.st_dev))
			return gate_fail(err, GATE_E_NOMEM, NULL, "mounts", "out of memory");
	for (size_t i = 0; i < g->cfg.nmounts; i++)
		if (statx(AT_FDCWD, g->cfg.mounts[i], 0, STATX_MNT_ID, &sx) == 0 &&
		    (sx.stx_mask & STATX_MNT_ID) &&
		    !add_u32(&ns->mnt_marked, &ns->nmnt_marked, (uint32_t)sx.stx_mnt_id))
			return gate_fail(err, GATE_E_NOMEM, NULL, "mounts", "out of memory");
	return GATE_OK;
}

enum gate_err gated_ns_start(struct gated *g, struct gate_error *err)
{
	struct gated_ns *ns = calloc(1, sizeof(*ns));
	enum gate_err rc;
	if (!ns)
		return gate_fail(err, GATE_E_NOMEM, NULL, "mounts", "out of memory");
	pthread_mutex_init(&ns->lock, NULL);
	ns->fan_mnt_fd = ns->mi_fd = ns->stop_fd = -1;
	g->ns = ns;
	if ((rc = note_cfg_marks(g, err)) != GATE_OK)
		return rc;
	if ((ns->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return gate_fail(err, GATE_E_IO, NULL, "eventfd", "%s", strerror(errno));
	open_watch(ns); /* before the first read: nothing falls between */
	gated_ns_rescan(g);
	if (!ns->watch) {
		gated_log_msg(
			g, "mount",
			"cannot watch mounts (fanotify FAN_REPORT_MNT and %s both failed): new "
			"mounts are seen only on SIGHUP",
			MOUNTINFO);
		return GATE_OK;
	}
	if (pthread_create(&ns->thread, NULL, watch_main, g) != 0)
		return gate_fail(err, GATE_E_IO, NULL, "mounts", "cannot start the mount watcher");
	ns->thread_on = true;
	return GATE_OK;
}

void gated_ns_stop(struct gated *g)
{
	struct gated_ns *ns = g->ns;
	uint64_t one = 1;
	if (!ns)
		return;
	if (ns->thread_on && write(ns->stop_fd, &one, sizeof one) == (ssize_t)sizeof one)
		pthread_join(ns->thread, NULL);
	if (ns->stop_fd >= 0)
		close(ns->stop_fd);
	if (ns->mi_fd >= 0)
		close(ns->mi_fd);
	if (ns->fan_mnt_fd >= 0)
		close(ns->fan_mnt_fd);
	free(ns->known);
	free(ns->fs_marked);
	free(ns->mnt_marked);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
	g->ns = NULL;
}
