/* auditlog — the C side of tests/interop/test_audit_verify.py: writes an
 * audit log of AuditEvent protobufs and its signed checkpoints to files in
 * the export form of docs/AUDIT.md, and verifies such files with
 * sk_audit_verify (what `skontoctl audit verify` is to call):
 *
 *   auditlog keygen NAME SECRET_FILE PUBLIC_FILE
 *   auditlog write SECRET_FILE N EVERY LEAVES_FILE CHECKPOINTS_FILE
 *   auditlog verify PUBLIC_FILE LEAVES_FILE CHECKPOINTS_FILE...
 *
 * verify prints one line, "ok size=N root=HEX" (exit 0) or
 * "wrong reason=R entry=I checkpoint=C: message" (exit 1); a usage or I/O
 * error is one line on stderr and exit 2. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sk_auditverify.h"
#include "sk_checkpoint.h"
#include "sk_merkle.h"
#include "skonto/v1/skonto.pb-c.h"

/* An entry's bytes at most (an AuditEvent's details are bounded by the worker). */
#define LEAF_MAX 65536

static int s_usage(void)
{
    fprintf(stderr, "usage: auditlog keygen NAME SECRET PUBLIC | write SECRET N EVERY LEAVES "
                    "CHECKPOINTS | verify PUBLIC LEAVES CHECKPOINTS...\n");
    return 2;
}

static int s_die(const sk_err_t *err)
{
    fprintf(stderr, "auditlog: %s\n", err->msg);
    return 2;
}

static int s_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

static void s_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int s_write_checkpoint(FILE *f, const sk_checkpoint_signer_t *s, const sk_merkle_t *t,
                              int64_t now)
{
    sk_hash_t root;
    sk_merkle_root(t, root);
    char note[SK_CHECKPOINT_MAX];
    size_t len;
    sk_err_t err;
    if (sk_checkpoint_sign(s, sk_merkle_size(t), root, now, note, sizeof note, &len, &err) != 0)
        return s_die(&err);
    return fwrite(note, 1, len, f) == len ? 0 : 2;
}

static int s_write(int argc, char **argv)
{
    uint64_t n, every;
    if (argc != 7 || s_parse_u64(argv[3], 10000000, &n) || s_parse_u64(argv[4], 1000000, &every) ||
        every == 0)
        return s_usage();
    sk_err_t err;
    sk_checkpoint_signer_t *s = sk_checkpoint_signer_load(argv[2], &err);
    if (!s)
        return s_die(&err);
    FILE *lf = fopen(argv[5], "w"), *cf = fopen(argv[6], "w");
    sk_merkle_t *t = sk_merkle_new();
    int rc = 0;
    if (!lf || !cf || !t) {
        fprintf(stderr, "auditlog: cannot write %s / %s\n", argv[5], argv[6]);
        rc = 2;
        goto out;
    }
    const int64_t t0 = 1764547200000; /* 2025-12-01: fixed, so runs compare */
    /* an empty log is checkpointed too: nothing can be cut before the first */
    rc = s_write_checkpoint(cf, s, t, t0);
    static const char *const actions[] = {"override.requested", "override.approved",
                                          "override.applied", "override.refused"};
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        char actor[32], subject[32], details[96];
        snprintf(actor, sizeof actor, "sales%" PRIu64, i % 7);
        snprintf(subject, sizeof subject, "SO-%06" PRIu64, 1000 + i / 3);
        snprintf(details, sizeof details,
                 "{\"field\":\"tier.1.last_day\",\"old\":\"10\",\"new\":\"%" PRIu64 "\"}",
                 12 + i % 9);
        Skonto__V1__AuditEvent ev = SKONTO__V1__AUDIT_EVENT__INIT;
        ev.seq = i;
        ev.at_ms = t0 + (int64_t)i * 250;
        ev.actor = actor;
        ev.role =
            (i % 4 == 1) ? SKONTO__V1__ROLE__ROLE_SALES_DIRECTOR : SKONTO__V1__ROLE__ROLE_SALES;
        ev.action = (char *)actions[i % 4];
        ev.subject = subject;
        ev.details = details;
        uint8_t buf[512];
        size_t len = skonto__v1__audit_event__get_packed_size(&ev);
        if (len > sizeof buf) {
            rc = 2;
            break;
        }
        skonto__v1__audit_event__pack(&ev, buf);
        sk_hash_t lh;
        if (sk_merkle_append(t, buf, len, lh, &err) != 0) {
            rc = s_die(&err);
            break;
        }
        char hex[65], b64[sodium_base64_ENCODED_LEN(512, sodium_base64_VARIANT_ORIGINAL)];
        s_hex(lh, 32, hex);
        sodium_bin2base64(b64, sizeof b64, buf, len, sodium_base64_VARIANT_ORIGINAL);
        fprintf(lf, "%" PRIu64 " %s %s\n", i, hex, b64);
        if ((i + 1) % every == 0 || i + 1 == n)
            rc = s_write_checkpoint(cf, s, t, ev.at_ms);
    }
out:
    if (lf && fclose(lf) != 0)
        rc = 2;
    if (cf && fclose(cf) != 0)
        rc = 2;
    sk_merkle_destroy(&t);
    sk_checkpoint_signer_destroy(&s);
    return rc;
}

/* ---- verify: the export form read back, entry by entry ---- */
typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    uint64_t lineno;
    uint8_t leaf[LEAF_MAX];
    sk_hash_t hash;
} s_reader_t;

static int s_hexdec(const char *s, size_t n, uint8_t *out)
{
    size_t got;
    const char *end;
    return sodium_hex2bin(out, 32, s, n, NULL, &got, &end) == 0 && got == 32 && end == s + n &&
                   n == 64
               ? 0
               : -1;
}

static int s_next(void *ctx, sk_audit_entry_t *e, sk_err_t *err)
{
    s_reader_t *r = ctx;
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0)
        return ferror(r->f) ? sk_err_set(err, "io", "leaves: read error") : 0;
    r->lineno++;
    if (n == 0 || r->line[n - 1] != '\n')
        return sk_err_set(err, "bad_leaves", "leaves line %" PRIu64 ": no final newline",
                          r->lineno);
    r->line[--n] = '\0';
    /* SEQ SP HASHHEX SP BASE64 */
    char *sp1 = strchr(r->line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    uint64_t seq;
    size_t len = 0;
    const char *end;
    if (!sp1 || !sp2) {
        return sk_err_set(err, "bad_leaves", "leaves line %" PRIu64 ": want SEQ HASH BASE64",
                          r->lineno);
    }
    *sp1 = *sp2 = '\0';
    if (s_parse_u64(r->line, UINT64_MAX, &seq) != 0 ||
        s_hexdec(sp1 + 1, (size_t)(sp2 - sp1 - 1), r->hash) != 0 ||
        sodium_base642bin(r->leaf, sizeof r->leaf, sp2 + 1, strlen(sp2 + 1), NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end != '\0')
        return sk_err_set(err, "bad_leaves", "leaves line %" PRIu64 ": want SEQ HASH BASE64",
                          r->lineno);
    e->leaf = r->leaf;
    e->len = len;
    e->stored_hash = r->hash;
    e->has_seq = true;
    e->seq = seq;
    return 1;
}

static char *s_slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int s_verify(int argc, char **argv)
{
    if (argc < 5)
        return s_usage();
    sk_err_t err;
    sk_checkpoint_verifier_t *key = sk_checkpoint_verifier_load(argv[2], &err);
    if (!key)
        return s_die(&err);
    enum { FILE_MAX = 64 << 20 };
    size_t nfiles = (size_t)argc - 4, nnotes = 0, cap = 0;
    char **bufs = calloc(nfiles, sizeof *bufs);
    sk_audit_note_t *notes = NULL;
    int rc = 0;
    for (size_t i = 0; i < nfiles && rc == 0; i++) {
        size_t len;
        bufs[i] = s_slurp(argv[4 + i], FILE_MAX, &len);
        if (!bufs[i]) {
            fprintf(stderr, "auditlog: %s: cannot read (or over 64 MiB)\n", argv[4 + i]);
            rc = 2;
            break;
        }
        for (size_t off = 0; off < len;) {
            size_t nl;
            if (sk_checkpoint_split(bufs[i] + off, len - off, &nl, &err) != 0) {
                fprintf(stderr, "auditlog: %s at byte %zu: %s\n", argv[4 + i], off, err.msg);
                rc = 2;
                break;
            }
            if (nnotes == cap) {
                cap = cap ? 2 * cap : 64;
                sk_audit_note_t *grown = realloc(notes, cap * sizeof *notes);
                if (!grown) {
                    rc = 2;
                    break;
                }
                notes = grown;
            }
            notes[nnotes].text = bufs[i] + off;
            notes[nnotes++].len = nl;
            off += nl;
        }
    }
    s_reader_t *r = rc == 0 ? calloc(1, sizeof *r) : NULL;
    if (rc == 0 && (!r || !(r->f = fopen(argv[3], "r")))) {
        fprintf(stderr, "auditlog: %s: cannot read\n", argv[3]);
        rc = 2;
    }
    if (rc == 0) {
        sk_audit_result_t res;
        if (sk_audit_verify(key, notes, nnotes, s_next, r, &res, &err) != 0) {
            rc = s_die(&err);
        } else if (strcmp(res.reason, "ok") == 0) {
            char hex[65];
            s_hex(res.root, 32, hex);
            printf("ok size=%" PRIu64 " root=%s checkpoints=%" PRIu64 "\n", res.size, hex,
                   res.checkpoints_verified);
        } else {
            printf("wrong reason=%s entry=%" PRId64 " checkpoint=%" PRId64 ": %s\n", res.reason,
                   res.entry, res.checkpoint, res.msg);
            rc = 1;
        }
    }
    if (r) {
        if (r->f)
            fclose(r->f);
        free(r->line);
        free(r);
    }
    for (size_t i = 0; i < nfiles; i++)
        free(bufs[i]);
    free(bufs);
    free(notes);
    sk_checkpoint_verifier_destroy(&key);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return s_usage();
    if (strcmp(argv[1], "keygen") == 0) {
        if (argc != 5)
            return s_usage();
        sk_err_t err;
        return sk_checkpoint_keygen(argv[2], argv[3], argv[4], &err) == 0 ? 0 : s_die(&err);
    }
    if (strcmp(argv[1], "write") == 0)
        return s_write(argc, argv);
    if (strcmp(argv[1], "verify") == 0)
        return s_verify(argc, argv);
    return s_usage();
}
