/* apt_gpgv.c - gpgv run as a program for apt-origin evidence
 * (gate_apt_run_verifier, apt_origin.h): a fixed argument list, a minimal
 * environment, the signed text on stdout and status lines on fd 3 read
 * under caps and a deadline, the child killed with its process group when
 * it overruns; a signature is good only by what its status lines say. */
#include "apt_origin.h"
#include "gate_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool append(char **buf, size_t *n, size_t *cap, size_t limit, const char *d, size_t dl)
{
	if (*n + dl > limit)
		return false;
	if (*n + dl + 1 > *cap) {
		size_t nc = (*cap ? *cap : 4096);
		while (nc < *n + dl + 1)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return false;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *n, d, dl);
	*n += dl;
	(*buf)[*n] = '\0';
	return true;
}

/* Move fd above 0..4 so that dup2 onto 0, 1, 3, 4 cannot clobber it. */
static int high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

/* The child: fds 0 (data), 1 (signed text), 3 (status), 4 (signature) and
 * 2 on /dev/null, nothing else; its own process group, so that a kill
 * reaches whatever it started. Only async-signal-safe calls. */
static void exec_verifier(const char *prog, char *const argv[], int infd, int outfd, int stfd,
			  int sigfd)
{
	char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "GNUPGHOME=/nonexistent", NULL};
	setpgid(0, 0);
	/* /dev/null first: it may land on 3 or 4, which the dup2s below
	 * then replace */
	int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (dn < 0 || dup2(dn, 2) < 0 || dup2(infd, 0) < 0 || dup2(outfd, 1) < 0 ||
	    dup2(stfd, 3) < 0 || (sigfd >= 0 && dup2(sigfd, 4) < 0))
		_exit(127);
	for (int fd = sigfd >= 0 ? 5 : 4; fd < 1024; fd++)
		close(fd);
	execve(prog, argv, envp);
	_exit(127);
}

/* Kill the child and its group, and reap it (blocking: SIGKILL is sure). */
static void kill_reap(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Read the child's stdout and status fd until both close, an output is
 * over its cap (*overflow: its name) or the deadline passes (*timed_out). */
static void collect(int op, int sp, int64_t deadline, char **out, size_t *on, char **st, size_t *sn,
		    bool *timed_out, const char **overflow)
{
	struct pollfd pf[2] = {{.fd = op, .events = POLLIN}, {.fd = sp, .events = POLLIN}};
	size_t oc = 0, sc = 0;
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			*timed_out = true;
			break;
		}
		int r = poll(pf, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			char buf[65536];
			ssize_t n = read(pf[i].fd, buf, sizeof buf);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			size_t m = (size_t)n;
			bool ok = i == 0 ? append(out, on, &oc, GATE_APT_MAX_RELEASE, buf, m)
					 : append(st, sn, &sc, GATE_APT_MAX_STATUS, buf, m);
			if (!ok) {
				*overflow = i == 0 ? "text" : "status lines";
				break;
			}
		}
		if (*overflow)
			break;
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
}

/* The primary-key fingerprint of a VALIDSIG line (fpr date ts expire ver
 * res pkalgo hashalgo class [primary]) into fpr, lowercase; false if none. */
static bool validsig_fpr(const char *s, char fpr[65])
{
	char f[10][80];
	int k = 0;
	while (k < 10 && *s) {
		size_t l = strcspn(s, " ");
		if (l >= sizeof f[0])
			l = sizeof f[0] - 1;
		memcpy(f[k], s, l);
		f[k][l] = '\0';
		k++;
		s += strcspn(s, " ");
		s += strspn(s, " ");
	}
	const char *pf = k == 10 ? f[9] : k ? f[0] : "";
	size_t fl = strlen(pf);
	if (fl < 32 || fl > 64 || strspn(pf, "0123456789ABCDEFabcdef") != fl)
		return false;
	for (size_t i = 0; i <= fl; i++)
		fpr[i] = (char)tolower((unsigned char)pf[i]);
	return true;
}

/* gpgv's status lines, one block per signature (NEWSIG). A signature is
 * good with GOODSIG and VALIDSIG (with a fingerprint) and nothing else
 * said of it. Returns 0 when some signature is good and none is BADSIG
 * (archives sign with several keys and a keyring may hold only some of
 * them: the others say NO_PUBKEY, as apt also accepts), 1 with a BADSIG,
 * 2 without a good signature; why says which. fpr: the good signature's
 * primary key. */
static int read_status(char *st, char fpr[65], char *why, size_t cap)
{
	bool any_good = false, badsig = false, good = false, valid = false, spoiled = false;
	char cur[65] = "";
	char *save = NULL;
	why[0] = '\0';
	fpr[0] = '\0';
	for (char *line = st ? strtok_r(st, "\n", &save) : NULL;;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *s = line && strncmp(line, "[GNUPG:] ", 9) == 0 ? line + 9 : NULL;
		if (!line || (s && strncmp(s, "NEWSIG", 6) == 0)) {
			/* end of a signature's block */
			if (good && valid && !spoiled && !any_good) {
				memcpy(fpr, cur, sizeof cur);
				any_good = true;
			}
			good = valid = spoiled = false;
			cur[0] = '\0';
			if (!line)
				break;
			continue;
		}
		if (!s)
			continue;
		if (strncmp(s, "GOODSIG ", 8) == 0) {
			good = true;
		} else if (strncmp(s, "VALIDSIG ", 9) == 0) {
			valid = validsig_fpr(s + 9, cur);
		} else if (strncmp(s, "BADSIG ", 7) == 0 || strncmp(s, "ERRSIG ", 7) == 0 ||
			   strncmp(s, "EXPKEYSIG ", 10) == 0 || strncmp(s, "REVKEYSIG ", 10) == 0 ||
			   strncmp(s, "EXPSIG ", 7) == 0 || strncmp(s, "NO_PUBKEY ", 10) == 0) {
			spoiled = true;
			badsig |= strncmp(s, "BADSIG ", 7) == 0;
			/* BADSIG says most, NO_PUBKEY (with ERRSIG) more than ERRSIG */
			if (!why[0] || strncmp(s, "BADSIG ", 7) == 0 ||
			    (strncmp(s, "NO_PUBKEY ", 10) == 0 && strncmp(why, "BADSIG", 6) != 0))
				snprintf(why, cap, "%.*s", (int)strcspn(s, " "), s);
		}
	}
	if (badsig) {
		fpr[0] = '\0';
		return 1;
	}
	if (!any_good) {
		if (!why[0])
			snprintf(why, cap, "no good signature (GOODSIG and VALIDSIG)");
		return 2;
	}
	return 0;
}

enum gate_err gate_apt_run_verifier(const char *prog, unsigned timeout_ms, const char *keyring,
				    int data_fd, int sig_fd, const char *label, char **text,
				    size_t *textlen, char fpr[65], struct gate_error *err)
{
	int op[2], sp[2];
	char *out = NULL, *st = NULL;
	size_t on = 0, sn = 0;
	enum gate_err rc = GATE_OK;
	bool detached = sig_fd >= 0;
	fpr[0] = '\0';
	if (text) {
		*text = NULL;
		*textlen = 0;
	}
	if (!detached && !text)
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "%s: nowhere for the text",
				 label);
	if (timeout_ms == 0 || timeout_ms > INT32_MAX)
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "%s: bad timeout", label);
	if (lseek(data_fd, 0, SEEK_SET) != 0 || (detached && lseek(sig_fd, 0, SEEK_SET) != 0))
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: %s", label, strerror(errno));
	if (pipe2(op, O_CLOEXEC) != 0)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "pipe: %s", strerror(errno));
	if (pipe2(sp, O_CLOEXEC) != 0) {
		close(op[0]);
		close(op[1]);
		return gate_fail(err, GATE_E_IO, NULL, NULL, "pipe: %s", strerror(errno));
	}
	op[1] = high_fd(op[1]);
	sp[1] = high_fd(sp[1]);
	int infd = fcntl(data_fd, F_DUPFD_CLOEXEC, 10);
	int sigfd = detached ? fcntl(sig_fd, F_DUPFD_CLOEXEC, 10) : -1;
	/* Fixed but for the keyring. Detached: the signature first (fd 4),
	 * then the data, "-": stdin. gpgv refuses a signature file that is
	 * not a detached signature when data files are given. */
	char *const argv_clear[] = {"gpgv",	     "--quiet",	    "--keyring",
				    (char *)keyring, "--status-fd", "3",
				    "--output",	     "-",	    NULL};
	char *const argv_detached[] = {"gpgv",	      "--quiet", "--keyring", (char *)keyring,
				       "--status-fd", "3",	 "--",	      "/dev/fd/4",
				       "-",	      NULL};
	pid_t pid = (op[1] < 0 || sp[1] < 0 || infd < 0 || (detached && sigfd < 0)) ? -1 : fork();
	if (pid == 0)
		exec_verifier(prog, detached ? argv_detached : argv_clear, infd, op[1], sp[1],
			      sigfd);
	int fork_errno = errno;
	if (pid > 0)
		setpgid(pid, pid); /* also here: no window where a kill misses the group */
	if (infd >= 0)
		close(infd);
	if (sigfd >= 0)
		close(sigfd);
	if (op[1] >= 0)
		close(op[1]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (pid < 0) {
		close(op[0]);
		close(sp[0]);
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "cannot run %s: %s", prog,
				 strerror(fork_errno));
	}
	int64_t deadline = now_ms() + timeout_ms;
	bool timed_out = false;
	const char *overflow = NULL;
	int status = -1; /* not reaped: fails closed */
	collect(op[0], sp[0], deadline, &out, &on, &st, &sn, &timed_out, &overflow);
	/* reap, with the same deadline */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (timed_out || overflow || now_ms() >= deadline) {
			timed_out = !overflow;
			kill_reap(pid, &status);
			break;
		}
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (timed_out) {
		rc = gate_fail(err, GATE_E_SIGNATURE, NULL, NULL, "%s: %s timed out after %u ms",
			       label, prog, timeout_ms);
		goto out;
	}
	if (overflow) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
			       "%s: %s wrote over %u bytes of %s", label, prog,
			       overflow[0] == 't' ? GATE_APT_MAX_RELEASE : GATE_APT_MAX_STATUS,
			       overflow);
		goto out;
	}
	char why[64];
	int res = read_status(st, fpr, why, sizeof why);
	/* gpgv exits 2 when one of several signatures cannot be checked
	 * (NO_PUBKEY); read_status decides then. 1 is a bad signature. */
	bool exit_ok = WIFEXITED(status) &&
		       (WEXITSTATUS(status) == 0 || (WEXITSTATUS(status) == 2 && res == 0));
	if (!exit_ok || res) {
		char how[96];
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			snprintf(how, sizeof how, "cannot run %s", prog);
		else if (!WIFEXITED(status))
			snprintf(how, sizeof how, "killed by a signal");
		else if (res != 0 && WEXITSTATUS(status) <= 2) /* gpgv's own verdicts */
			snprintf(how, sizeof how, "%s", why);
		else
			snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
		fpr[0] = '\0';
		rc = gate_fail(err, GATE_E_SIGNATURE, NULL, NULL,
			       "%s: signature does not verify with keyring %s (%s)", label, keyring,
			       how);
		goto out;
	}
	if (text) {
		*text = out ? out : strdup("");
		*textlen = on;
		out = NULL;
		if (!*text)
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
out:
	free(out);
	free(st);
	return rc;
}
