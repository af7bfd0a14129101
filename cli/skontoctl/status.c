/* status — `skontoctl status`: is the running system healthy?
 *
 * Shows what the workers and Redis say, read in one pipelined round trip:
 * each worker's heartbeat (sk:{sys}:hb, written every second: a heartbeat
 * older than S_STALE_MS means the worker is stuck or gone), the events
 * waiting for the discount workers (XLEN of the 16 streams, which holds an applied entry behind one
 * pending for under a second, docs/DATAFLOW.md step 6; XPENDING of the consumer group: delivered
 * but not yet applied), the dead letters (LLEN sk:{sys}:dlq), the events the discount workers
 * acknowledged without recording them (LLEN of the 16 sk:{sN}:unapplied), ingest's counters and the
 * sequence gaps per source seen on PUB feeds. Read-only. A worker serving /metrics
 * (SKONTO_METRICS_ADDR) says where in its heartbeat ("metrics": "host:port"); the table then has a
 * metrics column. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "keys.h"
#include "sk_redis.h"

#define VERB "status"
#define S_STALE_MS 5000

static const sk_cli_opt_t s_opts[] = {
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl status [--json]\n"
            "\n"
            "Shows whether the running system is healthy:\n"
            "  workers        each worker's last heartbeat (workers write one every second):\n"
            "                 name, role, pid, age, events processed, errors, where it\n"
            "                 serves /metrics and /healthz (SKONTO_METRICS_ADDR); a heartbeat\n"
            "                 older than 5 s is marked STALE (the worker is stuck or gone)\n"
            "  queue          events accepted by ingest that no discount worker has applied\n"
            "                 yet, and how many of those a worker has taken (is working on,\n"
            "                 or took before it died: another worker reclaims them); an\n"
            "                 event applied after one a worker took under a second ago\n"
            "                 may still count until that one is applied\n"
            "  dead letters   rejected events kept for inspection (skontoctl dlq list)\n"
            "  not recorded   accepted events a discount worker could not record (payment on\n"
            "                 a paid invoice, other currency, ...): skontoctl dlq list\n"
            "                 --unapplied\n"
            "  ingest         events accepted, duplicate and rejected since the start\n"
            "  sequence gaps  events missing from ERPs that publish (PUB feeds), per source\n"
            "\n"
            "options:\n"
            "  --json   print as JSON: {workers [{name, role, pid, age_s, processed, errors,\n"
            "           metrics (host:port or null), stale}], queue {waiting, pending},\n"
            "           dead_letters, unapplied,\n"
            "           ingest {counter: n},\n"
            "           gaps {source: n}}; waiting counts every event not yet applied\n"
            "           (as above), pending those of them a worker has taken\n"
            "\n"
            "Environment: SKONTO_REDIS_URL.\n");
}

typedef struct {
    char name[65];
    char role[33];
    char metrics[130]; /* "host:port" of its /metrics, "" if it serves none */
    long long pid, processed, errors;
    double age_s;
    bool stale, valid;
} s_worker_t;

typedef struct {
    s_worker_t *workers;
    size_t nworkers;
    long long waiting, pending, dead, unapplied;
    /* ingest's counters: sk:{sys}:ingest plus every sk:{sN}:ingest (each kept
     * in the script that decides what it counts) */
    long long accepted, duplicate, rejected;
    redisReply *gaps; /* HGETALL reply */
} s_status_t;

static long long s_int(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses one heartbeat {pid, role, at_ms, processed, errors}; a malformed one
 * is still listed (valid = false) so that a broken worker does not vanish. */
static void s_heartbeat(s_worker_t *w, const redisReply *name, const redisReply *val, int64_t now)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name->type == REDIS_REPLY_STRING ? name->str : "?");
    snprintf(w->role, sizeof w->role, "?");
    w->stale = true;
    if (val->type != REDIS_REPLY_STRING)
        return;
    json_error_t jerr;
    json_t *j = json_loadb(val->str, val->len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return;
    }
    json_t *at = json_object_get(j, "at_ms");
    if (json_is_integer(at)) {
        int64_t age = now - (int64_t)json_integer_value(at);
        w->age_s = age > 0 ? (double)age / 1000.0 : 0.0;
        w->stale = age > S_STALE_MS;
        w->valid = true;
    }
    json_t *role = json_object_get(j, "role");
    if (json_is_string(role))
        snprintf(w->role, sizeof w->role, "%s", json_string_value(role));
    w->pid = json_integer_value(json_object_get(j, "pid"));
    w->processed = json_integer_value(json_object_get(j, "processed"));
    w->errors = json_integer_value(json_object_get(j, "errors"));
    json_t *metrics = json_object_get(j, "metrics");
    const char *addr = json_is_string(metrics) ? json_string_value(metrics) : "";
    /* shown as is only when it looks like an address: printable, no spaces */
    bool plain = strlen(addr) < sizeof w->metrics;
    for (const char *p = addr; plain && *p; p++)
        plain = *p > ' ' && *p < 0x7f;
    snprintf(w->metrics, sizeof w->metrics, "%s", plain ? addr : "?");
    json_decref(j);
}

static int s_cmp_worker(const void *a, const void *b)
{
    return strcmp(((const s_worker_t *)a)->name, ((const s_worker_t *)b)->name);
}

/* Adds one ingest counter hash (field, value, ...) to the totals. */
static void s_add_counters(s_status_t *st, const redisReply *h)
{
    for (size_t k = 0; k + 1 < h->elements; k += 2) {
        const char *f = h->element[k]->type == REDIS_REPLY_STRING ? h->element[k]->str : "";
        long long v = s_int(h->element[k + 1]);
        if (!strcmp(f, "accepted"))
            st->accepted += v;
        else if (!strcmp(f, "duplicate"))
            st->duplicate += v;
        else if (!strcmp(f, "rejected"))
            st->rejected += v;
    }
}

static int s_load(redisContext *c, s_status_t *st)
{
    /* Replies, in order: HGETALL hb, LLEN dlq, HGETALL ingest, HGETALL gaps,
     * then XLEN, XPENDING, LLEN unapplied and HGETALL ingest of each shard. */
    const char *hb[2] = {"HGETALL", SK_KEY_HEARTBEATS};
    const char *dlq[2] = {"LLEN", SK_KEY_DEADLETTERS};
    const char *ing[2] = {"HGETALL", SK_KEY_INGEST_STATS};
    const char *gaps[2] = {"HGETALL", SK_KEY_GAPS};
    if (sk_cli_redis_append(VERB, c, 2, hb) || sk_cli_redis_append(VERB, c, 2, dlq) ||
        sk_cli_redis_append(VERB, c, 2, ing) || sk_cli_redis_append(VERB, c, 2, gaps))
        return SK_EXIT_FAIL;
    char key[SK_KEY_MAX];
    for (int s = 0; s < SK_SHARDS; s++) {
        const char *xl[2] = {"XLEN", sk_key_events(key, s)};
        const char *xp[3] = {"XPENDING", key, SK_GROUP_DISCOUNT};
        if (sk_cli_redis_append(VERB, c, 2, xl) || sk_cli_redis_append(VERB, c, 3, xp))
            return SK_EXIT_FAIL;
        char ukey[SK_KEY_MAX], ikey[SK_KEY_MAX];
        const char *ul[2] = {"LLEN", sk_key_unapplied(ukey, s)};
        const char *ig[2] = {"HGETALL", sk_key_ingest_stats(ikey, s)};
        if (sk_cli_redis_append(VERB, c, 2, ul) || sk_cli_redis_append(VERB, c, 2, ig))
            return SK_EXIT_FAIL;
    }
    int n = 4 + 4 * SK_SHARDS, rc = SK_EXIT_OK;
    int64_t now = s_now_ms();
    for (int i = 0; i < n; i++) {
        redisReply *r = sk_cli_redis_reply(VERB, c);
        if (!r)
            return SK_EXIT_FAIL;
        bool keep = false;
        if (rc != SK_EXIT_OK) {
            /* drain the rest */
        } else if (r->type == REDIS_REPLY_ERROR) {
            /* No consumer group yet = no discount worker ever started: nothing pending. */
            if (!(i >= 4 && (i - 4) % 4 == 1 && !strncmp(r->str, "NOGROUP", 7)))
                rc = sk_cli_fail(VERB, "Redis: %s", r->str);
        } else if (i == 0) {
            if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
                rc = sk_cli_fail(VERB, "Redis HGETALL %s: unexpected reply", SK_KEY_HEARTBEATS);
            } else if (r->elements) {
                st->workers = calloc(r->elements / 2, sizeof *st->workers);
                if (!st->workers)
                    rc = sk_cli_fail(VERB, "out of memory");
                for (size_t k = 0; st->workers && k + 1 < r->elements; k += 2)
                    s_heartbeat(&st->workers[st->nworkers++], r->element[k], r->element[k + 1],
                                now);
                if (st->workers)
                    qsort(st->workers, st->nworkers, sizeof *st->workers, s_cmp_worker);
            }
        } else if (i == 1) {
            st->dead = s_int(r);
        } else if (i == 2 || (i >= 4 && (i - 4) % 4 == 3)) {
            if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
                rc = sk_cli_fail(VERB, "Redis HGETALL: unexpected reply");
            else
                s_add_counters(st, r);
        } else if (i == 3) {
            if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
                rc = sk_cli_fail(VERB, "Redis HGETALL: unexpected reply");
            } else {
                st->gaps = r;
                keep = true;
            }
        } else if ((i - 4) % 4 == 0) {
            st->waiting += s_int(r);
        } else if ((i - 4) % 4 == 2) {
            st->unapplied += s_int(r);
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1) {
            /* XPENDING summary: [count, smallest id, greatest id, consumers] */
            st->pending += s_int(r->element[0]);
        }
        if (!keep)
            freeReplyObject(r);
    }
    return rc;
}

static json_t *s_json_hash(const redisReply *h)
{
    json_t *o = json_object();
    for (size_t k = 0; o && h && k + 1 < h->elements; k += 2)
        if (h->element[k]->type == REDIS_REPLY_STRING &&
            json_object_set_new(o, h->element[k]->str, json_integer(s_int(h->element[k + 1]))) <
                0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *s_json(const s_status_t *st)
{
    json_t *root = json_object(), *ws = json_array();
    if (!root || !ws) {
        json_decref(root);
        json_decref(ws);
        return NULL;
    }
    int bad = 0;
    for (size_t i = 0; i < st->nworkers; i++) {
        const s_worker_t *w = &st->workers[i];
        bad |= json_array_append_new(
            ws, json_pack("{s:s, s:s, s:I, s:o, s:I, s:I, s:o, s:b}", "name", w->name, "role",
                          w->role, "pid", (json_int_t)w->pid, "age_s",
                          w->valid ? json_real((double)(long long)(w->age_s * 10 + 0.5) / 10)
                                   : json_null(),
                          "processed", (json_int_t)w->processed, "errors", (json_int_t)w->errors,
                          "metrics", *w->metrics ? json_string(w->metrics) : json_null(),
                          "stale", w->stale));
    }
    bad |= json_object_set_new(root, "workers", ws);
    bad |= json_object_set_new(root, "queue",
                               json_pack("{s:I, s:I}", "waiting", (json_int_t)st->waiting,
                                         "pending", (json_int_t)st->pending));
    bad |= json_object_set_new(root, "dead_letters", json_integer(st->dead));
    bad |= json_object_set_new(root, "unapplied", json_integer(st->unapplied));
    bad |= json_object_set_new(root, "ingest",
                               json_pack("{s:I, s:I, s:I}", "accepted", (json_int_t)st->accepted,
                                         "duplicate", (json_int_t)st->duplicate, "rejected",
                                         (json_int_t)st->rejected));
    bad |= json_object_set_new(root, "gaps", s_json_hash(st->gaps));
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int s_print(const s_status_t *st)
{
    if (st->nworkers == 0) {
        printf("workers: none has reported a heartbeat (are skonto-ingest and skonto-discount "
               "running?)\n");
    } else {
        /* The metrics column only when some worker serves /metrics. */
        bool any_metrics = false;
        for (size_t i = 0; i < st->nworkers; i++)
            any_metrics |= st->workers[i].metrics[0] != '\0';
        static const char *const hd[] = {"worker", "role",    "pid",    "age",
                                         "processed", "errors", "metrics", "state"};
        static const char *const hd_plain[] = {"worker",    "role",   "pid",  "age",
                                               "processed", "errors", "state"};
        sk_cli_table_t *t = any_metrics ? sk_cli_table_new(8, hd, "llrrrrll")
                                        : sk_cli_table_new(7, hd_plain, "llrrrrl");
        if (!t)
            return sk_cli_fail(VERB, "out of memory");
        int bad = 0;
        for (size_t i = 0; i < st->nworkers; i++) {
            const s_worker_t *w = &st->workers[i];
            char pid[24], age[32], proc[24], err[24];
            snprintf(pid, sizeof pid, "%lld", w->pid);
            if (w->valid)
                snprintf(age, sizeof age, "%.1fs", w->age_s);
            else
                snprintf(age, sizeof age, "?");
            snprintf(proc, sizeof proc, "%lld", w->processed);
            snprintf(err, sizeof err, "%lld", w->errors);
            const char *state = w->valid ? (w->stale ? "STALE" : "ok") : "BAD HEARTBEAT";
            const char *row[] = {w->name, w->role, pid, age, proc, err,
                                 any_metrics ? (*w->metrics ? w->metrics : "-") : state, state};
            bad |= sk_cli_table_add(t, row);
        }
        if (!bad)
            sk_cli_table_print(t, stdout);
        sk_cli_table_destroy(&t);
        if (bad)
            return sk_cli_fail(VERB, "out of memory");
    }
    printf("\nqueue          %lld event%s not yet applied by a discount worker (%lld of them "
           "taken by one)\n",
           st->waiting, st->waiting == 1 ? "" : "s", st->pending);
    printf("dead letters   %lld%s\n", st->dead, st->dead ? "   (skontoctl dlq list)" : "");
    printf("not recorded   %lld%s\n", st->unapplied,
           st->unapplied ? "   (skontoctl dlq list --unapplied)" : "");
    printf("ingest         accepted %lld, duplicate %lld, rejected %lld\n", st->accepted,
           st->duplicate, st->rejected);
    if (!st->gaps || st->gaps->elements == 0) {
        printf("sequence gaps  none\n");
    } else {
        printf("sequence gaps ");
        for (size_t k = 0; k + 1 < st->gaps->elements; k += 2)
            printf("%s %s: %lld missing", k ? "," : "",
                   st->gaps->element[k]->type == REDIS_REPLY_STRING ? st->gaps->element[k]->str
                                                                    : "?",
                   s_int(st->gaps->element[k + 1]));
        printf("\n");
    }
    return SK_EXIT_OK;
}

int sk_cmd_status(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    bool json = false;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *value;
    int o;
    while ((o = sk_cli_scan_opt(&sc, "usage: skontoctl status [--json]", &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        json = true;
    }
    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    s_status_t st;
    memset(&st, 0, sizeof st);
    int rc = s_load(c, &st);
    redisFree(c);
    if (rc == SK_EXIT_OK) {
        rc = json ? sk_cli_json_print(VERB, s_json(&st)) : s_print(&st);
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    free(st.workers);
    if (st.gaps)
        freeReplyObject(st.gaps);
    return rc;
}
