/* sk_checkpoint — the audit log's signed checkpoint: "this log (origin) had
 * size entries whose RFC 6962 root is root, at time_ms", signed with Ed25519
 * (libsodium crypto_sign_detached), and the key files it is signed and
 * checked with. docs/AUDIT.md is the byte-exact specification; in short, a
 * C2SP tlog-checkpoint in a C2SP signed note:
 *
 *   <origin>\n                        the log id, also the key's name
 *   <size>\n                          decimal, no leading zero
 *   <base64 of the 32-byte root>\n    RFC 4648 with padding
 *   time-ms <ms since the epoch>\n    decimal, no leading zero
 *   \n
 *   — <origin> <base64(key hash[4] || Ed25519 signature[64])>\n
 *
 * The signature covers the four body lines exactly (every byte up to and
 * including the fourth newline). The key hash is the first 4 bytes of
 * SHA-256(name || "\n" || 0x01 || public key).
 *
 * Key files (C2SP note key encodings, one line, optional final newline):
 *   public  (auditors):   <name>+<key hash, 8 hex>+<base64(0x01 || pk[32])>
 *   secret  (the worker): PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || seed[32])>
 * The secret file must be a regular file no one but its owner may read or
 * write (mode 0600 or stricter): anything else is refused at load, and no
 * error message ever quotes its content. The secret key lives in libsodium's
 * guarded memory, zeroed on destroy.
 *
 * Invariants: sk_checkpoint_verify accepts exactly the bytes
 * sk_checkpoint_sign writes for some (origin, size, root, time) with the
 * matching key, and nothing else (no other spacing, line end, encoding,
 * extra line or byte). A name is 1..SK_CHECKPOINT_NAME_MAX printable ASCII
 * characters without space or '+'. */
#ifndef SK_CHECKPOINT_H
#define SK_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"
#include "sk_merkle.h"

#define SK_CHECKPOINT_NAME_MAX 128
/* Bytes of a checkpoint note at most (the longest one is ~340). */
#define SK_CHECKPOINT_MAX 512

typedef struct {
    char origin[SK_CHECKPOINT_NAME_MAX + 1];
    uint64_t size;
    sk_hash_t root;
    int64_t time_ms;
} sk_checkpoint_t;

typedef struct _sk_checkpoint_signer_t sk_checkpoint_signer_t;
typedef struct _sk_checkpoint_verifier_t sk_checkpoint_verifier_t;

/* A new key pair for log `name`: the secret file created 0600 (never over an
 * existing file), the public file 0644. */
int sk_checkpoint_keygen(const char *name, const char *secret_path, const char *public_path,
                         sk_err_t *err);

/* Reads the secret key file (code "bad_key_file" for a missing, unreadable,
 * group- or world-accessible, or malformed file). */
sk_checkpoint_signer_t *sk_checkpoint_signer_load(const char *path, sk_err_t *err);
void sk_checkpoint_signer_destroy(sk_checkpoint_signer_t **self_p);
const char *sk_checkpoint_signer_name(const sk_checkpoint_signer_t *self);

/* Writes the signed note of (size, root, time_ms) into buf[0..cap) (cap of
 * SK_CHECKPOINT_MAX is enough), NUL-terminated; *len its length. */
int sk_checkpoint_sign(const sk_checkpoint_signer_t *self, uint64_t size, const sk_hash_t root,
                       int64_t time_ms, char *buf, size_t cap, size_t *len, sk_err_t *err);

/* The public key from a file or from its text. */
sk_checkpoint_verifier_t *sk_checkpoint_verifier_load(const char *path, sk_err_t *err);
sk_checkpoint_verifier_t *sk_checkpoint_verifier_parse(const char *text, size_t len, sk_err_t *err);
void sk_checkpoint_verifier_destroy(sk_checkpoint_verifier_t **self_p);
const char *sk_checkpoint_verifier_name(const sk_checkpoint_verifier_t *self);

/* Parses note[0..len) and checks its signature with the public key alone;
 * fills *out. -1 with code "bad_checkpoint" (malformed, another origin or
 * key) or "bad_signature". */
int sk_checkpoint_verify(const sk_checkpoint_verifier_t *key, const char *note, size_t len,
                         sk_checkpoint_t *out, sk_err_t *err);

/* A file of saved checkpoints is their notes one after another: the length
 * of the first note in buf[0..len) (through its signature line's newline),
 * 0 when buf is empty, -1 when what is there is no whole note. */
int sk_checkpoint_split(const char *buf, size_t len, size_t *note_len, sk_err_t *err);

#endif
