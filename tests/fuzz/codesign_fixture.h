/* codesign_fixture.h - trust for the code-signing fuzz targets: the root
 * and TSA root of the throwaway PKI (tests/tools/codesign_pki.sh) that
 * signed the seed corpora, and a fixed "now" inside their validity. */
#ifndef GATE_FUZZ_CODESIGN_FIXTURE_H
#define GATE_FUZZ_CODESIGN_FIXTURE_H

#include "codesign.h"

#include <openssl/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define FIXTURE_NOW 1795642326

static const char fixture_root[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBjTCCATKgAwIBAgICEAAwCgYIKoZIzj0EAwIwLTEXMBUGA1UEAwwOR2F0ZSBU\n"
	"ZXN0IFJvb3QxEjAQBgNVBAoMCUdhdGUgVGVzdDAeFw0yNjA4MTcyMTMxMDVaFw0z\n"
	"NjExMjIyMTMxMDVaMC0xFzAVBgNVBAMMDkdhdGUgVGVzdCBSb290MRIwEAYDVQQK\n"
	"DAlHYXRlIFRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAR38uNmJXPO9v8a\n"
	"4Whuyc41EJw38SPFk2po3JtHmmdQRqhG3+kjUx85fK6F5GsVMQye9qlSg2sEI7lH\n"
	"PR+nzInIo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNV\n"
	"HQ4EFgQUgC4xHyEt3cPF11WRGnTvocIBSgswCgYIKoZIzj0EAwIDSQAwRgIhAJvQ\n"
	"OkMBvobty7TPDJT7jt14xwJNCwE42FDFFdFIjVsSAiEA2qsLpJ4SXKTihCPI8ek0\n"
	"EgGgV/m5FuteugU/j017BMY=\n"
	"-----END CERTIFICATE-----\n";

static const char fixture_tsa_root[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBlDCCATqgAwIBAgICEAAwCgYIKoZIzj0EAwIwMTEbMBkGA1UEAwwSR2F0ZSBU\n"
	"ZXN0IFRTQSBSb290MRIwEAYDVQQKDAlHYXRlIFRlc3QwHhcNMjYwODE3MjEzMTA1\n"
	"WhcNMzYxMTIyMjEzMTA1WjAxMRswGQYDVQQDDBJHYXRlIFRlc3QgVFNBIFJvb3Qx\n"
	"EjAQBgNVBAoMCUdhdGUgVGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABA3m\n"
	"EDDjxUwEQ77gebt6UkAE8dHfHmxL/lqz+l/ac48+CrH/EhuPqv6L0Rhqjhd0074t\n"
	"GglqUj4gufI6esWbS8SjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD\n"
	"AgEGMB0GA1UdDgQWBBQObzBtRRHvP+cVVV0f++xXZjz2sDAKBggqhkjOPQQDAgNI\n"
	"ADBFAiBoL7Vo/Vu5AkSToh6w76UDltru8fDKcslZxblCPsOpRgIhAL63iC4XwLll\n"
	"9SK9XTcfhs69tusGFyMbAq7P5VnROmsr\n"
	"-----END CERTIFICATE-----\n";

static int fixture_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	return fd;
}

static void fixture_file(const char *path, const char *pem)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(pem, f) < 0 || fclose(f) != 0)
		abort();
}

/* Trust with the fixture root and TSA root, revocation ignored (no network
 * from a fuzz target). */
static struct gate_x509_trust *fixture_trust(void)
{
	char root[] = "/tmp/gate-fuzz-root-XXXXXX", tsa[] = "/tmp/gate-fuzz-tsa-XXXXXX";
	int a = mkstemp(root), b = mkstemp(tsa);
	struct gate_x509_trust *t = NULL;
	if (a < 0 || b < 0)
		abort();
	close(a);
	close(b);
	fixture_file(root, fixture_root);
	fixture_file(tsa, fixture_tsa_root);
	if (gate_x509_trust_new(&t, NULL) != GATE_OK ||
	    gate_x509_trust_add_roots(t, "root", root, NULL) != GATE_OK ||
	    gate_x509_trust_add_tsa_roots(t, "tsa", tsa, NULL) != GATE_OK ||
	    gate_x509_trust_set_revocation(t, GATE_CRL_IGNORE, false, NULL, NULL) != GATE_OK)
		abort();
	unlink(root);
	unlink(tsa);
	return t;
}

static void fixture_no_ssl_errors(void)
{
	if (ERR_peek_error() != 0)
		abort(); /* stale OpenSSL error: state carried between inputs */
}

#endif
