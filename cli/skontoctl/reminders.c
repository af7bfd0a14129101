/* reminders — `skontoctl reminders list|sent`: what the reminder worker will
 * send and when, and what it has sent (issue 8, docs/REMINDERS.md).
 *
 * list reads the due queues sk:{sN}:rdue (key -> due instant, clock ms) and
 * the processing sets sk:{sN}:rproc (key -> lease expiry: claimed by a
 * worker, being sent now). Each member is a reminder or statement key
 * (sk_remind_key_parse); a reminder's customer is its invoice's
 * (sk:{sN}:inv:<oid>, which also gives the tier's discount), a statement's is
 * in its key. Instants are shown in UTC and in the customer's zone (`tz` of
 * the customer hash, else SKONTO_DEFAULT_TZ), with the Message-ID derived from
 * the key (SKONTO_MAIL_DOMAIN). With --customer only the customer's shard is
 * read, page by page in due order, keeping its statement and the reminders of
 * its open invoices (sk:{sN}:copen:<cid>: the discount worker keeps no
 * reminder for a closed one).
 *
 * sent reads the sent records (sk:{sN}:rsent, key -> JSON), per customer in
 * the order of sk:{sN}:rlog:<cid> (newest first); --order finds the customer
 * through the order index and keeps the order's reminders and the statements
 * that named it. Without either, every shard's records are scanned and the
 * newest kept. A record that is not a JSON object is shown raw, never hidden.
 *
 * Invariants: read-only (skontoctl's Redis user); output bounded by --limit;
 * at most S_PAGE members or records per round trip. */
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
#include "invoice_store.h"
#include "keys.h"
#include "money.h"
#include "sk_clock.h"
#include "sk_grow.h"
#include "sk_redis.h"
#include "sk_remind.h"
#include "sk_tz.h"

#define VERB "reminders"
#define S_DEFAULT_LIMIT 50
#define S_MAX_LIMIT 10000
#define S_PAGE 1000    /* members or records per round trip */
#define S_LOCAL_MAX 64 /* a local time with its offset, with room to spare */

static const sk_cli_opt_t s_opts[] = {
    {"customer", true, false}, {"order", true, false}, {"due-before", true, false},
    {"limit", true, false},    {"json", false, false}, {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl reminders list [--customer ID] [--due-before INSTANT] [--limit N] "
            "[--json]\n"
            "       skontoctl reminders sent [--customer ID] [--order ID] [--limit N] [--json]\n"
            "\n"
            "Before each discount window of an open invoice closes, Skonto mails the\n"
            "customer a reminder (by default 3 days and 1 day before the window's last\n"
            "day, at 09:00 in the customer's time zone), and on the customer's cadence\n"
            "a statement of every open window. These verbs show that mail.\n"
            "\n"
            "list: what is waiting to be sent, soonest first (each open invoice's next\n"
            "reminder: the one after it is queued when it goes out): when it is due in UTC and in\n"
            "the customer's local time (with the zone), the customer, for a reminder the\n"
            "order, its window (tier 1 = the first window to close; its rate, last day and\n"
            "what paying in it saves) and how many days before the last day it goes out,\n"
            "and the Message-ID the mail will carry. \"in process\" means a reminder\n"
            "worker has claimed it and is sending it now. (The worker checks the invoice\n"
            "again before sending: a reminder for an invoice paid in the meantime is\n"
            "dropped, not sent.)\n"
            "  --customer ID          only this customer's reminders and statement\n"
            "  --due-before INSTANT   only what is due before INSTANT (2026-11-09T09:00:00Z,\n"
            "                         or a date: its midnight UTC); what is in process\n"
            "                         counts as due now\n"
            "  --json    {now, now_ms, total, due [{kind (reminder|statement), state\n"
            "            (queued|in_process), key, order_id, customer_id, tier, last_day,\n"
            "            remind_on (the local day it goes out), lead_days, rate, discount,\n"
            "            currency, due_ms (null while in process), due_utc, due_local,\n"
            "            closes_ms (the window's end, local), message_id, timezone,\n"
            "            lease_expires_ms (in process), note (\"no stored invoice\")}]};\n"
            "            a statement has key, customer_id, due_ms, message_id, timezone\n"
            "            and kind; amounts are decimal strings in the invoice's currency,\n"
            "            instants ms since the epoch, tier the index into the invoice's\n"
            "            tiers (0 = the first window; the table counts from 1)\n"
            "\n"
            "sent: what was sent, newest first, so a question like \"did anybody tell us?\"\n"
            "has an answer: when (the customer's local time, and UTC), to which address,\n"
            "the Message-ID (find the mail in the customer's mailbox by it), and each\n"
            "window the mail named with the amount to pay and the discount.\n"
            "  --customer ID   only mail to this customer\n"
            "  --order ID      only mail about this order: its reminders and the\n"
            "                  statements that listed it\n"
            "  --json    {total, sent [the stored record: key, kind, customer_id, order_id,\n"
            "            to, message_id, sent_ms, scheduled_ms, outcome (sent, or\n"
            "            ambiguous_resent: sent again after a failure that may have\n"
            "            delivered it; same Message-ID), attempts, windows [{order_id, tier,\n"
            "            last_day, rate_ppm, discount, payable, currency}]; and timezone,\n"
            "            sent_utc, sent_local}]; a record that cannot be read: {key, raw}\n"
            "\n"
            "both:\n"
            "  --limit N   show at most N (default %d, at most %d); the total is printed\n"
            "\n"
            "Times of the queue are the stack's clock (SKONTO_CLOCK: simulated time with\n"
            "redis). Local times use the customer's zone as it is now.\n"
            "Environment: SKONTO_REDIS_URL, SKONTO_CLOCK, SKONTO_DEFAULT_TZ,\n"
            "SKONTO_MAIL_DOMAIN (and the other SKONTO_REMINDER_* settings, checked).\n",
            S_DEFAULT_LIMIT, S_MAX_LIMIT);
}

/* ---- small helpers --------------------------------------------------------- */

/* A score or an integer string of Redis as ms; false if it is not one. */
static bool s_ms(const redisReply *r, int64_t *out)
{
    if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 24)
        return false;
    char *end;
    long long v = strtoll(r->str, &end, 10);
    if (*end == '\0') {
        *out = v;
        return true;
    }
    double d = strtod(r->str, &end); /* a score Redis wrote as a double */
    if (*end != '\0' || !(d > -9e15 && d < 9e15))
        return false;
    *out = (int64_t)d;
    return true;
}

/* ms in the zone tz: "2026-03-06 09:00 -05:00" (text) or
 * "2026-03-06T09:00:00-05:00" (iso). */
static char *s_local(const sk_tz_t *tz, int64_t ms, bool iso, char *buf, size_t n)
{
    int off = sk_tz_offset_s(tz, ms);
    char t[SK_TIME_MAX];
    sk_time_format(ms + (int64_t)off * 1000, iso ? SK_TIME_ISO : SK_TIME_TEXT, t, sizeof t);
    int a = off < 0 ? -off : off; /* zones are within 26 h of UTC: two digits */
    if (iso)
        t[strlen(t) - 1] = '\0'; /* the Z */
    else
        t[16] = '\0'; /* "YYYY-MM-DD HH:MM" */
    snprintf(buf, n, "%s%s%c%02d:%02d", t, iso ? "" : " ", off < 0 ? '-' : '+', a / 3600 % 100,
             a / 60 % 60);
    return buf;
}

static char *s_utc(int64_t ms, bool iso, char *buf, size_t n)
{
    return sk_time_format(ms, iso ? SK_TIME_ISO : SK_TIME_TEXT, buf, n);
}

/* A JSON string, or null for NULL or bytes that are not UTF-8 (jansson
 * refuses those; ids and keys are checked by ingest, a damaged one shows). */
static json_t *s_jstr(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

/* One line of untrusted text: control characters become spaces. */
static char *s_one_line(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < n; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    buf[i] = '\0';
    return buf;
}

/* ---- the customers' zones ---------------------------------------------------- */

typedef struct {
    const char *customer_id; /* points into a row, or NULL: none known */
    const sk_tz_t *tz;
    char stored[SK_TZ_ID_MAX + 1]; /* the customer hash's tz as stored, "" = default */
} s_zone_t;

typedef struct {
    s_zone_t *z;
    size_t n, cap;
} s_zones_t;

static s_zone_t *s_zone_find(s_zones_t *zs, const char *cid)
{
    for (size_t i = 0; i < zs->n; i++)
        if (zs->z[i].customer_id && !strcmp(zs->z[i].customer_id, cid))
            return &zs->z[i];
    return NULL;
}

static int s_zone_want(s_zones_t *zs, const char *cid)
{
    if (!cid || !*cid || s_zone_find(zs, cid))
        return 0;
    void *grown = sk_grow(zs->z, zs->n, &zs->cap, sizeof *zs->z, 64);
    if (!grown)
        return -1;
    zs->z = grown;
    zs->z[zs->n++] = (s_zone_t){cid, NULL, ""};
    return 0;
}

/* Reads every wanted customer's tz (pipelined HGETs) and finds the zones. A
 * stored zone the tz database does not know (ingest refuses those) is said
 * on stderr and the default used. */
static int s_zones_load(redisContext *c, s_zones_t *zs, const sk_remind_settings_t *st)
{
    for (size_t base = 0; base < zs->n; base += S_PAGE) {
        size_t end = base + S_PAGE < zs->n ? base + S_PAGE : zs->n;
        for (size_t i = base; i < end; i++) {
            char key[SK_KEY_MAX];
            const char *av[3] = {
                "HGET",
                sk_key_customer(key, sk_shard_of(zs->z[i].customer_id), zs->z[i].customer_id),
                "tz"};
            if (sk_cli_redis_append(VERB, c, 3, av) != SK_EXIT_OK)
                return SK_EXIT_FAIL;
        }
        for (size_t i = base; i < end; i++) {
            redisReply *r = sk_cli_redis_reply(VERB, c);
            if (!r)
                return SK_EXIT_FAIL;
            s_zone_t *z = &zs->z[i];
            if (r->type == REDIS_REPLY_STRING && r->len <= SK_TZ_ID_MAX)
                memcpy(z->stored, r->str, r->len + 1);
            freeReplyObject(r);
            sk_err_t err;
            z->tz = sk_remind_zone(st, z->stored, &err);
            if (!z->tz) {
                char b[80];
                fprintf(stderr, "skontoctl reminders: customer %s: %s; times shown in %s\n",
                        sk_cli_shorten(z->customer_id, b, sizeof b), err.msg,
                        sk_tz_id(st->default_tz));
                z->tz = st->default_tz;
            }
        }
    }
    return SK_EXIT_OK;
}

static const sk_tz_t *s_zone_of(s_zones_t *zs, const char *cid, const sk_remind_settings_t *st)
{
    s_zone_t *z = cid ? s_zone_find(zs, cid) : NULL;
    return z && z->tz ? z->tz : st->default_tz;
}

/* ---- list: the due queue ------------------------------------------------------ */

typedef struct {
    char *key; /* owned */
    bool parsed;
    sk_remind_key_parts_t parts; /* into key */
    bool in_process;
    int64_t score; /* due ms (queued) or lease expiry ms (in process) */
    int shard;
    /* from the invoice, for a reminder */
    bool have_invoice;
    char customer_id[SK_ID_MAX + 1];
    const sk_currency_t *currency;
    int32_t rate_ppm;
    int64_t discount;
} s_due_t;

typedef struct {
    s_due_t *d;
    size_t n, cap;
} s_dues_t;

static int s_due_add(s_dues_t *ds, const redisReply *member, const redisReply *score,
                     bool in_process, int shard)
{
    int64_t ms;
    if (member->type != REDIS_REPLY_STRING || !s_ms(score, &ms))
        return sk_cli_fail(VERB, "Redis ZRANGE: unexpected reply");
    void *grown = sk_grow(ds->d, ds->n, &ds->cap, sizeof *ds->d, 64);
    if (!grown)
        return sk_cli_fail(VERB, "out of memory");
    ds->d = grown;
    s_due_t *d = &ds->d[ds->n];
    memset(d, 0, sizeof *d);
    d->key = strndup(member->str, member->len);
    if (!d->key)
        return sk_cli_fail(VERB, "out of memory");
    ds->n++;
    /* A member that is not a key (too long, damaged) is still listed, as "?". */
    d->parsed = member->len < SK_REMIND_KEY_MAX && strlen(d->key) == member->len &&
                sk_remind_key_parse(d->key, &d->parts) == 0;
    d->in_process = in_process;
    d->score = ms;
    d->shard = shard;
    if (d->parsed && d->parts.kind == SK_REMIND_KIND_STATEMENT)
        snprintf(d->customer_id, sizeof d->customer_id, "%s", d->parts.id);
    return SK_EXIT_OK;
}

static void s_dues_free(s_dues_t *ds)
{
    for (size_t i = 0; i < ds->n; i++)
        free(ds->d[i].key);
    free(ds->d);
}

/* In process first (being sent now), then by due instant, then by key. */
static int s_cmp_due(const void *a, const void *b)
{
    const s_due_t *x = a, *y = b;
    if (x->in_process != y->in_process)
        return x->in_process ? -1 : 1;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return strcmp(x->key, y->key);
}

typedef struct {
    const char *customer_id; /* NULL: every customer */
    int64_t due_before;      /* exclusive; INT64_MAX: no bound */
    bool with_proc;          /* list what is in process (it is due now) */
    long limit;
    /* the customer's open orders (copen) and its statement key, --customer */
    redisReply *copen;
} s_list_q_t;

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* With --customer: is this member the customer's? */
static bool s_mine(const s_list_q_t *q, const redisReply *m, const char **sorted, size_t nsorted)
{
    if (m->type != REDIS_REPLY_STRING || m->len >= SK_REMIND_KEY_MAX || strlen(m->str) != m->len)
        return false;
    sk_remind_key_parts_t p;
    if (sk_remind_key_parse(m->str, &p) != 0)
        return false;
    if (p.kind == SK_REMIND_KIND_STATEMENT)
        return !strcmp(p.id, q->customer_id);
    return bsearch(&p.id, sorted, nsorted, sizeof *sorted, s_cmp_str) != NULL;
}

/* --customer: pages through the shard's set by rank (in score order), keeping
 * the customer's members; queued ones stop at due_before. */
static int s_scan_customer(redisContext *c, const s_list_q_t *q, const char *set, bool in_process,
                           int shard, s_dues_t *ds, long long *total)
{
    size_t nsorted = q->copen->elements;
    const char **sorted = calloc(nsorted ? nsorted : 1, sizeof *sorted);
    if (!sorted)
        return sk_cli_fail(VERB, "out of memory");
    for (size_t i = 0; i < nsorted; i++)
        sorted[i] =
            q->copen->element[i]->type == REDIS_REPLY_STRING ? q->copen->element[i]->str : "";
    qsort(sorted, nsorted, sizeof *sorted, s_cmp_str);
    int rc = SK_EXIT_OK;
    long kept = 0;
    for (long long start = 0; rc == SK_EXIT_OK; start += S_PAGE) {
        char a[24], b[24];
        snprintf(a, sizeof a, "%lld", start);
        snprintf(b, sizeof b, "%lld", start + S_PAGE - 1);
        const char *av[5] = {"ZRANGE", set, a, b, "WITHSCORES"};
        redisReply *r = sk_cli_redis_command(VERB, c, 5, av);
        if (!r) {
            rc = SK_EXIT_FAIL;
            break;
        }
        bool done = r->type != REDIS_REPLY_ARRAY || r->elements < 2 * S_PAGE;
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
            int64_t ms;
            if (!in_process && s_ms(r->element[i + 1], &ms) && ms >= q->due_before) {
                done = true;
                break;
            }
            if (!s_mine(q, r->element[i], sorted, nsorted))
                continue;
            (*total)++;
            if (kept < q->limit) {
                kept++;
                rc = s_due_add(ds, r->element[i], r->element[i + 1], in_process, shard);
                if (rc != SK_EXIT_OK)
                    break;
            }
        }
        freeReplyObject(r);
        if (done)
            break;
    }
    free(sorted);
    return rc;
}

/* Every customer: per shard the first `limit` queued members due before the
 * bound and the first `limit` in process, with their counts, pipelined. */
static int s_fetch_all(redisContext *c, const s_list_q_t *q, s_dues_t *ds, long long *total)
{
    char max[32], lim[24];
    if (q->due_before == INT64_MAX)
        snprintf(max, sizeof max, "+inf");
    else
        snprintf(max, sizeof max, "(%lld", (long long)q->due_before);
    snprintf(lim, sizeof lim, "%ld", q->limit);
    char stop[24];
    snprintf(stop, sizeof stop, "%ld", q->limit - 1);
    for (int s = 0; s < SK_SHARDS; s++) {
        char due[SK_KEY_MAX], proc[SK_KEY_MAX];
        sk_key_remind_due(due, s);
        sk_key_remind_proc(proc, s);
        const char *a1[4] = {"ZCOUNT", due, "-inf", max};
        const char *a2[8] = {"ZRANGE", due, "-inf", max, "BYSCORE", "LIMIT", "0", lim};
        const char *a3[2] = {"ZCARD", proc};
        const char *a4[5] = {"ZRANGE", proc, "0", stop, "WITHSCORES"};
        if (sk_cli_redis_append(VERB, c, 4, a1) != SK_EXIT_OK)
            return SK_EXIT_FAIL;
        /* WITHSCORES after LIMIT: 9 arguments, one more than the helper's bound */
        const char *a2w[9] = {a2[0], a2[1], a2[2], a2[3], a2[4], a2[5], a2[6], a2[7], "WITHSCORES"};
        size_t lens[9];
        for (int i = 0; i < 9; i++)
            lens[i] = strlen(a2w[i]);
        if (redisAppendCommandArgv(c, 9, a2w, lens) != REDIS_OK)
            return sk_cli_fail(VERB, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
        if (sk_cli_redis_append(VERB, c, 2, a3) != SK_EXIT_OK ||
            sk_cli_redis_append(VERB, c, 5, a4) != SK_EXIT_OK)
            return SK_EXIT_FAIL;
    }
    int rc = SK_EXIT_OK;
    for (int s = 0; s < SK_SHARDS; s++) {
        for (int k = 0; k < 4; k++) {
            redisReply *r = sk_cli_redis_reply(VERB, c);
            if (!r)
                return SK_EXIT_FAIL;
            bool count = k % 2 == 0, proc = k >= 2;
            if (rc != SK_EXIT_OK) {
                /* drain */
            } else if (r->type != (count ? REDIS_REPLY_INTEGER : REDIS_REPLY_ARRAY)) {
                rc = sk_cli_fail(VERB, "Redis %s of shard %d: %s", proc ? "rproc" : "rdue", s,
                                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            } else if (count) {
                if (!proc || q->with_proc)
                    *total += r->integer;
            } else if (!proc || q->with_proc) {
                for (size_t i = 0; i + 1 < r->elements && rc == SK_EXIT_OK; i += 2)
                    rc = s_due_add(ds, r->element[i], r->element[i + 1], proc, s);
            }
            freeReplyObject(r);
        }
    }
    return rc;
}

static bool s_is_reminder(const s_due_t *d)
{
    return d->parsed && d->parts.kind == SK_REMIND_KIND_REMINDER;
}

/* What a row shows of its invoice: customer, currency, the tier's rate and
 * discount (rate -1: the invoice has no such tier any more). */
static void s_take_invoice(s_due_t *d, const sk_invoice_t *inv)
{
    d->have_invoice = true;
    snprintf(d->customer_id, sizeof d->customer_id, "%s", inv->customer_id);
    d->currency = inv->schedule.currency;
    d->rate_ppm = -1;
    if (d->parts.tier >= 0 && d->parts.tier < inv->schedule.ntiers) {
        d->rate_ppm = inv->schedule.tiers[d->parts.tier].rate_ppm;
        d->discount = inv->schedule.tiers[d->parts.tier].discount;
    }
}

/* Reads each reminder's invoice (pipelined GETs): its customer, currency and
 * the tier's rate and discount. */
static int s_resolve(redisContext *c, s_dues_t *ds)
{
    sk_invoice_t *inv = malloc(sizeof *inv);
    if (!inv)
        return sk_cli_fail(VERB, "out of memory");
    int rc = SK_EXIT_OK;
    for (size_t base = 0; base < ds->n && rc == SK_EXIT_OK; base += S_PAGE) {
        size_t end = base + S_PAGE < ds->n ? base + S_PAGE : ds->n;
        size_t sent = 0;
        for (size_t i = base; i < end; i++) {
            s_due_t *d = &ds->d[i];
            if (!s_is_reminder(d))
                continue;
            char key[SK_KEY_MAX];
            const char *av[2] = {"GET", sk_key_invoice(key, d->shard, d->parts.id)};
            if (sk_cli_redis_append(VERB, c, 2, av) != SK_EXIT_OK) {
                free(inv);
                return SK_EXIT_FAIL;
            }
            sent++;
        }
        for (size_t i = base; i < end && sent; i++) {
            s_due_t *d = &ds->d[i];
            if (!s_is_reminder(d))
                continue;
            sent--;
            redisReply *r = sk_cli_redis_reply(VERB, c);
            if (!r) {
                free(inv);
                return SK_EXIT_FAIL;
            }
            sk_err_t err;
            sk_err_clear(&err);
            int got = rc == SK_EXIT_OK ? sk_invoice_from_reply(r, d->parts.id, inv, &err) : -1;
            freeReplyObject(r);
            if (got != 0 && rc == SK_EXIT_OK && !strcmp(err.code, "old_layout")) {
                /* not yet migrated: read once the pipeline is drained */
                d->have_invoice = false;
                d->currency = NULL;
                d->rate_ppm = -2; /* marker: read later */
                continue;
            }
            if (got == 0) {
                s_take_invoice(d, inv);
            } else if (rc == SK_EXIT_OK && !strcmp(err.code, "redis")) {
                rc = sk_cli_fail(VERB, "Redis GET: %s", err.msg);
            }
        }
        for (size_t i = base; i < end && rc == SK_EXIT_OK; i++) {
            s_due_t *d = &ds->d[i];
            if (d->rate_ppm != -2)
                continue;
            char key[SK_KEY_MAX];
            sk_err_t err;
            d->rate_ppm = -1;
            if (sk_invoice_read(c, sk_key_invoice(key, d->shard, d->parts.id), d->parts.id, inv,
                                &err) == 0)
                s_take_invoice(d, inv);
        }
    }
    free(inv);
    return rc;
}

static json_t *s_due_json(const s_due_t *d, const sk_tz_t *tz, const sk_remind_settings_t *st)
{
    char mid[SK_REMIND_MSGID_MAX], a[S_LOCAL_MAX], b[S_LOCAL_MAX];
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    const char *kind = !d->parsed                                  ? "unknown"
                       : d->parts.kind == SK_REMIND_KIND_STATEMENT ? "statement"
                                                                   : "reminder";
    bad |= json_object_set_new(o, "kind", json_string(kind));
    bad |= json_object_set_new(o, "state", json_string(d->in_process ? "in_process" : "queued"));
    /* keys are bytes; json_stringn refuses invalid UTF-8, which then shows as null */
    bad |= json_object_set_new(o, "key", s_jstr(d->key));
    if (!d->parsed) {
        bad |= json_object_set_new(o, d->in_process ? "lease_expires_ms" : "due_ms",
                                   json_integer(d->score));
        if (bad) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    bool rem = d->parts.kind == SK_REMIND_KIND_REMINDER;
    if (rem)
        bad |= json_object_set_new(o, "order_id", s_jstr(d->parts.id));
    bad |= json_object_set_new(o, "customer_id", s_jstr(*d->customer_id ? d->customer_id : NULL));
    if (rem) {
        bad |= json_object_set_new(o, "tier", json_integer(d->parts.tier));
        bad |= json_object_set_new(o, "last_day", sk_cli_json_date(d->parts.last_day));
        bad |= json_object_set_new(o, "lead_days", json_integer(d->parts.lead_days));
        /* the local day it goes out: the due instant's, in the customer's zone */
        int64_t when = d->in_process ? -1 : d->score;
        bad |= json_object_set_new(o, "remind_on",
                                   when >= 0 ? sk_cli_json_date(sk_tz_local_day(tz, when, NULL))
                                             : json_null());
        bad |= json_object_set_new(
            o, "rate",
            d->have_invoice && d->rate_ppm >= 0 ? sk_cli_json_rate(d->rate_ppm) : json_null());
        bad |= json_object_set_new(o, "discount",
                                   d->have_invoice && d->rate_ppm >= 0
                                       ? sk_cli_json_money(d->discount, d->currency)
                                       : json_null());
        bad |= json_object_set_new(o, "currency",
                                   d->have_invoice ? json_string(d->currency->code) : json_null());
    }
    if (d->in_process) {
        bad |= json_object_set_new(o, "due_ms", json_null());
        bad |= json_object_set_new(o, "lease_expires_ms", json_integer(d->score));
    } else {
        bad |= json_object_set_new(o, "due_ms", json_integer(d->score));
        bad |= json_object_set_new(o, "due_utc", json_string(s_utc(d->score, true, a, sizeof a)));
        bad |= json_object_set_new(o, "due_local",
                                   json_string(s_local(tz, d->score, true, b, sizeof b)));
    }
    if (rem)
        bad |= json_object_set_new(o, "closes_ms",
                                   json_integer(sk_tz_day_start(tz, d->parts.last_day + 1)));
    if (sk_remind_message_id(mid, sizeof mid, d->key, st->mail_domain) == 0)
        bad |= json_object_set_new(o, "message_id", json_string(mid));
    bad |= json_object_set_new(o, "timezone", json_string(sk_tz_id(tz)));
    if (rem && !d->have_invoice)
        bad |= json_object_set_new(o, "note", json_string("no stored invoice"));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int s_list_print(const s_dues_t *ds, s_zones_t *zs, const sk_remind_settings_t *st,
                        long long total, int64_t now_ms, bool json)
{
    char a[S_LOCAL_MAX], b[S_LOCAL_MAX];
    if (json) {
        json_t *root = json_object(), *arr = json_array();
        int bad = !root || !arr;
        for (size_t i = 0; !bad && i < ds->n; i++) {
            const s_due_t *d = &ds->d[i];
            json_t *o = s_due_json(d, s_zone_of(zs, d->customer_id, st), st);
            bad |= !o || json_array_append_new(arr, o);
        }
        if (root) {
            bad |= json_object_set_new(root, "now", json_string(s_utc(now_ms, true, a, sizeof a)));
            bad |= json_object_set_new(root, "now_ms", json_integer(now_ms));
            bad |= json_object_set_new(root, "total", json_integer(total));
        }
        return sk_cli_json_finish(VERB, root, "due", arr, bad);
    }
    printf("now %s UTC (the stack's clock)\n", s_utc(now_ms, false, a, sizeof a));
    if (ds->n == 0) {
        printf("nothing due\n");
        return SK_EXIT_OK;
    }
    static const char *const hd[] = {"due (UTC)", "customer's time", "zone",      "customer",
                                     "kind",      "order",           "tier",      "last day",
                                     "lead",      "saves",           "message id"};
    sk_cli_table_t *t = sk_cli_table_new(11, hd, "llllllrlrrl");
    if (!t)
        return sk_cli_fail(VERB, "out of memory");
    int bad = 0;
    for (size_t i = 0; !bad && i < ds->n; i++) {
        const s_due_t *d = &ds->d[i];
        const sk_tz_t *tz = s_zone_of(zs, d->customer_id, st);
        char mid[SK_REMIND_MSGID_MAX], cid[SK_ID_MAX + 1], oid[SK_ID_MAX + 1], tier[16], last[16],
            lead[16], saves[64], key[SK_REMIND_KEY_MAX];
        bool rem = s_is_reminder(d);
        if (d->in_process) {
            snprintf(a, sizeof a, "in process");
            snprintf(b, sizeof b, "-");
        } else {
            s_utc(d->score, false, a, sizeof a);
            s_local(tz, d->score, false, b, sizeof b);
        }
        if (!d->parsed || sk_remind_message_id(mid, sizeof mid, d->key, st->mail_domain) != 0)
            snprintf(mid, sizeof mid, "-");
        snprintf(tier, sizeof tier, "-");
        snprintf(last, sizeof last, "-");
        snprintf(lead, sizeof lead, "-");
        snprintf(saves, sizeof saves, "-");
        snprintf(oid, sizeof oid, "-");
        if (rem) {
            s_one_line(d->parts.id, oid, sizeof oid);
            snprintf(tier, sizeof tier, "%d", d->parts.tier + 1);
            sk_date_format(d->parts.last_day, last, sizeof last);
            snprintf(lead, sizeof lead, "%dd", d->parts.lead_days);
            if (d->have_invoice && d->rate_ppm >= 0) {
                char m[40], r[16];
                snprintf(saves, sizeof saves, "%s %s (%s)",
                         sk_money_format(d->discount, d->currency, m, sizeof m), d->currency->code,
                         sk_cli_rate_pct(d->rate_ppm, r, sizeof r));
            } else if (!d->have_invoice) {
                snprintf(saves, sizeof saves, "no invoice");
            }
        }
        const char *kind = !d->parsed ? "?" : rem ? "reminder" : "statement";
        const char *row[] = {a,
                             b,
                             sk_tz_id(tz),
                             *d->customer_id ? s_one_line(d->customer_id, cid, sizeof cid) : "?",
                             d->parsed ? kind : s_one_line(d->key, key, sizeof key),
                             oid,
                             tier,
                             last,
                             lead,
                             saves,
                             mid};
        bad |= sk_cli_table_add(t, row);
    }
    if (sk_cli_table_emit(VERB, &t, bad) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    if ((long long)ds->n < total)
        printf("(%zu of %lld; --limit N shows more)\n", ds->n, total);
    return SK_EXIT_OK;
}

static int s_list(redisContext *c, s_list_q_t *q, const sk_remind_settings_t *st, int64_t now_ms,
                  bool json)
{
    s_dues_t ds = {0};
    s_zones_t zs = {0};
    long long total = 0;
    int rc = SK_EXIT_OK;
    if (q->customer_id) {
        int shard = sk_shard_of(q->customer_id);
        char key[SK_KEY_MAX];
        const char *av[4] = {"ZRANGE", sk_key_customer_open(key, shard, q->customer_id), "0", "-1"};
        q->copen = sk_cli_redis_command(VERB, c, 4, av);
        if (!q->copen)
            return SK_EXIT_FAIL;
        if (q->copen->type != REDIS_REPLY_ARRAY)
            rc = sk_cli_fail(VERB, "Redis ZRANGE %s: unexpected reply", key);
        char due[SK_KEY_MAX], proc[SK_KEY_MAX];
        if (rc == SK_EXIT_OK && q->with_proc)
            rc = s_scan_customer(c, q, sk_key_remind_proc(proc, shard), true, shard, &ds, &total);
        if (rc == SK_EXIT_OK)
            rc = s_scan_customer(c, q, sk_key_remind_due(due, shard), false, shard, &ds, &total);
        freeReplyObject(q->copen);
        q->copen = NULL;
    } else {
        rc = s_fetch_all(c, q, &ds, &total);
    }
    if (rc == SK_EXIT_OK && ds.n) {
        qsort(ds.d, ds.n, sizeof *ds.d, s_cmp_due);
        for (size_t i = (size_t)q->limit; i < ds.n; i++)
            free(ds.d[i].key);
        if (ds.n > (size_t)q->limit)
            ds.n = (size_t)q->limit;
        rc = s_resolve(c, &ds);
    }
    for (size_t i = 0; rc == SK_EXIT_OK && i < ds.n; i++)
        if (s_zone_want(&zs, ds.d[i].customer_id) < 0)
            rc = sk_cli_fail(VERB, "out of memory");
    if (rc == SK_EXIT_OK)
        rc = s_zones_load(c, &zs, st);
    if (rc == SK_EXIT_OK)
        rc = s_list_print(&ds, &zs, st, total, now_ms, json);
    free(zs.z);
    s_dues_free(&ds);
    return rc;
}

/* ---- sent: the records ---------------------------------------------------------- */

typedef struct {
    char *key;               /* owned */
    json_t *j;               /* the record, or NULL: raw */
    char *raw;               /* owned, when j is NULL: the stored text ("" if none) */
    int64_t sent_ms;         /* the record's, else the log's score, else -1 */
    const char *customer_id; /* into j, or NULL */
} s_sent_t;

typedef struct {
    s_sent_t *s;
    size_t n, cap;
} s_sents_t;

static void s_sent_free(s_sent_t *s)
{
    free(s->key);
    free(s->raw);
    json_decref(s->j);
}

static void s_sents_free(s_sents_t *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        s_sent_free(&ss->s[i]);
    free(ss->s);
}

static int s_cmp_newest(const void *a, const void *b)
{
    const s_sent_t *x = a, *y = b;
    if (x->sent_ms != y->sent_ms)
        return x->sent_ms > y->sent_ms ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Builds one record from its key and stored value; log_ms is the rlog score
 * (-1 when it came from a scan). 0, or -1 on ENOMEM with nothing to free. */
static int s_sent_make(s_sent_t *s, const redisReply *key, const redisReply *val, int64_t log_ms)
{
    memset(s, 0, sizeof *s);
    s->sent_ms = log_ms;
    s->key = strndup(key->str, key->len);
    if (!s->key)
        return -1;
    if (val && val->type == REDIS_REPLY_STRING) {
        json_error_t jerr;
        json_t *j = json_loadb(val->str, val->len, 0, &jerr);
        if (j && json_is_object(j)) {
            s->j = j;
            json_t *v = json_object_get(j, "sent_ms");
            if (json_is_integer(v))
                s->sent_ms = json_integer_value(v);
            v = json_object_get(j, "customer_id");
            s->customer_id = json_is_string(v) ? json_string_value(v) : NULL;
            return 0;
        }
        json_decref(j);
        s->raw = strndup(val->str, val->len);
    } else {
        s->raw = strdup(""); /* in the log, no record (written between our reads?) */
    }
    if (s->raw)
        return 0;
    s_sent_free(s); /* nothing half made is left to the caller */
    return -1;
}

/* Does the record concern order oid: its reminder, or a statement naming it? */
static bool s_names_order(const s_sent_t *s, const char *oid)
{
    sk_remind_key_parts_t p;
    if (strlen(s->key) < SK_REMIND_KEY_MAX && sk_remind_key_parse(s->key, &p) == 0 &&
        p.kind == SK_REMIND_KIND_REMINDER)
        return !strcmp(p.id, oid);
    if (!s->j)
        return false;
    json_t *o = json_object_get(s->j, "order_id");
    if (json_is_string(o) && !strcmp(json_string_value(o), oid))
        return true;
    json_t *ws = json_object_get(s->j, "windows"), *w;
    size_t i;
    json_array_foreach(ws, i, w)
    {
        json_t *wo = json_object_get(w, "order_id");
        if (json_is_string(wo) && !strcmp(json_string_value(wo), oid))
            return true;
    }
    return false;
}

static int s_sents_push(s_sents_t *ss, s_sent_t *s)
{
    void *grown = sk_grow(ss->s, ss->n, &ss->cap, sizeof *ss->s, 64);
    if (!grown)
        return -1;
    ss->s = grown;
    ss->s[ss->n++] = *s;
    return 0;
}

/* Keeps the newest `limit` (bounded memory while scanning everything). */
static void s_sents_trim(s_sents_t *ss, long limit)
{
    if (ss->n == 0)
        return; /* and ss->s may be NULL, which qsort must not get */
    qsort(ss->s, ss->n, sizeof *ss->s, s_cmp_newest);
    for (size_t i = (size_t)limit; i < ss->n; i++)
        s_sent_free(&ss->s[i]);
    if (ss->n > (size_t)limit)
        ss->n = (size_t)limit;
}

/* One customer's log, newest first, page by page; with oid only that order's. */
static int s_sent_customer(redisContext *c, const char *cid, const char *oid, long limit,
                           s_sents_t *ss, long long *total)
{
    int shard = sk_shard_of(cid);
    char logk[SK_KEY_MAX], sentk[SK_KEY_MAX];
    sk_key_remind_log(logk, shard, cid);
    sk_key_remind_sent(sentk, shard);
    for (long long start = 0;; start += S_PAGE) {
        char a[24], b[24];
        snprintf(a, sizeof a, "%lld", start);
        snprintf(b, sizeof b, "%lld", start + S_PAGE - 1);
        const char *av[5] = {"ZREVRANGE", logk, a, b, "WITHSCORES"};
        redisReply *r = sk_cli_redis_command(VERB, c, 5, av);
        if (!r)
            return SK_EXIT_FAIL;
        if (r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return sk_cli_fail(VERB, "Redis ZREVRANGE %s: unexpected reply", logk);
        }
        size_t nk = r->elements / 2;
        if (nk == 0) {
            freeReplyObject(r);
            return SK_EXIT_OK;
        }
        /* HMGET the page's records: argv built here, hiredis copies it */
        const char **hv = calloc(nk + 2, sizeof *hv);
        size_t *hl = calloc(nk + 2, sizeof *hl);
        if (!hv || !hl) {
            free(hv);
            free(hl);
            freeReplyObject(r);
            return sk_cli_fail(VERB, "out of memory");
        }
        hv[0] = "HMGET";
        hl[0] = 5;
        hv[1] = sentk;
        hl[1] = strlen(sentk);
        for (size_t i = 0; i < nk; i++) {
            hv[i + 2] = r->element[2 * i]->str ? r->element[2 * i]->str : "";
            hl[i + 2] = r->element[2 * i]->len;
        }
        int ok = redisAppendCommandArgv(c, (int)nk + 2, hv, hl) == REDIS_OK;
        free(hv);
        free(hl);
        redisReply *v = ok ? sk_cli_redis_reply(VERB, c) : NULL;
        if (!ok)
            sk_cli_fail(VERB, "Redis at %s: %s", sk_redis_url_env(), c->errstr);
        if (!v || v->type != REDIS_REPLY_ARRAY || v->elements != nk) {
            if (v)
                sk_cli_fail(VERB, "Redis HMGET %s: unexpected reply", sentk);
            if (v)
                freeReplyObject(v);
            freeReplyObject(r);
            return SK_EXIT_FAIL;
        }
        int rc = SK_EXIT_OK;
        for (size_t i = 0; i < nk && rc == SK_EXIT_OK; i++) {
            const redisReply *k = r->element[2 * i];
            int64_t ms = -1;
            if (k->type != REDIS_REPLY_STRING)
                continue;
            s_ms(r->element[2 * i + 1], &ms);
            s_sent_t s;
            if (s_sent_make(&s, k, v->element[i], ms) < 0) {
                rc = sk_cli_fail(VERB, "out of memory");
                break;
            }
            if (oid && !s_names_order(&s, oid)) {
                s_sent_free(&s);
                continue;
            }
            (*total)++;
            if ((long)ss->n >= limit) {
                s_sent_free(&s);
                continue;
            }
            if (s_sents_push(ss, &s) < 0) {
                s_sent_free(&s);
                rc = sk_cli_fail(VERB, "out of memory");
            }
        }
        freeReplyObject(v);
        freeReplyObject(r);
        if (rc != SK_EXIT_OK || nk < S_PAGE)
            return rc;
        if (!oid && (long)ss->n >= limit) {
            /* the rest only counts: the log's length says how many */
            const char *zc[2] = {"ZCARD", logk};
            redisReply *z = sk_cli_redis_command(VERB, c, 2, zc);
            if (!z)
                return SK_EXIT_FAIL;
            if (z->type == REDIS_REPLY_INTEGER)
                *total = z->integer;
            freeReplyObject(z);
            return SK_EXIT_OK;
        }
    }
}

/* Every shard's records (HSCAN), the newest `limit` kept. */
static int s_sent_all(redisContext *c, long limit, s_sents_t *ss, long long *total)
{
    for (int shard = 0; shard < SK_SHARDS; shard++) {
        char sentk[SK_KEY_MAX], cursor[32] = "0", cnt[16];
        sk_key_remind_sent(sentk, shard);
        snprintf(cnt, sizeof cnt, "%d", S_PAGE);
        do {
            const char *av[5] = {"HSCAN", sentk, cursor, "COUNT", cnt};
            redisReply *r = sk_cli_redis_command(VERB, c, 5, av);
            if (!r)
                return SK_EXIT_FAIL;
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof cursor ||
                r->element[1]->type != REDIS_REPLY_ARRAY) {
                freeReplyObject(r);
                return sk_cli_fail(VERB, "Redis HSCAN %s: unexpected reply", sentk);
            }
            memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
            const redisReply *kv = r->element[1];
            for (size_t i = 0; i + 1 < kv->elements; i += 2) {
                if (kv->element[i]->type != REDIS_REPLY_STRING)
                    continue;
                s_sent_t s;
                bool made = s_sent_make(&s, kv->element[i], kv->element[i + 1], -1) == 0;
                if (!made || s_sents_push(ss, &s) < 0) {
                    if (made)
                        s_sent_free(&s);
                    freeReplyObject(r);
                    return sk_cli_fail(VERB, "out of memory");
                }
                (*total)++;
            }
            freeReplyObject(r);
            if (ss->n >= 2 * (size_t)limit)
                s_sents_trim(ss, limit);
        } while (strcmp(cursor, "0") != 0);
    }
    return SK_EXIT_OK;
}

/* An amount of a record: integer minor units (formatted at the currency's
 * precision), or a decimal string as it is. */
static void s_amount(const json_t *v, const sk_currency_t *cur, char *buf, size_t n)
{
    if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_integer(v) && cur && json_integer_value(v) >= -SK_MONEY_MAX &&
             json_integer_value(v) <= SK_MONEY_MAX)
        sk_money_format(json_integer_value(v), cur, buf, n);
    else
        snprintf(buf, n, "?");
}

/* The "windows" a record named, as one text line each. */
static void s_print_windows(const json_t *ws)
{
    size_t i;
    json_t *w;
    json_array_foreach(ws, i, w)
    {
        const char *oid = json_string_value(json_object_get(w, "order_id"));
        const char *last = json_string_value(json_object_get(w, "last_day"));
        const char *cur = json_string_value(json_object_get(w, "currency"));
        json_t *tier = json_object_get(w, "tier"), *ppm = json_object_get(w, "rate_ppm");
        json_t *disc = json_object_get(w, "discount"), *pay = json_object_get(w, "payable");
        char o[SK_ID_MAX + 1], r[16], d[48], p[48];
        const sk_currency_t *cu = cur ? sk_currency_find(cur) : NULL;
        s_amount(disc, cu, d, sizeof d);
        s_amount(pay, cu, p, sizeof p);
        if (json_is_integer(ppm))
            sk_cli_rate_pct((int32_t)json_integer_value(ppm), r, sizeof r);
        else
            snprintf(r, sizeof r, "?");
        printf("  named: order %s, tier %" JSON_INTEGER_FORMAT " (%s), last day %s: pay %s %s, "
               "saves %s %s\n",
               s_one_line(oid ? oid : "?", o, sizeof o),
               json_is_integer(tier) ? json_integer_value(tier) + 1 : 0, r, last ? last : "?", p,
               cur ? cur : "", d, cur ? cur : "");
    }
}

static int s_sent_print(const s_sents_t *ss, s_zones_t *zs, const sk_remind_settings_t *st,
                        long long total, bool json)
{
    char a[S_LOCAL_MAX], b[S_LOCAL_MAX];
    if (json) {
        json_t *root = json_object(), *arr = json_array();
        int bad = !root || !arr;
        for (size_t i = 0; !bad && i < ss->n; i++) {
            const s_sent_t *s = &ss->s[i];
            json_t *o;
            if (!s->j) {
                o = json_pack("{s:o, s:o}", "key", s_jstr(s->key), "raw", s_jstr(s->raw));
            } else {
                const sk_tz_t *tz = s_zone_of(zs, s->customer_id, st);
                o = json_deep_copy(s->j);
                bad |= !o || json_object_set_new(o, "timezone", json_string(sk_tz_id(tz)));
                if (o && s->sent_ms >= 0) {
                    bad |= json_object_set_new(o, "sent_utc",
                                               json_string(s_utc(s->sent_ms, true, a, sizeof a)));
                    bad |= json_object_set_new(
                        o, "sent_local", json_string(s_local(tz, s->sent_ms, true, b, sizeof b)));
                }
            }
            bad |= !o || json_array_append_new(arr, o);
        }
        if (root)
            bad |= json_object_set_new(root, "total", json_integer(total));
        return sk_cli_json_finish(VERB, root, "sent", arr, bad);
    }
    if (ss->n == 0) {
        printf("nothing sent\n");
        return SK_EXIT_OK;
    }
    for (size_t i = 0; i < ss->n; i++) {
        const s_sent_t *s = &ss->s[i];
        char k[SK_REMIND_KEY_MAX], line[300];
        if (i)
            printf("\n");
        if (!s->j) {
            printf("%s  %s: the sent record cannot be read: %s\n",
                   s->sent_ms >= 0 ? s_utc(s->sent_ms, false, a, sizeof a) : "?",
                   s_one_line(s->key, k, sizeof k),
                   *s->raw ? s_one_line(s->raw, line, sizeof line) : "(missing)");
            continue;
        }
        const sk_tz_t *tz = s_zone_of(zs, s->customer_id, st);
        const char *kind = json_string_value(json_object_get(s->j, "kind"));
        const char *to = json_string_value(json_object_get(s->j, "to"));
        const char *mid = json_string_value(json_object_get(s->j, "message_id"));
        const char *outcome = json_string_value(json_object_get(s->j, "outcome"));
        const char *oid = json_string_value(json_object_get(s->j, "order_id"));
        json_t *att = json_object_get(s->j, "attempts"),
               *sch = json_object_get(s->j, "scheduled_ms");
        char cid[SK_ID_MAX + 1], o[SK_ID_MAX + 1], t[256], m[SK_REMIND_MSGID_MAX + 8];
        if (s->sent_ms >= 0)
            printf("%s %s (%s UTC)", s_local(tz, s->sent_ms, false, a, sizeof a), sk_tz_id(tz),
                   s_utc(s->sent_ms, false, b, sizeof b));
        else
            printf("? (no sent time)");
        printf("  %s to %s, customer %s", kind ? kind : "?", s_one_line(to ? to : "?", t, sizeof t),
               s_one_line(s->customer_id ? s->customer_id : "?", cid, sizeof cid));
        if (oid)
            printf(", order %s", s_one_line(oid, o, sizeof o));
        printf("\n  Message-ID %s", s_one_line(mid ? mid : "?", m, sizeof m));
        if (json_is_integer(sch))
            printf(", scheduled %s", s_local(tz, json_integer_value(sch), false, a, sizeof a));
        if (json_is_integer(att))
            printf(", attempt%s %" JSON_INTEGER_FORMAT, json_integer_value(att) == 1 ? "" : "s",
                   json_integer_value(att));
        printf(", %s\n", outcome ? outcome : "?");
        s_print_windows(json_object_get(s->j, "windows"));
    }
    if ((long long)ss->n < total)
        printf("\n(%zu newest of %lld; --limit N shows more)\n", ss->n, total);
    return SK_EXIT_OK;
}

static int s_sent(redisContext *c, const char *cid, const char *oid, long limit,
                  const sk_remind_settings_t *st, bool json)
{
    char found[SK_ID_MAX + 1] = "";
    if (oid) {
        /* the order index: order -> "customer\tcurrency" */
        char key[SK_KEY_MAX];
        const char *av[3] = {"HGET", sk_key_order_index(key, oid), oid};
        redisReply *r = sk_cli_redis_command(VERB, c, 3, av);
        if (!r)
            return SK_EXIT_FAIL;
        const char *tab = r->type == REDIS_REPLY_STRING ? memchr(r->str, '\t', r->len) : NULL;
        size_t len = tab ? (size_t)(tab - r->str) : 0;
        if (tab && len > 0 && len <= SK_ID_MAX)
            memcpy(found, r->str, len), found[len] = '\0';
        freeReplyObject(r);
        if (!*found)
            return sk_cli_fail(VERB, "order %s not found", oid);
        if (cid && strcmp(cid, found) != 0)
            return sk_cli_fail(VERB, "order %s is customer %s's, not %s's", oid, found, cid);
        cid = found;
    }
    s_sents_t ss = {0};
    s_zones_t zs = {0};
    long long total = 0;
    int rc =
        cid ? s_sent_customer(c, cid, oid, limit, &ss, &total) : s_sent_all(c, limit, &ss, &total);
    if (rc == SK_EXIT_OK)
        s_sents_trim(&ss, limit);
    for (size_t i = 0; rc == SK_EXIT_OK && i < ss.n; i++)
        if (s_zone_want(&zs, ss.s[i].customer_id) < 0)
            rc = sk_cli_fail(VERB, "out of memory");
    if (rc == SK_EXIT_OK)
        rc = s_zones_load(c, &zs, st);
    if (rc == SK_EXIT_OK)
        rc = s_sent_print(&ss, &zs, st, total, json);
    free(zs.z);
    s_sents_free(&ss);
    return rc;
}

/* ---- the verb ------------------------------------------------------------------ */

#define S_USAGE                                                                                    \
    "usage: skontoctl reminders list [--customer ID] [--due-before INSTANT] [--limit N] "          \
    "[--json] | reminders sent [--customer ID] [--order ID] [--limit N] [--json]"

int sk_cmd_reminders(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *value, *word = NULL, *cid = NULL, *oid = NULL, *before = NULL;
    long limit = S_DEFAULT_LIMIT;
    bool json = false;
    int o;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = o >= 0 ? s_opts[o].name : "";
        if (o == SK_CLI_WORD) {
            if (word)
                return sk_cli_usage_error(VERB, "unexpected \"%s\" (%s)", value, S_USAGE);
            word = value;
        } else if (!strcmp(name, "customer") || !strcmp(name, "order")) {
            if (!sk_cli_id_ok(value))
                return sk_cli_opt_error(VERB, name, value,
                                        "want an id of 1 to 64 characters (at most 256 bytes), "
                                        "no control characters");
            *(name[0] == 'c' ? &cid : &oid) = value;
        } else if (!strcmp(name, "due-before")) {
            before = value;
        } else if (!strcmp(name, "limit")) {
            if (sk_cli_parse_int(value, 1, S_MAX_LIMIT, &limit) < 0)
                return sk_cli_opt_error(VERB, "limit", value, "want a whole number from 1 to %d",
                                        S_MAX_LIMIT);
        } else {
            json = true;
        }
    }
    bool list = word && !strcmp(word, "list"), sent = word && !strcmp(word, "sent");
    if (!list && !sent)
        return sk_cli_usage_error(VERB, "%s%s", S_USAGE,
                                  word ? "" : " (skontoctl reminders --help)");
    if (list && oid)
        return sk_cli_usage_error(VERB, "--order is for reminders sent (list takes --customer)");
    if (sent && before)
        return sk_cli_usage_error(VERB, "--due-before is for reminders list");
    sk_err_t err;
    sk_err_clear(&err);
    int64_t due_before = INT64_MAX;
    if (before && sk_time_parse(before, &due_before, &err) < 0)
        return sk_cli_opt_err(VERB, "due-before", before, &err);
    sk_remind_settings_t st;
    if (sk_remind_settings_load(&st, &err) < 0)
        return sk_cli_usage_error(VERB, "%s", err.msg);
    sk_clock_t *clock = list ? sk_clock_new_env(&err) : NULL;
    if (list && !clock)
        return sk_cli_usage_error(VERB, "%s", err.msg);

    redisContext *c = sk_cli_redis_connect(VERB);
    int rc = c ? SK_EXIT_OK : SK_EXIT_FAIL;
    if (rc == SK_EXIT_OK && list) {
        if (sk_clock_tick(clock, c, &err))
            rc = sk_cli_fail(VERB, "%s", err.msg);
        int64_t now = sk_clock_now(clock);
        /* what is in process is due now: listed when now is before the bound */
        s_list_q_t q = {cid, due_before, now < due_before, limit, NULL};
        if (rc == SK_EXIT_OK)
            rc = s_list(c, &q, &st, now, json);
    } else if (rc == SK_EXIT_OK) {
        rc = s_sent(c, cid, oid, limit, &st, json);
    }
    if (c)
        redisFree(c);
    sk_clock_destroy(&clock);
    if (rc == SK_EXIT_OK)
        rc = sk_cli_finish(VERB);
    return rc;
}
