/* skonto-bench-auditfill: writes an audit log of N entries into Redis the
 * way the audit worker stores it (docs/AUDIT.md section 8: sk:{audit}:log
 * entry i under stream id 0-(i+1), fields seq, h, e; sk:{audit}:cp fields
 * size, n), with a checkpoint signed
 * by SECRET every 100 entries, so that bench/audit.sh can time `skontoctl
 * audit verify` over a log of a million entries without driving a million
 * requests through the worker first. The entries are real AuditEvent
 * messages (override requests of about 200 bytes), pipelined 1,000 at a time.
 * Usage: skonto-bench-auditfill REDIS_SOCKET SECRET_KEY_FILE [N] */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "sk_checkpoint.h"
#include "sk_merkle.h"
#include "skonto/v1/skonto.pb-c.h"

enum { EVERY = 100, PIPE = 1000 };

/* Entry i's bytes into buf (room for 512): an OverrideRequested entry. */
static size_t s_entry(uint64_t i, uint8_t *buf)
{
    char oid[32], ovid[32], req[40], day[16];
    snprintf(oid, sizeof oid, "SO-%07" PRIu64, i % 1000000);
    snprintf(ovid, sizeof ovid, "OV-%" PRIu64, i + 1);
    snprintf(req, sizeof req, "req-%016" PRIx64, i * 2654435761u);
    snprintf(day, sizeof day, "2026-11-%02d", (int)(i % 28) + 1);
    Skonto__V1__OverrideChange ch = SKONTO__V1__OVERRIDE_CHANGE__INIT;
    ch.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND;
    ch.tier = 1;
    ch.new_last_day = day;
    Skonto__V1__OverrideRequested r = SKONTO__V1__OVERRIDE_REQUESTED__INIT;
    r.override_id = ovid;
    r.order_id = oid;
    r.old_value = "2026-11-12";
    r.new_value = day;
    r.reason = "customer's payment run was delayed by a bank holiday";
    r.requested_by = "sam.sales";
    r.requested_at_ms = 1764547200000 + (int64_t)i * 1000;
    r.request_id = req;
    r.invoice_revision = 3;
    r.change = &ch;
    r.effect = 1130 + (int64_t)(i % 500);
    r.currency = "CNY";
    r.requester_role = SKONTO__V1__ROLE__ROLE_SALES;
    r.expires_at_ms = r.requested_at_ms + 72LL * 3600 * 1000;
    Skonto__V1__AuditEvent e = SKONTO__V1__AUDIT_EVENT__INIT;
    e.seq = i;
    e.at_ms = r.requested_at_ms;
    e.actor = "sam.sales";
    e.role = SKONTO__V1__ROLE__ROLE_SALES;
    e.subject = oid;
    e.kind = SKONTO__V1__AUDIT_KIND__AUDIT_KIND_OVERRIDE_REQUESTED;
    e.body_case = SKONTO__V1__AUDIT_EVENT__BODY_REQUESTED;
    e.requested = &r;
    return skonto__v1__audit_event__pack(&e, buf);
}

static int s_drain(redisContext *c, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "skonto-bench-auditfill: XADD: %s\n",
                    r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: skonto-bench-auditfill REDIS_SOCKET SECRET_KEY_FILE [N]\n");
        return 2;
    }
    uint64_t n = argc == 4 ? strtoull(argv[3], NULL, 10) : 1000000;
    sk_err_t err;
    if (sodium_init() < 0)
        return 1;
    sk_checkpoint_signer_t *signer = sk_checkpoint_signer_load(argv[2], &err);
    if (!signer) {
        fprintf(stderr, "skonto-bench-auditfill: %s\n", err.msg);
        return 1;
    }
    redisContext *c = redisConnectUnix(argv[1]);
    if (!c || c->err) {
        fprintf(stderr, "skonto-bench-auditfill: Redis at %s: %s\n", argv[1],
                c ? c->errstr : "out of memory");
        return 1;
    }
    sk_merkle_t *tree = sk_merkle_new();
    uint8_t buf[512];
    int pending = 0, rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        size_t len = s_entry(i, buf);
        sk_hash_t lh;
        if (sk_merkle_append(tree, buf, len, lh, &err) != 0) {
            fprintf(stderr, "skonto-bench-auditfill: %s\n", err.msg);
            rc = 1;
            break;
        }
        char seq[24], id[32], hex[2 * SK_MERKLE_HASH_LEN + 1];
        snprintf(seq, sizeof seq, "%" PRIu64, i);
        snprintf(id, sizeof id, "0-%" PRIu64, i + 1); /* entry i's stream id, as append.lua */
        sodium_bin2hex(hex, sizeof hex, lh, SK_MERKLE_HASH_LEN);
        const char *a[9] = {"XADD", SK_KEY_AUDIT_LOG, id, "seq", seq, "h", hex, "e",
                            (const char *)buf};
        size_t al[9] = {4, strlen(SK_KEY_AUDIT_LOG), strlen(id), 3, strlen(seq), 1, strlen(hex),
                        1, len};
        redisAppendCommandArgv(c, 9, a, al);
        pending++;
        if ((i + 1) % EVERY == 0 || i + 1 == n) {
            sk_hash_t root;
            char note[SK_CHECKPOINT_MAX], size[24];
            size_t nl;
            sk_merkle_root(tree, root);
            if (sk_checkpoint_sign(signer, i + 1, root, 1764547200000 + (int64_t)i * 1000, note,
                                   sizeof note, &nl, &err) != 0) {
                fprintf(stderr, "skonto-bench-auditfill: %s\n", err.msg);
                rc = 1;
                break;
            }
            snprintf(size, sizeof size, "%" PRIu64, i + 1);
            const char *b[7] = {"XADD", SK_KEY_AUDIT_CHECKPOINTS, "*", "size", size, "n", note};
            size_t bl[7] = {4, strlen(SK_KEY_AUDIT_CHECKPOINTS), 1, 4, strlen(size), 1, nl};
            redisAppendCommandArgv(c, 7, b, bl);
            pending++;
        }
        if (pending >= PIPE) {
            rc = s_drain(c, pending) ? 1 : 0;
            pending = 0;
        }
    }
    if (rc == 0 && s_drain(c, pending) != 0)
        rc = 1;
    if (rc == 0)
        printf("wrote %" PRIu64 " entries and %" PRIu64 " checkpoints\n", n,
               (n + EVERY - 1) / EVERY);
    sk_merkle_destroy(&tree);
    sk_checkpoint_signer_destroy(&signer);
    redisFree(c);
    return rc;
}
