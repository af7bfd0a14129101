/* dlq — `skontoctl dlq list`: the dead letters, newest first.
 *
 * ingest LPUSHes one JSON object per rejected event onto sk:{sys}:dlq:
 * {at_ms, event_id, source, reason_code, message, payload_b64}. This verb
 * shows them; an entry that is not such an object is still shown (as raw
 * text), never skipped, so nothing rejected can hide. With --unapplied it
 * shows instead the events a discount worker acknowledged without recording
 * them, from the 16 lists sk:{sN}:unapplied ({at_ms, event_id, order_id,
 * kind, reason, payload_b64}), merged newest first. Read-only. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "date.h"
#include "event.h"
#include "keys.h"
#include "sk_redis.h"

#define VERB "dlq"
#define S_DEFAULT_LIMIT 50

static const sk_cli_opt_t s_opts[] = {
    {"limit", true, false},
    {"json", false, false},
    {"unapplied", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl dlq list [--unapplied] [--limit N] [--json]\n"
            "\n"
            "Lists the dead letters: events ingest rejected (a bad amount, invalid terms,\n"
            "a payment for an order Skonto does not know, ...), newest first, with when\n"
            "they arrived (UTC), the event id, the sending system, the reason code and the\n"
            "message that explains it. Rejected events never block the ones behind them;\n"
            "fix them in the ERP and send them again. (Lines that skontoctl send could not\n"
            "even turn into an event, such as broken JSON, are never sent: send reports\n"
            "them itself and they are not listed here.)\n"
            "\n"
            "options:\n"
            "  --unapplied list instead the events that were accepted but that a discount\n"
            "              worker could not record (a payment on a paid or cancelled\n"
            "              invoice, in another currency, above the balance, a payment whose\n"
            "              order never arrived, ...): money received that needs a person;\n"
            "              --json: {total, unapplied [{at, at_ms, event_id, order_id, kind,\n"
            "              reason, payload_b64}]}\n"
            "  --limit N   show at most N (default %d, at most 100000)\n"
            "  --json      print as JSON: {total, dead_letters [{at, at_ms, event_id,\n"
            "              source, reason_code, message, payload_b64, payload_bytes,\n"
            "              user (the sender's key, with CURVE), and for a frame over the\n"
            "              envelope limit payload_sha256 and payload_head_b64 (its\n"
            "              first 256 bytes) instead of payload_b64}]}\n"
            "\n"
            "Environment: SKONTO_REDIS_URL.\n",
            S_DEFAULT_LIMIT);
}

typedef struct {
    int64_t at_ms; /* -1 unknown */
    const char *event_id, *source, *reason_code, *message, *payload;
    json_t *j; /* owns the strings above (or NULL for a raw entry) */
} s_letter_t;

/* JSON field names of the five strings of s_letter_t, per list kind. */
static const char *const s_dlq_names[] = {"event_id", "source", "reason_code", "message",
                                          "payload_b64"};
static const char *const s_unapplied_names[] = {"event_id", "order_id", "kind", "reason",
                                                "payload_b64"};

static void s_parse(s_letter_t *l, const redisReply *r, const char *const *names)
{
    memset(l, 0, sizeof *l);
    l->at_ms = -1;
    l->event_id = l->source = l->reason_code = l->payload = "";
    l->message = r->type == REDIS_REPLY_STRING ? r->str : "";
    if (r->type != REDIS_REPLY_STRING)
        return;
    json_error_t jerr;
    json_t *j = json_loadb(r->str, r->len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        l->reason_code = "?";
        return; /* shown raw */
    }
    l->j = j;
    json_t *at = json_object_get(j, "at_ms");
    if (json_is_integer(at))
        l->at_ms = json_integer_value(at);
    const char **dst[] = {&l->event_id, &l->source, &l->reason_code, &l->message, &l->payload};
    for (size_t i = 0; i < 5; i++) {
        json_t *v = json_object_get(j, names[i]);
        *dst[i] = json_is_string(v) ? json_string_value(v) : "";
    }
}

/* "2026-11-02 08:15:03" (UTC) or "?" */
static char *s_time(int64_t at_ms, char *buf, size_t n)
{
    if (at_ms < 0)
        snprintf(buf, n, "?");
    else
        sk_time_format(at_ms, SK_TIME_TEXT, buf, n);
    return buf;
}

/* Replaces control characters so one dead letter stays one line. */
static char *s_one_line(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    buf[i] = '\0';
    return buf;
}

static int s_cmp_newest(const void *a, const void *b)
{
    int64_t x = ((const s_letter_t *)a)->at_ms, y = ((const s_letter_t *)b)->at_ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Reads the lists: the dead letters, or the 16 unapplied lists. lists[]
 * receives the LRANGE replies (caller frees), *total the sum of the LLENs. */
static int s_fetch(redisContext *c, bool unapplied, long limit, redisReply **lists,
                   int *nlists, long long *total)
{
    char stop[24], key[SK_KEY_MAX];
    snprintf(stop, sizeof stop, "%ld", limit - 1);
    int nk = unapplied ? SK_SHARDS : 1;
    for (int k = 0; k < nk; k++) {
        const char *name = unapplied ? sk_key_unapplied(key, k) : SK_KEY_DEADLETTERS;
        const char *a1[2] = {"LLEN", name};
        const char *a2[4] = {"LRANGE", name, "0", stop};
        if (sk_cli_redis_append(VERB, c, 2, a1) != SK_EXIT_OK ||
            sk_cli_redis_append(VERB, c, 4, a2) != SK_EXIT_OK)
            return SK_EXIT_FAIL;
    }
    int rc = SK_EXIT_OK;
    *total = 0;
    *nlists = 0;
    for (int k = 0; k < 2 * nk; k++) {
        redisReply *r = sk_cli_redis_reply(VERB, c);
        if (!r)
            return SK_EXIT_FAIL;
        if (rc != SK_EXIT_OK) {
            freeReplyObject(r); /* drain */
        } else if (r->type != (k % 2 ? REDIS_REPLY_ARRAY : REDIS_REPLY_INTEGER)) {
            rc = sk_cli_fail(VERB, "Redis %s: %s", unapplied ? "unapplied" : SK_KEY_DEADLETTERS,
                             r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
        } else if (k % 2) {
            lists[(*nlists)++] = r;
        } else {
            *total += r->integer;
            freeReplyObject(r);
        }
    }
    return rc;
}

int sk_cmd_dlq(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    bool json = false, unapplied = false;
    long limit = S_DEFAULT_LIMIT;
    const char *words[2] = {NULL, NULL}, *value;
    int nwords = 0, o;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (nwords == 1)
                return sk_cli_usage_error(VERB,
                                          "unexpected \"%s\" (usage: skontoctl dlq list "
                                          "[--unapplied] [--limit N] [--json])",
                                          value);
            words[nwords++] = value;
        } else if (!strcmp(s_opts[o].name, "limit")) {
            if (sk_cli_parse_int(value, 1, 100000, &limit) < 0)
                return sk_cli_opt_error(VERB, "limit", value,
                                        "want a whole number from 1 to 100000");
        } else if (!strcmp(s_opts[o].name, "unapplied")) {
            unapplied = true;
        } else {
            json = true;
        }
    }
    if (nwords == 0 || strcmp(words[0], "list"))
        return sk_cli_usage_error(VERB,
                                  "usage: skontoctl dlq list [--unapplied] [--limit N] [--json]%s",
                                  nwords ? "" : " (skontoctl dlq --help)");

    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    redisReply *lists[SK_SHARDS] = {NULL};
    int nlists = 0;
    long long total = 0;
    int rc = s_fetch(c, unapplied, limit, lists, &nlists, &total);
    redisFree(c);

    s_letter_t *ls = NULL;
    size_t n = 0, all = 0;
    for (int k = 0; k < nlists; k++)
        all += lists[k]->elements;
    if (rc == SK_EXIT_OK) {
        ls = calloc(all ? all : 1, sizeof *ls);
        if (!ls)
            rc = sk_cli_fail(VERB, "out of memory");
        for (int k = 0; ls && k < nlists; k++)
            for (size_t i = 0; i < lists[k]->elements; i++)
                s_parse(&ls[n++], lists[k]->element[i],
                        unapplied ? s_unapplied_names : s_dlq_names);
        if (ls && unapplied)
            qsort(ls, n, sizeof *ls, s_cmp_newest); /* merge the shards, newest first */
        if (n > (size_t)limit)
            n = (size_t)limit; /* the rest are still freed below: all */
    }
    const char *const *nm = unapplied ? s_unapplied_names : s_dlq_names;
    if (rc == SK_EXIT_OK && json) {
        json_t *root = json_object(), *arr = json_array();
        int bad = !root || !arr;
        for (size_t i = 0; !bad && i < n; i++) {
            char t[32];
            const s_letter_t *l = &ls[i];
            json_t *row = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s}", "at",
                                  l->at_ms >= 0 ? s_time(l->at_ms, t, sizeof t) : "", "at_ms",
                                  l->at_ms >= 0 ? json_integer(l->at_ms) : json_null(), nm[0],
                                  l->event_id, nm[1], l->source, nm[2], l->reason_code, nm[3],
                                  l->message, nm[4], l->payload);
            /* What a record may carry besides: the sender, and for a payload
             * over the envelope limit its size, SHA-256 and first bytes. */
            static const char *const extra[] = {"user", "payload_bytes", "payload_sha256",
                                                "payload_head_b64"};
            for (size_t k = 0; row && l->j && k < sizeof extra / sizeof extra[0]; k++) {
                json_t *v = json_object_get(l->j, extra[k]);
                if (v)
                    bad |= json_object_set(row, extra[k], v);
            }
            bad |= json_array_append_new(arr, row);
        }
        if (!bad) {
            bad |= json_object_set_new(root, "total", json_integer(total));
            bad |= json_object_set_new(root, unapplied ? "unapplied" : "dead_letters", arr);
            arr = NULL;
        }
        json_decref(arr);
        if (bad) {
            json_decref(root);
            root = NULL;
        }
        rc = sk_cli_json_print(VERB, root);
    } else if (rc == SK_EXIT_OK) {
        if (n == 0) {
            printf(unapplied ? "no unapplied events\n" : "no dead letters\n");
        } else {
            static const char *const hd[] = {"time (UTC)", "event", "source", "reason", "message"};
            static const char *const hu[] = {"time (UTC)", "event", "order", "kind", "reason"};
            sk_cli_table_t *t = sk_cli_table_new(5, unapplied ? hu : hd, "lllll");
            int bad = !t;
            for (size_t i = 0; !bad && i < n; i++) {
                /* ids as ingest stores them: sanitized, up to twice SK_EVENT_ID_MAX */
                char tm[32], msg[300], id[SK_EVENT_ID_MAX * 2 + 1], src[SK_EVENT_ID_MAX * 2 + 1],
                    code[40];
                const s_letter_t *l = &ls[i];
                const char *row[] = {s_time(l->at_ms, tm, sizeof tm),
                                     s_one_line(*l->event_id ? l->event_id : "-", id, sizeof id),
                                     s_one_line(*l->source ? l->source : "-", src, sizeof src),
                                     s_one_line(l->reason_code, code, sizeof code),
                                     s_one_line(l->message, msg, sizeof msg)};
                bad |= sk_cli_table_add(t, row);
            }
            if (!bad)
                sk_cli_table_print(t, stdout);
            sk_cli_table_destroy(&t);
            if (bad)
                rc = sk_cli_fail(VERB, "out of memory");
            else if ((long long)n < total)
                printf("(%zu newest of %lld; --limit N shows more)\n", n, total);
        }
    }
    if (rc == SK_EXIT_OK)
        rc = sk_cli_finish(VERB);
    for (size_t i = 0; ls && i < all; i++)
        json_decref(ls[i].j);
    free(ls);
    for (int k = 0; k < nlists; k++)
        freeReplyObject(lists[k]);
    return rc;
}
