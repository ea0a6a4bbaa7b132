/*
 * sign.h - self-managed keys, fully offline: make a key pair, sign a file
 * into a Sigstore bundle v0.3 and a cosign-style detached signature.
 * Internal to gate (never installed); the `gate keygen` and `gate sign`
 * commands and the tests use it.
 *
 * Passphrases are borrowed NUL-terminated strings; this module never copies
 * them into memory it does not wipe, and never logs them.
 */
#ifndef GATE_SIGN_H
#define GATE_SIGN_H

#include "verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Key algorithms `gate keygen` makes and `gate sign` signs with. */
#define GATE_KEYGEN_ALG_DEFAULT "ecdsa-p256"

/* Sigstore bundle v0.3 media type that gate_sign_file writes. */
#define GATE_SIGN_BUNDLE_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"

/* Generate a key pair with alg ("ecdsa-p256" when NULL, "ecdsa-p384",
 * "ed25519") and write the private key as PKCS#8 PEM to priv_path (mode
 * 0600) and the public key as PEM SubjectPublicKeyInfo to pub_path (mode
 * 0644). With a non-NULL passphrase the private key is encrypted (PBES2:
 * PBKDF2 + AES-256-CBC); an empty passphrase is refused. Neither file may
 * exist yet: they are created with O_EXCL|O_NOFOLLOW, so an existing file or
 * a symlink is never overwritten. On failure no file made by this call is
 * left behind.
 * Errors: GATE_E_USAGE (unknown alg, empty passphrase, same path twice),
 * GATE_E_IO (a file exists or cannot be written; err->file names it),
 * GATE_E_INTERNAL (OpenSSL failure), GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_keygen_write(const char *priv_path, const char *pub_path,
					 const char *alg, const char *passphrase,
					 struct gate_error *err);

/* Sign the file artifact with the PEM private key at key_path (PKCS#8 or
 * traditional, encrypted when passphrase is needed; passphrase may be NULL
 * for an unencrypted key). ECDSA P-256 signs SHA-256 and P-384 SHA-384 of
 * the file (streamed, DER signatures); Ed25519 signs the file itself
 * (mapped, never read whole). The signature is checked with the public key
 * before anything is written.
 *
 * Writes, each atomically (temporary file in the same directory, fsync,
 * rename) and with mode 0644:
 *   bundle_out: a Sigstore bundle v0.3 with publicKey material (hint: hex
 *     SHA-256 of the DER SPKI), no log entries, and a messageDigest
 *     (SHA2_384 for P-384, else SHA2_256);
 *   sig_out: base64 of the signature bytes, no newline (cosign's .sig).
 * Either may be NULL to skip it, not both. An existing regular file is
 * replaced; a symlink or any other non-regular file is refused, as is an
 * output that is the artifact or the private key itself. On failure neither
 * output is changed.
 *
 * Errors: GATE_E_USAGE (no output, same output twice, an output is the
 * artifact or the key, encrypted key and no passphrase), GATE_E_KEY (wrong passphrase
 * or undecryptable key), GATE_E_PARSE (not a PEM private key),
 * GATE_E_UNSUPPORTED (key type other than P-256, P-384, Ed25519),
 * GATE_E_IO (key, artifact or output unreadable or unwritable; err->file
 * names it), GATE_E_TOO_LARGE (key file over the small-file cap),
 * GATE_E_INTERNAL, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_sign_file(const char *key_path, const char *passphrase,
				      const char *artifact, const char *bundle_out,
				      const char *sig_out, struct gate_error *err);

#ifdef __cplusplus
}
#endif
#endif
