/* dlq — `skontoctl dlq list`: the dead letters, newest first.
 *
 * ingest LPUSHes one JSON object per rejected event onto sk:{sys}:dlq:
 * {at_ms, event_id, source, reason_code, message, payload_b64}. This verb
 * shows them; an entry that is not such an object is still shown (as raw
 * text), never skipped, so nothing rejected can hide. Read-only. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "keys.h"
#include "sk_redis.h"

#define VERB "dlq"
#define S_DEFAULT_LIMIT 50

static const sk_cli_opt_t s_opts[] = {
    {"limit", true, false},
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl dlq list [--limit N] [--json]\n"
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
            "  --limit N   show at most N (default %d, at most 100000)\n"
            "  --json      print as JSON: {total, dead_letters [{at, at_ms, event_id,\n"
            "              source, reason_code, message, payload_b64}]}\n"
            "\n"
            "Environment: SKONTO_REDIS_URL.\n",
            S_DEFAULT_LIMIT);
}

typedef struct {
    int64_t at_ms; /* -1 unknown */
    const char *event_id, *source, *reason_code, *message, *payload;
    json_t *j; /* owns the strings above (or NULL for a raw entry) */
} s_letter_t;

static void s_parse(s_letter_t *l, const redisReply *r)
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
    const char *names[] = {"event_id", "source", "reason_code", "message", "payload_b64"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *v = json_object_get(j, names[i]);
        *dst[i] = json_is_string(v) ? json_string_value(v) : "";
    }
}

/* "2026-11-02 08:15:03" (UTC) or "?" */
static char *s_time(int64_t at_ms, char *buf, size_t n)
{
    struct tm tm;
    time_t t = (time_t)(at_ms / 1000);
    if (at_ms < 0 || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, n, "?");
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

int sk_cmd_dlq(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    bool json = false;
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
                                          "[--limit N] [--json])",
                                          value);
            words[nwords++] = value;
        } else if (!strcmp(s_opts[o].name, "limit")) {
            if (sk_cli_parse_int(value, 1, 100000, &limit) < 0)
                return sk_cli_opt_error(VERB, "limit", value,
                                        "want a whole number from 1 to 100000");
        } else {
            json = true;
        }
    }
    if (nwords == 0 || strcmp(words[0], "list"))
        return sk_cli_usage_error(VERB, "usage: skontoctl dlq list [--limit N] [--json]%s",
                                  nwords ? "" : " (skontoctl dlq --help)");

    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    char stop[24];
    snprintf(stop, sizeof stop, "%ld", limit - 1);
    const char *a1[2] = {"LLEN", SK_KEY_DEADLETTERS};
    const char *a2[4] = {"LRANGE", SK_KEY_DEADLETTERS, "0", stop};
    redisReply *total = NULL, *list = NULL;
    int rc = SK_EXIT_OK;
    if (sk_cli_redis_append(VERB, c, 2, a1) != SK_EXIT_OK ||
        sk_cli_redis_append(VERB, c, 4, a2) != SK_EXIT_OK ||
        !(total = sk_cli_redis_reply(VERB, c)) || !(list = sk_cli_redis_reply(VERB, c)))
        rc = SK_EXIT_FAIL;
    else if (total->type != REDIS_REPLY_INTEGER || list->type != REDIS_REPLY_ARRAY)
        rc = sk_cli_fail(VERB, "Redis %s: %s", SK_KEY_DEADLETTERS,
                         total->type == REDIS_REPLY_ERROR  ? total->str
                         : list->type == REDIS_REPLY_ERROR ? list->str
                                                           : "unexpected reply");
    redisFree(c);

    s_letter_t *ls = NULL;
    size_t n = 0;
    if (rc == SK_EXIT_OK) {
        ls = calloc(list->elements ? list->elements : 1, sizeof *ls);
        if (!ls)
            rc = sk_cli_fail(VERB, "out of memory");
        for (size_t i = 0; ls && i < list->elements; i++)
            s_parse(&ls[n++], list->element[i]);
    }
    if (rc == SK_EXIT_OK && json) {
        json_t *root = json_object(), *arr = json_array();
        int bad = !root || !arr;
        for (size_t i = 0; !bad && i < n; i++) {
            char t[32];
            const s_letter_t *l = &ls[i];
            bad |= json_array_append_new(
                arr, json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s}", "at",
                               l->at_ms >= 0 ? s_time(l->at_ms, t, sizeof t) : "", "at_ms",
                               l->at_ms >= 0 ? json_integer(l->at_ms) : json_null(), "event_id",
                               l->event_id, "source", l->source, "reason_code", l->reason_code,
                               "message", l->message, "payload_b64", l->payload));
        }
        if (!bad) {
            bad |= json_object_set_new(root, "total", json_integer(total->integer));
            bad |= json_object_set_new(root, "dead_letters", arr);
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
            printf("no dead letters\n");
        } else {
            static const char *const hd[] = {"time (UTC)", "event", "source", "reason", "message"};
            sk_cli_table_t *t = sk_cli_table_new(5, hd, "lllll");
            int bad = !t;
            for (size_t i = 0; !bad && i < n; i++) {
                char tm[32], msg[300], id[80], src[80], code[40];
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
            else if ((long long)n < total->integer)
                printf("(%zu newest of %lld; --limit N shows more)\n", n, total->integer);
        }
    }
    if (rc == SK_EXIT_OK)
        rc = sk_cli_finish(VERB);
    for (size_t i = 0; i < n; i++)
        json_decref(ls[i].j);
    free(ls);
    if (total)
        freeReplyObject(total);
    if (list)
        freeReplyObject(list);
    return rc;
}
