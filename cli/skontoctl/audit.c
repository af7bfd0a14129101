/* audit — `skontoctl audit verify|tail|follow`: the auditor's tools.
 *
 * verify reads the log sk:{audit}:log (stream; fields seq, h, e: docs/AUDIT.md
 * section 8) in pages of S_PAGE with XRANGE, asking for page k+1 as soon as
 * page k has arrived so that Redis reads while this process hashes, and the
 * log's own checkpoints sk:{audit}:cp (field n), adds the checkpoints of
 * --checkpoints FILE (the auditor's own copies: the only proof of a
 * truncation or rollback) and hands everything to sk_audit_verify, which
 * names the first wrong entry. Memory: one page and the checkpoints.
 *
 * tail decodes the newest entries for a person (XREVRANGE). follow is the
 * live feed's subscriber (audit_follow.c).
 *
 * Everything here is read-only: it runs with skontoctl's (or an auditor's)
 * Redis user, which may only read sk:{audit}:*. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "audit_cli.h"
#include "cli.h"
#include "cli_audit.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "keys.h"
#include "sk_auditverify.h"
#include "sk_checkpoint.h"

#define VERB "audit"
#define S_PAGE 1000
#define S_LEAF_MAX (1u << 20) /* an entry's bytes at most */

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl audit verify [--pub KEY] [--checkpoints FILE]\n"
            "       skontoctl audit tail [-n N] [--json]\n"
            "       skontoctl audit follow [--from SEQ] [--checkpoints FILE] [--until-size N]\n"
            "                              [--count N] [--json] [--pub KEY] [options]\n"
            "       skontoctl audit reconcile [--json]   (its own --help)\n"
            "\n"
            "The audit log records every override request, decision, expiry and\n"
            "application, every schedule change the ERP made and every refused attempt,\n"
            "as a Merkle tree whose signed checkpoints prove it was not changed\n"
            "(docs/AUDIT.md). Anyone with the log's public key can check it.\n"
            "\n"
            "verify   reads the whole log and its checkpoints from Redis (read-only) and\n"
            "         checks every entry and signature. Prints\n"
            "           ok size=N root=HEX checkpoints=K            (exit 0)\n"
            "         or names the first wrong entry                (exit 1):\n"
            "           wrong reason=R entry=I checkpoint=C: message\n"
            "         R is leaf_hash (a changed byte), sequence (an entry deleted or moved),\n"
            "         root (history rewritten), truncated (entries cut: XTRIM, rollback),\n"
            "         bad_checkpoint or fork. Truncation and rollback are only provable with\n"
            "         checkpoints saved outside Redis: pass them with --checkpoints.\n"
            "  --pub KEY          the log's public key: its file, or the key text\n"
            "                     (default $SKONTO_AUDIT_PUBLIC_KEY)\n"
            "  --checkpoints FILE checkpoints you saved before (audit follow --checkpoints\n"
            "                     writes them), checked together with the log's own\n"
            "\n"
            "tail     the newest entries, oldest first, one a line: sequence number, time\n"
            "         (UTC), actor, role, kind, order, what happened (amounts in the\n"
            "         invoice's currency).\n"
            "  -n N               how many (default 20, at most 10000)\n"
            "  --json             an array of {seq, at, actor, role, kind, order_id, facts,\n"
            "                     refusal_code, override_id, effect, currency}\n"
            "\n"
            "follow   subscribes to the audit worker's live feed ($SKONTO_AUDIT_FEED_ENDPOINT,\n"
            "         CURVE, for keys of role auditor), first catching up from --from\n"
            "         (default 0) through the worker ($SKONTO_AUDIT_ENDPOINT), and prints every\n"
            "         entry once, in order, as tail does. It verifies as it goes (each leaf\n"
            "         hash, each checkpoint's signature and root) and stops with exit 1 at the\n"
            "         first wrong one.\n"
            "  --checkpoints FILE append every checkpoint seen to FILE (your own copy)\n"
            "  --until-size N     stop once N entries are verified (exit 0)\n"
            "  --count N          stop after printing N entries (exit 0)\n"
            "  --feed E           the feed's endpoint (default $SKONTO_AUDIT_FEED_ENDPOINT,\n"
            "                     else tcp://127.0.0.1:7771)\n"
            "  --rcvhwm N         the feed socket's receive high-water mark (default\n"
            "                     libzmq's 1000); what it drops is fetched again, so a low\n"
            "                     value only costs snapshots (tests set 1)\n");
    sk_cli_peer_help(out);
    fprintf(out, "\n"
                 "Examples:\n"
                 "  skontoctl audit verify --pub audit.pub --checkpoints saved.cp\n"
                 "  skontoctl audit tail -n 5\n"
                 "  skontoctl audit follow --checkpoints saved.cp\n"
                 "\n"
                 "Exit status: 0 ok, 1 a wrong entry or checkpoint, or Redis / the worker\n"
                 "unreachable, 2 invalid usage.\n"
                 "Environment: SKONTO_REDIS_URL, SKONTO_REDIS_USER, SKONTO_REDIS_PASSWORD_FILE,\n"
                 "SKONTO_AUDIT_PUBLIC_KEY, SKONTO_AUDIT_FEED_ENDPOINT, SKONTO_AUDIT_ENDPOINT,\n"
                 "SKONTO_AUDIT_SERVER_KEY, SKONTO_CURVE_KEY_FILE.\n");
}

/* ---- verify: the stream, page by page ------------------------------------------ */

typedef struct {
    redisContext *c;
    redisReply *page; /* the page being read */
    size_t idx;
    bool pending; /* the next page was asked for */
    bool failed;  /* a Redis error was said */
    uint64_t read;
    char last_id[64]; /* the stream id of the entry read last */
    sk_hash_t hash;
    uint8_t empty;
} s_log_t;

/* Asks for the page after stream id `after` ("-" for the first). */
static int s_ask_page(s_log_t *l, const char *after)
{
    char start[64];
    if (!strcmp(after, "-"))
        snprintf(start, sizeof start, "-");
    else
        snprintf(start, sizeof start, "(%.60s", after);
    char count[16];
    snprintf(count, sizeof count, "%d", S_PAGE);
    const char *argv[] = {"XRANGE", SK_KEY_AUDIT_LOG, start, "+", "COUNT", count};
    if (sk_cli_redis_append(VERB, l->c, 6, argv) != SK_EXIT_OK)
        return -1;
    l->pending = true;
    return 0;
}

/* Takes the page asked for, and asks for the one after it if it was full. */
static int s_take_page(s_log_t *l, sk_err_t *err)
{
    if (l->page)
        freeReplyObject(l->page);
    l->page = NULL;
    l->idx = 0;
    l->pending = false;
    redisReply *r = sk_cli_redis_reply(VERB, l->c);
    if (!r) {
        l->failed = true;
        return sk_err_set(err, "redis", "Redis failed");
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
        freeReplyObject(r);
        sk_cli_fail(VERB, "Redis XRANGE %s: %s", SK_KEY_AUDIT_LOG, msg);
        l->failed = true;
        return sk_err_set(err, "redis", "Redis failed");
    }
    l->page = r;
    if (r->elements == S_PAGE) {
        const redisReply *last = r->element[r->elements - 1];
        if (last->type != REDIS_REPLY_ARRAY || last->elements < 1 ||
            last->element[0]->type != REDIS_REPLY_STRING)
            return sk_err_set(err, "bad_log", "entry %" PRIu64 ": not a stream entry",
                              l->read + r->elements - 1);
        if (s_ask_page(l, last->element[0]->str) < 0) {
            l->failed = true;
            return sk_err_set(err, "redis", "Redis failed");
        }
    }
    return 0;
}

/* 64 lower-case hex digits (docs/AUDIT.md section 8) into 32 bytes; -1 for
 * anything else. */
static int s_hex32(const char *s, size_t n, uint8_t out[32])
{
    if (n != 64)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    size_t got = 0;
    return sodium_hex2bin(out, 32, s, n, NULL, &got, NULL) == 0 && got == 32 ? 0 : -1;
}

/* sk_audit_next_fn over the stream. A malformed field is not an error of
 * the verification: it makes the entry wrong (a missing or bad hash cannot
 * match, a bad sequence number is no sequence number). */
static int s_log_next(void *ctx, sk_audit_entry_t *e, sk_err_t *err)
{
    s_log_t *l = ctx;
    if (!l->page || l->idx == l->page->elements) {
        if (!l->pending)
            return 0;
        if (s_take_page(l, err) < 0)
            return -1;
        if (l->page->elements == 0)
            return 0;
    }
    const redisReply *ent = l->page->element[l->idx++];
    memset(e, 0, sizeof *e);
    l->last_id[0] = '\0';
    if (ent->type == REDIS_REPLY_ARRAY && ent->elements == 2 &&
        ent->element[0]->type == REDIS_REPLY_STRING)
        snprintf(l->last_id, sizeof l->last_id, "%.60s", ent->element[0]->str);
    e->leaf = &l->empty;
    memset(l->hash, 0, sizeof l->hash);
    e->stored_hash = l->hash;
    if (ent->type == REDIS_REPLY_ARRAY && ent->elements == 2 &&
        ent->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *f = ent->element[1];
        for (size_t i = 0; i + 1 < f->elements; i += 2) {
            const redisReply *k = f->element[i], *v = f->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            if (!strcmp(k->str, "e")) {
                if (v->len > S_LEAF_MAX)
                    return sk_err_set(err, "bad_log", "entry %" PRIu64 ": %zu bytes (at most %u)",
                                      l->read, (size_t)v->len, S_LEAF_MAX);
                e->leaf = (const uint8_t *)v->str;
                e->len = v->len;
            } else if (!strcmp(k->str, "h")) {
                if (s_hex32(v->str, v->len, l->hash) < 0)
                    memset(l->hash, 0, sizeof l->hash);
            } else if (!strcmp(k->str, "seq")) {
                long seq;
                if (sk_cli_parse_int(v->str, 0, INT64_MAX, &seq) == 0) {
                    e->has_seq = true;
                    e->seq = (uint64_t)seq;
                }
            }
        }
    }
    l->read++;
    return 1;
}

/* The log's own checkpoints (sk:{audit}:cp, field n), page by page. */
static int s_log_checkpoints(redisContext *c, sk_cli_notes_t *ns)
{
    char start[72] = "-", count[16];
    snprintf(count, sizeof count, "%d", S_PAGE);
    for (;;) {
        const char *argv[] = {"XRANGE", SK_KEY_AUDIT_CHECKPOINTS, start, "+", "COUNT", count};
        redisReply *r = sk_cli_redis_command(VERB, c, 6, argv);
        if (!r)
            return SK_EXIT_FAIL;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t i = 0; i < n; i++) {
            const redisReply *ent = r->element[i];
            if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2)
                continue;
            snprintf(start, sizeof start, "(%.60s", ent->element[0]->str);
            const redisReply *f = ent->element[1];
            for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
                if (f->element[j]->type == REDIS_REPLY_STRING && !strcmp(f->element[j]->str, "n") &&
                    f->element[j + 1]->type == REDIS_REPLY_STRING &&
                    sk_cli_notes_add(ns, f->element[j + 1]->str, f->element[j + 1]->len) < 0) {
                    freeReplyObject(r);
                    return sk_cli_fail(VERB, "out of memory");
                }
        }
        freeReplyObject(r);
        if (n < S_PAGE)
            return SK_EXIT_OK;
    }
}

static int s_verify(int argc, char **argv)
{
    static const sk_cli_opt_t opts[] = {
        {"pub", true, false}, {"checkpoints", true, true}, {NULL, false, false}};
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, "audit verify", opts, argc, argv);
    const char *value, *pub = NULL, *files[16];
    int nfiles = 0, o;
    while (
        (o = sk_cli_scan_opt(&sc, "usage: skontoctl audit verify [--pub KEY] [--checkpoints FILE]",
                             &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (!strcmp(opts[o].name, "pub"))
            pub = value;
        else if (nfiles < 16)
            files[nfiles++] = value;
        else
            return sk_cli_usage_error("audit verify", "at most 16 --checkpoints files");
    }
    int rc;
    sk_checkpoint_verifier_t *key = sk_cli_audit_pub("audit verify", pub, &rc);
    if (!key)
        return rc;
    sk_cli_notes_t ns = {0};
    rc = SK_EXIT_OK;
    for (int i = 0; i < nfiles && rc == SK_EXIT_OK; i++)
        rc = sk_cli_notes_read("audit verify", files[i], &ns);
    redisContext *c = rc == SK_EXIT_OK ? sk_cli_redis_connect("audit verify") : NULL;
    if (rc == SK_EXIT_OK && !c)
        rc = SK_EXIT_FAIL;
    if (rc == SK_EXIT_OK)
        rc = s_log_checkpoints(c, &ns);
    s_log_t l;
    memset(&l, 0, sizeof l);
    l.c = c;
    if (rc == SK_EXIT_OK && s_ask_page(&l, "-") < 0)
        rc = SK_EXIT_FAIL;
    if (rc == SK_EXIT_OK) {
        sk_audit_result_t res;
        sk_err_t err;
        sk_err_clear(&err);
        if (sk_audit_verify(key, ns.notes, ns.n, s_log_next, &l, &res, &err) != 0) {
            rc = l.failed ? SK_EXIT_FAIL : sk_cli_fail("audit verify", "%s", err.msg);
        } else {
            /* a finding at the entry read last: say where it is in the stream */
            if (res.entry >= 0 && (uint64_t)res.entry + 1 == l.read && l.last_id[0] &&
                (!strcmp(res.reason, "leaf_hash") || !strcmp(res.reason, "sequence"))) {
                size_t n = strlen(res.msg);
                snprintf(res.msg + n, sizeof res.msg - n, " (stream id %s of %s)", l.last_id,
                         SK_KEY_AUDIT_LOG);
            }
            sk_cli_verdict_print(&res);
            rc = strcmp(res.reason, "ok") ? SK_EXIT_FAIL : SK_EXIT_OK;
            if (sk_cli_finish("audit verify") != SK_EXIT_OK)
                rc = SK_EXIT_FAIL;
        }
    }
    if (l.page)
        freeReplyObject(l.page);
    if (c)
        redisFree(c);
    sk_cli_notes_free(&ns);
    sk_checkpoint_verifier_destroy(&key);
    return rc;
}

/* ---- tail -------------------------------------------------------------------- */

/* Decodes one stream entry's seq and e; *ev NULL when e does not decode. */
static void s_entry_decode(const redisReply *ent, uint64_t *seq, Skonto__V1__AuditEvent **ev)
{
    *seq = 0;
    *ev = NULL;
    if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
        ent->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *f = ent->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        long s;
        if (!strcmp(k->str, "seq") && sk_cli_parse_int(v->str, 0, INT64_MAX, &s) == 0)
            *seq = (uint64_t)s;
        if (!strcmp(k->str, "e") && v->len <= S_LEAF_MAX)
            *ev = skonto__v1__audit_event__unpack(NULL, v->len, (const uint8_t *)v->str);
    }
}

static int s_tail(int argc, char **argv)
{
    static const sk_cli_opt_t opts[] = {
        {"n", true, false}, {"json", false, false}, {NULL, false, false}};
    /* -n N is spelled with one dash: take it as --n */
    char *args[64];
    if (argc > 64)
        return sk_cli_usage_error("audit tail", "too many arguments");
    for (int i = 0; i < argc; i++)
        args[i] = !strcmp(argv[i], "-n") ? "--n" : argv[i];
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, "audit tail", opts, argc, args);
    const char *value;
    long n = 20;
    bool json = false;
    int o;
    while ((o = sk_cli_scan_opt(&sc, "usage: skontoctl audit tail [-n N] [--json]", &value)) !=
           SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (!strcmp(opts[o].name, "n")) {
            if (sk_cli_parse_int(value, 1, 10000, &n) < 0)
                return sk_cli_opt_error("audit tail", "n", value, "want a number from 1 to 10000");
        } else {
            json = true;
        }
    }
    redisContext *c = sk_cli_redis_connect("audit tail");
    if (!c)
        return SK_EXIT_FAIL;
    char count[16];
    snprintf(count, sizeof count, "%ld", n);
    const char *cmd[] = {"XREVRANGE", SK_KEY_AUDIT_LOG, "+", "-", "COUNT", count};
    redisReply *r = sk_cli_redis_command("audit tail", c, 6, cmd);
    redisFree(c);
    if (!r)
        return SK_EXIT_FAIL;
    json_t *arr = json ? json_array() : NULL;
    int bad = json && !arr;
    if (!json && r->elements)
        printf("%-6s %-20s  %-12s %-16s %-16s %-10s %s\n", "SEQ", "TIME", "ACTOR", "ROLE", "KIND",
               "ORDER", "WHAT");
    for (size_t i = r->elements; i-- > 0;) {
        uint64_t seq;
        Skonto__V1__AuditEvent *ev;
        s_entry_decode(r->element[i], &seq, &ev);
        if (json) {
            json_t *e = sk_cli_event_json(seq, ev);
            if (!e || json_array_append_new(arr, e) < 0)
                bad = 1;
        } else {
            sk_cli_event_print(stdout, seq, ev);
        }
        if (ev)
            skonto__v1__audit_event__free_unpacked(ev, NULL);
    }
    if (!json && !r->elements)
        printf("the audit log is empty\n");
    freeReplyObject(r);
    if (json) {
        if (bad) {
            json_decref(arr);
            arr = NULL;
        }
        return sk_cli_json_print("audit tail", arr);
    }
    return sk_cli_finish("audit tail");
}

int sk_cmd_audit(int argc, char **argv)
{
    if (argc < 2 || sk_cli_wants_help(argc, argv)) {
        s_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? SK_EXIT_USAGE : SK_EXIT_OK;
    }
    if (!strcmp(argv[1], "verify"))
        return s_verify(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tail"))
        return s_tail(argc - 1, argv + 1);
    if (!strcmp(argv[1], "follow"))
        return sk_cli_audit_follow(argc - 1, argv + 1);
    return sk_cli_usage_error(VERB,
                              "unknown \"%s\" (want verify, tail or follow; skontoctl "
                              "audit --help)",
                              argv[1]);
}
