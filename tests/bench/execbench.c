/* execbench.c - timing helper of tests/bench/exec.sh (not part of gate).
 *
 *   execbench loop N PATH   spawn PATH N times (posix_spawn + waitpid, so
 *                           the cost is the kernel's exec path plus
 *                           whatever answers its fanotify events); prints
 *                           the mean nanoseconds per exec
 *   execbench once PATH     one spawn + wait; prints nanoseconds
 *   execbench hash FILE     SHA-256 of FILE with 256 KiB preads (the way
 *                           gate hashes): one untimed pass warms OpenSSL,
 *                           the buffer and the caches, then one timed
 *                           pass; prints nanoseconds
 *
 * Exits 1 when a spawn fails or the program does not exit 0 (a denied
 * exec must not be timed as a fast one). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int spawn_wait(const char *path)
{
	char *argv[] = {(char *)path, NULL};
	pid_t pid;
	int st;
	if (posix_spawn(&pid, path, NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int64_t hash_once(const char *file)
{
	static unsigned char buf[256 * 1024];
	unsigned char md[32];
	unsigned int len;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int64_t t0 = now_ns();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	off_t off = 0;
	ssize_t n;
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		EVP_DigestUpdate(c, buf, (size_t)n);
		off += n;
	}
	EVP_DigestFinal_ex(c, md, &len);
	EVP_MD_CTX_free(c);
	int64_t t = now_ns() - t0;
	close(fd);
	return n < 0 ? -1 : t;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "loop") == 0) {
		long n = strtol(argv[2], NULL, 10);
		int64_t t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (spawn_wait(argv[3]) != 0) {
				fprintf(stderr, "execbench: exec %ld of %s failed\n", i, argv[3]);
				return 1;
			}
		printf("%lld\n", (long long)((now_ns() - t0) / (n > 0 ? n : 1)));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "once") == 0) {
		int64_t t0 = now_ns();
		if (spawn_wait(argv[2]) != 0) {
			fprintf(stderr, "execbench: exec of %s failed\n", argv[2]);
			return 1;
		}
		printf("%lld\n", (long long)(now_ns() - t0));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "hash") == 0) {
		int64_t t = hash_once(argv[2]) < 0 ? -1 : hash_once(argv[2]);
		if (t < 0)
			return 1;
		printf("%lld\n", (long long)t);
		return 0;
	}
	fputs("usage: execbench loop N PATH | once PATH | hash FILE\n", stderr);
	return 2;
}
