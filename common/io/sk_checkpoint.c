/* sk_checkpoint — signed checkpoints and their key files (see sk_checkpoint.h
 * and docs/AUDIT.md). Every parser here is strict: one accepted spelling per
 * value, so that two parties verifying the same bytes cannot disagree. */
#define _GNU_SOURCE /* memmem */
#include "sk_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* U+2014 EM DASH and a space: how a signed note's signature line begins */
#define SK_SIG_DASH "\xe2\x80\x94 "
#define SK_ALG_ED25519 0x01
#define SK_KEY_FILE_MAX 512

struct _sk_checkpoint_signer_t {
    char name[SK_CHECKPOINT_NAME_MAX + 1];
    uint8_t keyhash[4];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

struct _sk_checkpoint_verifier_t {
    char name[SK_CHECKPOINT_NAME_MAX + 1];
    uint8_t keyhash[4];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

static bool s_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > SK_CHECKPOINT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '+')
            return false;
    return true;
}

static void s_keyhash(const char *name, const uint8_t pk[32], uint8_t out[4])
{
    static const uint8_t sep[2] = {'\n', SK_ALG_ED25519};
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, h);
    memcpy(out, h, 4);
}

/* Canonical padded base64 of exactly `want` bytes: decodes, then re-encodes
 * and compares, so no second spelling of the same bytes passes. */
static bool s_b64_exact(const char *s, size_t n, uint8_t *out, size_t want)
{
    size_t enc = sodium_base64_ENCODED_LEN(want, sodium_base64_VARIANT_ORIGINAL) - 1;
    if (n != enc)
        return false;
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, want, s, n, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != want || end != s + n)
        return false;
    char again[256];
    if (enc + 1 > sizeof again)
        return false;
    sodium_bin2base64(again, sizeof again, out, want, sodium_base64_VARIANT_ORIGINAL);
    return memcmp(again, s, n) == 0;
}

/* A decimal without sign or leading zero, at most max. */
static bool s_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool s_hex8(const char *s, size_t n, uint8_t out[4])
{
    if (n != 8)
        return false;
    for (size_t i = 0; i < 8; i++) {
        char c = s[i];
        unsigned v;
        if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (unsigned)(c - 'a' + 10);
        else
            return false; /* lower case only: one spelling */
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return true;
}

/* The text of a key file with at most one final newline stripped, read
 * without quoting it in any message; secret files must be 0600 or stricter. */
static int s_read_key_file(const char *path, bool secret, char *buf, size_t cap, size_t *len,
                           sk_err_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sk_err_set(err, "bad_key_file", "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sk_err_set(err, "bad_key_file", "%s: not a regular file", path);
    }
    if (secret && (st.st_mode & 077) != 0) {
        close(fd);
        return sk_err_set(err, "bad_key_file",
                          "%s: mode %04o lets others read or write the signing key; want 0600",
                          path, (unsigned)(st.st_mode & 07777));
    }
    if (st.st_size <= 0 || (size_t)st.st_size >= cap) {
        close(fd);
        return sk_err_set(err, "bad_key_file", "%s: %lld bytes is no key file", path,
                          (long long)st.st_size);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        sodium_memzero(buf, cap);
        return sk_err_set(err, "bad_key_file", "%s: short read", path);
    }
    if (got > 0 && buf[got - 1] == '\n')
        got--;
    buf[got] = '\0';
    *len = got;
    return 0;
}

/* name+hash+base64(0x01 || key32) -> name, hash, key; the hash is checked
 * against the key when pk is given (secret: the caller checks it). */
static bool s_parse_key_text(const char *s, size_t n, char *name, uint8_t keyhash[4],
                             uint8_t key[32])
{
    const char *p1 = memchr(s, '+', n);
    if (!p1)
        return false;
    const char *p2 = memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - s));
    if (!p2)
        return false;
    size_t nlen = (size_t)(p1 - s);
    if (!s_name_ok(s, nlen) || !s_hex8(p1 + 1, (size_t)(p2 - p1 - 1), keyhash))
        return false;
    uint8_t raw[33];
    bool ok =
        s_b64_exact(p2 + 1, n - (size_t)(p2 + 1 - s), raw, sizeof raw) && raw[0] == SK_ALG_ED25519;
    if (ok) {
        memcpy(name, s, nlen);
        name[nlen] = '\0';
        memcpy(key, raw + 1, 32);
    }
    sodium_memzero(raw, sizeof raw);
    return ok;
}

static int s_write_file(const char *path, int flags, mode_t mode, const char *text, sk_err_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
    if (fd < 0)
        return sk_err_set(err, "bad_key_file", "%s: %s", path, strerror(errno));
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return sk_err_set(err, "bad_key_file", "%s: write: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0)
        return sk_err_set(err, "bad_key_file", "%s: %s", path, strerror(errno));
    return 0;
}

int sk_checkpoint_keygen(const char *name, const char *secret_path, const char *public_path,
                         sk_err_t *err)
{
    if (sodium_init() < 0)
        return sk_err_set(err, "internal", "libsodium did not initialise");
    if (!name || !s_name_ok(name, strlen(name)))
        return sk_err_set(err, "bad_key_name",
                          "key name: want 1..%d printable characters without space or '+'",
                          SK_CHECKPOINT_NAME_MAX);
    uint8_t seed_alg[33], pk[32], sk[64], kh[4];
    seed_alg[0] = SK_ALG_ED25519;
    randombytes_buf(seed_alg + 1, 32);
    crypto_sign_seed_keypair(pk, sk, seed_alg + 1);
    s_keyhash(name, pk, kh);
    char b64[64], line[SK_KEY_FILE_MAX];
    sodium_bin2base64(b64, sizeof b64, seed_alg, 33, sodium_base64_VARIANT_ORIGINAL);
    snprintf(line, sizeof line, "PRIVATE+KEY+%s+%02x%02x%02x%02x+%s\n", name, kh[0], kh[1], kh[2],
             kh[3], b64);
    int rc = s_write_file(secret_path, O_EXCL, 0600, line, err);
    sodium_memzero(line, sizeof line);
    sodium_memzero(b64, sizeof b64);
    sodium_memzero(seed_alg, sizeof seed_alg);
    sodium_memzero(sk, sizeof sk);
    if (rc != 0)
        return -1;
    uint8_t pk_alg[33];
    pk_alg[0] = SK_ALG_ED25519;
    memcpy(pk_alg + 1, pk, 32);
    sodium_bin2base64(b64, sizeof b64, pk_alg, 33, sodium_base64_VARIANT_ORIGINAL);
    snprintf(line, sizeof line, "%s+%02x%02x%02x%02x+%s\n", name, kh[0], kh[1], kh[2], kh[3], b64);
    return s_write_file(public_path, O_TRUNC, 0644, line, err);
}

sk_checkpoint_signer_t *sk_checkpoint_signer_load(const char *path, sk_err_t *err)
{
    if (sodium_init() < 0) {
        sk_err_set(err, "internal", "libsodium did not initialise");
        return NULL;
    }
    char buf[SK_KEY_FILE_MAX];
    size_t len = 0;
    if (s_read_key_file(path, true, buf, sizeof buf, &len, err) != 0)
        return NULL;
    sk_checkpoint_signer_t *self = sodium_malloc(sizeof *self);
    if (!self) {
        sodium_memzero(buf, sizeof buf);
        sk_err_set(err, "internal", "out of memory");
        return NULL;
    }
    static const char prefix[] = "PRIVATE+KEY+";
    uint8_t seed[32];
    bool ok = len > sizeof prefix - 1 && memcmp(buf, prefix, sizeof prefix - 1) == 0 &&
              s_parse_key_text(buf + sizeof prefix - 1, len - (sizeof prefix - 1), self->name,
                               self->keyhash, seed);
    sodium_memzero(buf, sizeof buf);
    if (ok) {
        uint8_t kh[4];
        crypto_sign_seed_keypair(self->pk, self->sk, seed);
        s_keyhash(self->name, self->pk, kh);
        /* a hash that does not match is a damaged or hand-edited file */
        ok = memcmp(kh, self->keyhash, 4) == 0;
    }
    sodium_memzero(seed, sizeof seed);
    if (!ok) {
        sodium_free(self);
        sk_err_set(err, "bad_key_file", "%s: not an Ed25519 signing key file (PRIVATE+KEY+...)",
                   path);
        return NULL;
    }
    return self;
}

void sk_checkpoint_signer_destroy(sk_checkpoint_signer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_free(*self_p); /* zeroes the guarded memory */
    *self_p = NULL;
}

const char *sk_checkpoint_signer_name(const sk_checkpoint_signer_t *self)
{
    return self->name;
}

static size_t s_body(char *buf, size_t cap, const char *origin, uint64_t size, const sk_hash_t root,
                     int64_t time_ms)
{
    char b64[sodium_base64_ENCODED_LEN(SK_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, root, SK_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(buf, cap, "%s\n%llu\n%s\ntime-ms %lld\n", origin, (unsigned long long)size,
                     b64, (long long)time_ms);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int sk_checkpoint_sign(const sk_checkpoint_signer_t *self, uint64_t size, const sk_hash_t root,
                       int64_t time_ms, char *buf, size_t cap, size_t *len, sk_err_t *err)
{
    if (size > SK_MERKLE_MAX_SIZE || time_ms < 0)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: size %llu or time %lld out of range",
                          (unsigned long long)size, (long long)time_ms);
    size_t body = s_body(buf, cap, self->name, size, root, time_ms);
    if (body == 0)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: buffer of %zu bytes too small", cap);
    uint8_t sig[4 + crypto_sign_BYTES];
    memcpy(sig, self->keyhash, 4);
    crypto_sign_detached(sig + 4, NULL, (const uint8_t *)buf, body, self->sk);
    char b64[sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(buf + body, cap - body, "\n" SK_SIG_DASH "%s %s\n", self->name, b64);
    if (n < 0 || (size_t)n >= cap - body)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: buffer of %zu bytes too small", cap);
    *len = body + (size_t)n;
    return 0;
}

sk_checkpoint_verifier_t *sk_checkpoint_verifier_parse(const char *text, size_t len, sk_err_t *err)
{
    if (sodium_init() < 0) {
        sk_err_set(err, "internal", "libsodium did not initialise");
        return NULL;
    }
    if (len > 0 && text[len - 1] == '\n')
        len--;
    sk_checkpoint_verifier_t *self = calloc(1, sizeof *self);
    if (!self) {
        sk_err_set(err, "internal", "out of memory");
        return NULL;
    }
    uint8_t kh[4];
    if (len >= SK_KEY_FILE_MAX || memchr(text, '\n', len) ||
        !s_parse_key_text(text, len, self->name, self->keyhash, self->pk)) {
        free(self);
        sk_err_set(err, "bad_key_file", "public key: want NAME+HASH+BASE64 (a C2SP note key)");
        return NULL;
    }
    s_keyhash(self->name, self->pk, kh);
    if (memcmp(kh, self->keyhash, 4) != 0) {
        free(self);
        sk_err_set(err, "bad_key_file", "public key: its hash does not match its name and key");
        return NULL;
    }
    return self;
}

sk_checkpoint_verifier_t *sk_checkpoint_verifier_load(const char *path, sk_err_t *err)
{
    char buf[SK_KEY_FILE_MAX];
    size_t len = 0;
    if (s_read_key_file(path, false, buf, sizeof buf, &len, err) != 0)
        return NULL;
    sk_checkpoint_verifier_t *v = sk_checkpoint_verifier_parse(buf, len, err);
    if (!v)
        sk_err_prefix(err, path);
    return v;
}

void sk_checkpoint_verifier_destroy(sk_checkpoint_verifier_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

const char *sk_checkpoint_verifier_name(const sk_checkpoint_verifier_t *self)
{
    return self->name;
}

/* The next line of [*p, end) without its '\n'; false when none ends there. */
static bool s_line(const char **p, const char *end, const char **s, size_t *n)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return false;
    *s = *p;
    *n = (size_t)(nl - *p);
    *p = nl + 1;
    return true;
}

int sk_checkpoint_verify(const sk_checkpoint_verifier_t *key, const char *note, size_t len,
                         sk_checkpoint_t *out, sk_err_t *err)
{
    if (len > SK_CHECKPOINT_MAX)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: %zu bytes, at most %d", len,
                          SK_CHECKPOINT_MAX);
    const char *p = note, *end = note + len, *s;
    size_t n;
    sk_checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    if (!s_line(&p, end, &s, &n) || !s_name_ok(s, n))
        return sk_err_set(err, "bad_checkpoint", "checkpoint: line 1: want the log's origin");
    memcpy(cp.origin, s, n);
    cp.origin[n] = '\0';
    if (strcmp(cp.origin, key->name) != 0)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: origin is not the key's log %s",
                          key->name);
    if (!s_line(&p, end, &s, &n) || !s_decimal(s, n, SK_MERKLE_MAX_SIZE, &cp.size))
        return sk_err_set(err, "bad_checkpoint", "checkpoint: line 2: want the tree size");
    if (!s_line(&p, end, &s, &n) || !s_b64_exact(s, n, cp.root, SK_MERKLE_HASH_LEN))
        return sk_err_set(err, "bad_checkpoint", "checkpoint: line 3: want the base64 root");
    uint64_t t;
    if (!s_line(&p, end, &s, &n) || n < 9 || memcmp(s, "time-ms ", 8) != 0 ||
        !s_decimal(s + 8, n - 8, INT64_MAX, &t))
        return sk_err_set(err, "bad_checkpoint", "checkpoint: line 4: want time-ms MILLISECONDS");
    cp.time_ms = (int64_t)t;
    size_t body = (size_t)(p - note);
    if (!s_line(&p, end, &s, &n) || n != 0)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: line 5: want the empty line");
    size_t dash = sizeof SK_SIG_DASH - 1, nl = strlen(key->name);
    uint8_t sig[4 + crypto_sign_BYTES];
    if (!s_line(&p, end, &s, &n) || p != end || n < dash + nl + 1 ||
        memcmp(s, SK_SIG_DASH, dash) != 0 || memcmp(s + dash, key->name, nl) != 0 ||
        s[dash + nl] != ' ' || !s_b64_exact(s + dash + nl + 1, n - dash - nl - 1, sig, sizeof sig))
        return sk_err_set(err, "bad_checkpoint",
                          "checkpoint: want one signature line \"— %s BASE64\" and nothing after",
                          key->name);
    if (memcmp(sig, key->keyhash, 4) != 0)
        return sk_err_set(err, "bad_checkpoint", "checkpoint: signed by another key than %s's",
                          key->name);
    if (crypto_sign_verify_detached(sig + 4, (const uint8_t *)note, body, key->pk) != 0)
        return sk_err_set(err, "bad_signature", "checkpoint of size %llu: the signature is wrong",
                          (unsigned long long)cp.size);
    *out = cp;
    return 0;
}

int sk_checkpoint_split(const char *buf, size_t len, size_t *note_len, sk_err_t *err)
{
    *note_len = 0;
    if (len == 0)
        return 0;
    size_t lim = len < SK_CHECKPOINT_MAX ? len : SK_CHECKPOINT_MAX;
    /* the body ends at the first empty line; the note at the line after it */
    const char *blank = memmem(buf, lim, "\n\n", 2);
    const char *nl = blank ? memchr(blank + 2, '\n', lim - (size_t)(blank + 2 - buf)) : NULL;
    if (nl) {
        *note_len = (size_t)(nl - buf) + 1;
        return 0;
    }
    return sk_err_set(err, "bad_checkpoint", "checkpoints: no whole signed note at this point");
}
