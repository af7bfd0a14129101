/* customer — `skontoctl customer show ID`: a customer's open invoices and
 * the discount windows still open to them (what a statement tells them);
 * `skontoctl customer optout|optin ID`: the customer's reminders and
 * statements stopped or started again.
 *
 * Reads the customer's profile sk:{sN}:cust:<cid>, the zset of open invoices
 * sk:{sN}:copen:<cid> (ordered by net due date), each invoice hash (one
 * pipelined round trip for all of them) and the payment history
 * sk:{sN}:hist:<cid>. A window is still open when its last day is today or
 * later. What paying inside a window saves is computed by common/settlement
 * (the same rule the discount worker applies to a real payment): the
 * discount that window gives on the open balance. Read-only.
 *
 * optout / optin never write Redis: they send ingest a customer event that
 * carries only the id and `reminders` (cli_send.h, as `skontoctl send`
 * would, under the caller's CURVE key, with a fresh event id each call), so
 * the change is acknowledged, de-duplicated and attributed like any event;
 * ingest changes the profile's `optout` and nothing else. The customer must
 * be known (one read-only EXISTS first), so a mistyped id is not sent. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "cli_send.h"
#include "event.h"
#include "invoice_store.h"
#include "keys.h"
#include "settlement.h"
#include "sk_clock.h"
#include "sk_redis.h"

#define VERB "customer"
#define S_USAGE "skontoctl customer show CUSTOMER_ID [--today D] [--json]"
#define S_MAX_CURRENCIES 32 /* distinct currencies totalled */

static const sk_cli_opt_t s_opts[] = {
    {"today", true, false},
    {"json", false, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out, "usage: skontoctl customer show CUSTOMER_ID [--today YYYY-MM-DD] [--json]\n"
                 "       skontoctl customer optout CUSTOMER_ID [--json] [options of send]\n"
                 "       skontoctl customer optin CUSTOMER_ID [--json] [options of send]\n"
                 "\n"
                 "Shows a customer as a statement would: the profile (name, e-mail, default\n"
                 "terms, how often statements go out), every open invoice with the discount\n"
                 "windows that are still open today (the last day to pay, the amount that\n"
                 "settles the invoice then, and what paying then saves), the net due date,\n"
                 "the open balance, totals per currency, and which windows the customer has\n"
                 "used in the past.\n"
                 "\n"
                 "options:\n"
                 "  --today D   the date windows are judged from (default: the stack's clock,\n"
                 "              $SKONTO_TODAY, else $SKONTO_CLOCK: with redis the simulated\n"
                 "              day, see skontoctl clock; else today's UTC date); a window\n"
                 "              whose last day is D is still open\n"
                 "  --json      print as JSON: customer_id, name, email, timezone, locale,\n"
                 "              statement, terms, reminders (\"on\" | \"off\"), today,\n"
                 "              invoices [{order_id, currency, amount, balance, baseline,\n"
                 "              net_due, days_to_net, overdue, windows [{tier, rate, last_day,\n"
                 "              days_left, pay, saves}]}], totals [{currency, invoices,\n"
                 "              balance, saves_next}], history {invoices_closed,\n"
                 "              tiers [{tier, count}], after_windows}\n"
                 "\n"
                 "Amounts are decimal strings in the invoice's currency; \"tier\" is the index\n"
                 "into the invoice's tiers (0 = the first window), as in skontoctl settle.\n"
                 "saves_next is what the customer saves by paying every open invoice inside\n"
                 "its next window.\n"
                 "An unknown customer is one line on stderr and exit status 1.\n"
                 "The profile lines show the zone reminders are timed in (\"default\": the\n"
                 "workers' SKONTO_DEFAULT_TZ), the locale and whether the customer opted out.\n"
                 "\n"
                 "optout stops the customer's reminders and statements; optin starts them\n"
                 "again. Either is sent to ingest as a customer event that changes nothing\n"
                 "else of the profile, under a fresh event id, exactly as skontoctl send sends\n"
                 "it (the same --endpoint, --server-key, --key, --timeout-ms, --retries and\n"
                 "--handshake-timeout-ms, and their variables; see skontoctl send --help), so\n"
                 "it is acknowledged and attributed to the sender's key; skontoctl writes\n"
                 "nothing to Redis. The customer must be known (read from SKONTO_REDIS_URL).\n"
                 "It prints ingest's answer; with --json the Ack as one JSON object:\n"
                 "{customer_id, reminders (\"off\" | \"on\"), event_id, status (\"accepted\",\n"
                 "\"duplicate\" or \"rejected\"), reason_code, message}.\n"
                 "Exit status 0 when accepted, 1 when rejected (the reason on stderr), not\n"
                 "acknowledged, or the customer is unknown, 2 for invalid usage.\n"
                 "Environment: SKONTO_REDIS_URL, SKONTO_TODAY, SKONTO_CLOCK; for optout and\n"
                 "optin also SKONTO_INGEST_ENDPOINT, SKONTO_INGEST_SERVER_KEY,\n"
                 "SKONTO_CURVE_KEY_FILE.\n");
}

/* ---- one open invoice, as the statement shows it ---------------------------- */

typedef struct {
    int tier; /* index into the schedule */
    sk_day_t last_day;
    int32_t rate_ppm;
    int64_t pay, saves;
} s_window_t;

typedef struct {
    sk_invoice_t inv;
    int nwindows;
    s_window_t windows[SK_TERMS_MAX_TIERS];
} s_open_t;

/* The windows of inv still open on `today`, with what paying off the balance
 * on the window's last day would save. Settlement decides (the rule the
 * discount worker applies to a real payment): a payment of one minor unit
 * declared full earns exactly the window's discount on the whole open balance,
 * so the amount that settles the invoice then is balance - that discount. */
static void s_windows(s_open_t *o, sk_day_t today)
{
    const sk_schedule_t *s = &o->inv.schedule;
    o->nwindows = 0;
    if (o->inv.balance <= 0)
        return;
    for (int i = 0; i < s->ntiers; i++) {
        if (s->tiers[i].last_day < today)
            continue;
        int64_t bal = o->inv.balance;
        sk_payment_t p = {s->tiers[i].last_day, 1, true};
        sk_applied_t ap;
        sk_err_t err;
        if (sk_settle_apply(s, &bal, &p, &ap, &err) < 0 || ap.tier != i)
            continue;
        s_window_t *w = &o->windows[o->nwindows++];
        w->tier = i;
        w->last_day = s->tiers[i].last_day;
        w->rate_ppm = s->tiers[i].rate_ppm;
        w->saves = ap.discount;
        w->pay = o->inv.balance - ap.discount;
    }
}

/* ---- totals ---------------------------------------------------------------- */

typedef struct {
    const sk_currency_t *cur;
    long invoices;
    int64_t balance, saves_next;
} s_total_t;

typedef struct {
    /* input */
    const char *customer_id;
    sk_day_t today;
    /* read from Redis */
    redisReply *profile, *history;
    s_open_t *open;
    size_t nopen;
    s_total_t totals[S_MAX_CURRENCIES];
    int ntotals;
} s_view_t;

static void s_add_total(s_view_t *v, const s_open_t *o)
{
    const sk_currency_t *cur = o->inv.schedule.currency;
    int i = 0;
    while (i < v->ntotals && v->totals[i].cur != cur)
        i++;
    if (i == v->ntotals) {
        if (v->ntotals == S_MAX_CURRENCIES)
            return;
        v->totals[v->ntotals++] = (s_total_t){cur, 0, 0, 0};
    }
    v->totals[i].invoices++;
    v->totals[i].balance += o->inv.balance;
    if (o->nwindows)
        v->totals[i].saves_next += o->windows[0].saves;
}

/* Takes the invoice just read into v->open[v->nopen] (got: the read's
 * result): an open one is counted, a missing or damaged one is said and
 * skipped; a Redis error ends the verb. */
/* sk_invoice_read_each's callback: keeps an open invoice, says which are damaged. */
static int s_take(void *ctx, const char *oid, int got, const sk_err_t *err, const sk_invoice_t *inv)
{
    s_view_t *v = ctx;
    s_open_t *o = &v->open[v->nopen];
    if (got != 0) {
        /* Closed between the ZRANGE and the GET, or damaged: say so, go on. */
        if (strcmp(err->code, "no_invoice"))
            fprintf(stderr, "skontoctl customer: order %s: the stored invoice is malformed: %s\n",
                    oid, err->msg);
    } else if (inv->status == SK_INV_OPEN) {
        o->inv = *inv;
        s_windows(o, v->today);
        s_add_total(v, o);
        v->nopen++;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

static int s_load(redisContext *c, s_view_t *v)
{
    int shard = sk_shard_of(v->customer_id);
    char key[SK_KEY_MAX];
    const char *a1[2] = {"HGETALL", sk_key_customer(key, shard, v->customer_id)};
    v->profile = sk_cli_redis_command(VERB, c, 2, a1);
    if (!v->profile)
        return SK_EXIT_FAIL;
    if (v->profile->type != REDIS_REPLY_ARRAY || v->profile->elements == 0)
        return sk_cli_fail(VERB, "customer %s not found", v->customer_id);

    const char *a2[2] = {"HGETALL", sk_key_history(key, shard, v->customer_id)};
    v->history = sk_cli_redis_command(VERB, c, 2, a2);
    if (!v->history)
        return SK_EXIT_FAIL;

    const char *a3[4] = {"ZRANGE", sk_key_customer_open(key, shard, v->customer_id), "0", "-1"};
    redisReply *ids = sk_cli_redis_command(VERB, c, 4, a3);
    if (!ids)
        return SK_EXIT_FAIL;
    if (ids->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(ids);
        return sk_cli_fail(VERB, "Redis ZRANGE %s: unexpected reply", key);
    }
    v->open = calloc(ids->elements ? ids->elements : 1, sizeof *v->open);
    if (!v->open) {
        freeReplyObject(ids);
        return sk_cli_fail(VERB, "out of memory");
    }
    sk_err_t err;
    sk_err_clear(&err);
    int rc = SK_EXIT_OK;
    if (sk_invoice_read_each(c, shard, ids, s_take, v, &err) != 0)
        rc = !strcmp(err.code, "redis")
                 ? sk_cli_fail(VERB, "Redis at %s: %s", sk_redis_url_env(), err.msg)
                 : sk_cli_fail(VERB, "%s", err.msg);
    freeReplyObject(ids);
    return rc;
}

/* ---- history ------------------------------------------------------------------ */

/* Calls fn for each "t<i>" field of the history in tier order. */
typedef struct {
    long closed, after, tiers[SK_TERMS_MAX_TIERS];
    int max_tier; /* highest index with a count, -1 if none */
} s_hist_t;

static void s_history(const redisReply *h, s_hist_t *out)
{
    memset(out, 0, sizeof *out);
    out->max_tier = -1;
    if (!h || h->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i], *v = h->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        long n;
        if (sk_cli_parse_int(v->str, 0, INT32_MAX, &n) < 0)
            continue;
        if (!strcmp(f->str, "n")) {
            out->closed = n;
        } else if (!strcmp(f->str, "net")) {
            out->after = n;
        } else if (f->str[0] == 't') {
            long t;
            if (sk_cli_parse_int(f->str + 1, 0, SK_TERMS_MAX_TIERS - 1, &t) == 0) {
                out->tiers[t] = n;
                if (t > out->max_tier)
                    out->max_tier = (int)t;
            }
        }
    }
}

/* ---- output ---------------------------------------------------------------------- */

/* The profile's `optout` (docs/REMINDERS.md): absent or "0" = reminders on. */
static bool s_opted_out(const redisReply *profile)
{
    return !strcmp(sk_cli_hash_get(profile, "optout", "0"), "1");
}

static json_t *s_json(const s_view_t *v)
{
    json_t *root = json_object(), *invs = json_array(), *tots = json_array();
    json_t *hist = json_object(), *htiers = json_array();
    int bad = !root || !invs || !tots || !hist || !htiers;
    if (bad) {
        json_decref(root);
        json_decref(invs);
        json_decref(tots);
        json_decref(hist);
        json_decref(htiers);
        return NULL;
    }
    const redisReply *p = v->profile;
    bad |= json_object_set_new(root, "customer_id", json_string(v->customer_id));
    static const char *const pf[][2] = {{"name", "name"},           {"email", "email"},
                                        {"timezone", "tz"},         {"locale", "locale"},
                                        {"statement", "statement"}, {"terms", "terms"}};
    for (size_t i = 0; i < sizeof pf / sizeof pf[0]; i++)
        bad |= json_object_set_new(root, pf[i][0], json_string(sk_cli_hash_get(p, pf[i][1], "")));
    bad |= json_object_set_new(root, "reminders", json_string(s_opted_out(p) ? "off" : "on"));
    bad |= json_object_set_new(root, "today", sk_cli_json_date(v->today));
    for (size_t i = 0; i < v->nopen; i++) {
        const s_open_t *o = &v->open[i];
        const sk_schedule_t *s = &o->inv.schedule;
        const sk_currency_t *cur = s->currency;
        json_t *ws = json_array();
        for (int k = 0; k < o->nwindows; k++) {
            const s_window_t *w = &o->windows[k];
            bad |= json_array_append_new(
                ws, json_pack("{s:i, s:o, s:o, s:i, s:o, s:o}", "tier", w->tier, "rate",
                              sk_cli_json_rate(w->rate_ppm), "last_day",
                              sk_cli_json_date(w->last_day), "days_left",
                              (int)(w->last_day - v->today), "pay", sk_cli_json_money(w->pay, cur),
                              "saves", sk_cli_json_money(w->saves, cur)));
        }
        bad |= json_array_append_new(
            invs,
            json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:o}", "order_id", o->inv.order_id,
                      "currency", cur->code, "amount", sk_cli_json_money(s->amount, cur), "balance",
                      sk_cli_json_money(o->inv.balance, cur), "baseline",
                      sk_cli_json_date(s->baseline), "net_due", sk_cli_json_date(s->net_due),
                      "days_to_net", (int)(s->net_due - v->today), "overdue", s->net_due < v->today,
                      "windows", ws));
    }
    for (int i = 0; i < v->ntotals; i++) {
        const s_total_t *t = &v->totals[i];
        bad |= json_array_append_new(tots,
                                     json_pack("{s:s, s:I, s:o, s:o}", "currency", t->cur->code,
                                               "invoices", (json_int_t)t->invoices, "balance",
                                               sk_cli_json_money(t->balance, t->cur), "saves_next",
                                               sk_cli_json_money(t->saves_next, t->cur)));
    }
    s_hist_t h;
    s_history(v->history, &h);
    for (int t = 0; t <= h.max_tier; t++)
        bad |= json_array_append_new(
            htiers, json_pack("{s:i, s:I}", "tier", t, "count", (json_int_t)h.tiers[t]));
    bad |= json_object_set_new(hist, "invoices_closed", json_integer(h.closed));
    bad |= json_object_set_new(hist, "tiers", htiers);
    bad |= json_object_set_new(hist, "after_windows", json_integer(h.after));
    bad |= json_object_set_new(root, "invoices", invs);
    bad |= json_object_set_new(root, "totals", tots);
    bad |= json_object_set_new(root, "history", hist);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int s_print(const s_view_t *v)
{
    const redisReply *p = v->profile;
    char a[40], b[40], c[40], d[40], e[40];
    const char *name = sk_cli_hash_get(p, "name", ""), *email = sk_cli_hash_get(p, "email", "");
    printf("customer %s", v->customer_id);
    if (*name)
        printf("   %s", name);
    if (*email)
        printf("   <%s>", email);
    const char *terms = sk_cli_hash_get(p, "terms", ""),
               *statement = sk_cli_hash_get(p, "statement", "");
    const char *tz = sk_cli_hash_get(p, "tz", ""), *locale = sk_cli_hash_get(p, "locale", "");
    printf("\nterms %s   statement %s\n", *terms ? terms : "-", *statement ? statement : "-");
    printf("zone %s   locale %s   reminders %s\n", *tz ? tz : "default", *locale ? locale : "-",
           s_opted_out(p) ? "off (opted out: no reminders, no statements)" : "on");
    printf("today %s\n", sk_cli_date_wd(v->today, a, sizeof a));

    if (v->nopen == 0)
        printf("\nno open invoices\n");
    for (size_t i = 0; i < v->nopen; i++) {
        const s_open_t *o = &v->open[i];
        const sk_schedule_t *s = &o->inv.schedule;
        const sk_currency_t *cur = s->currency;
        long to_net = (long)(s->net_due - v->today);
        printf("\n%s   %s %s   balance %s   shipped %s   net due %s", o->inv.order_id,
               sk_money_format(s->amount, cur, a, sizeof a), cur->code,
               sk_money_format(o->inv.balance, cur, b, sizeof b),
               sk_cli_date_wd(s->baseline, c, sizeof c), sk_cli_date_wd(s->net_due, d, sizeof d));
        if (to_net < 0)
            printf(" (OVERDUE by %ld day%s)\n", -to_net, to_net == -1 ? "" : "s");
        else
            printf(" (in %ld day%s)\n", to_net, to_net == 1 ? "" : "s");
        if (o->nwindows == 0) {
            /* An overdue invoice says so in its headline; nothing more to show. */
            if (to_net >= 0)
                printf("  every discount window has closed: pay %s %s by the net due date\n",
                       sk_money_format(o->inv.balance, cur, a, sizeof a), cur->code);
            continue;
        }
        static const char *const hd[] = {"tier", "rate", "pay by", "days left", "pay", "saves"};
        sk_cli_table_t *t = sk_cli_table_new(6, hd, "rrlrrr");
        if (!t)
            return sk_cli_fail(VERB, "out of memory");
        int bad = 0;
        for (int k = 0; k < o->nwindows; k++) {
            const s_window_t *w = &o->windows[k];
            char tier[16], left[16];
            snprintf(tier, sizeof tier, "%d", w->tier + 1);
            snprintf(left, sizeof left, "%ld", (long)(w->last_day - v->today));
            const char *row[] = {tier,
                                 sk_cli_rate_pct(w->rate_ppm, a, sizeof a),
                                 sk_cli_date_wd(w->last_day, b, sizeof b),
                                 left,
                                 sk_money_format(w->pay, cur, c, sizeof c),
                                 sk_money_format(w->saves, cur, d, sizeof d)};
            bad |= sk_cli_table_add(t, row);
        }
        char left[16];
        snprintf(left, sizeof left, "%ld", to_net);
        const char *row[] = {"net",
                             "",
                             sk_cli_date_wd(s->net_due, b, sizeof b),
                             left,
                             sk_money_format(o->inv.balance, cur, c, sizeof c),
                             sk_money_format(0, cur, e, sizeof e)};
        bad |= sk_cli_table_add(t, row);
        if (!bad)
            sk_cli_table_print(t, stdout);
        sk_cli_table_destroy(&t);
        if (bad)
            return sk_cli_fail(VERB, "out of memory");
    }
    if (v->ntotals) {
        printf("\n");
        for (int i = 0; i < v->ntotals; i++) {
            const s_total_t *t = &v->totals[i];
            printf("open %s %s in %ld invoice%s; paying each in its next window saves %s %s\n",
                   sk_money_format(t->balance, t->cur, a, sizeof a), t->cur->code, t->invoices,
                   t->invoices == 1 ? "" : "s", sk_money_format(t->saves_next, t->cur, b, sizeof b),
                   t->cur->code);
        }
    }
    s_hist_t h;
    s_history(v->history, &h);
    printf("\nhistory: %ld invoice%s closed", h.closed, h.closed == 1 ? "" : "s");
    for (int t = 0; t <= h.max_tier; t++)
        printf("%s tier %d: %ld", t ? "," : ";", t + 1, h.tiers[t]);
    printf("%s after the windows: %ld\n", h.max_tier >= 0 ? "," : ";", h.after);
    return SK_EXIT_OK;
}

/* ---- the verb --------------------------------------------------------------- */

/* The day windows are judged from: --today, else the stack's clock
 * (common/io/sk_clock: SKONTO_TODAY, SKONTO_CLOCK; with SKONTO_CLOCK=redis
 * the simulated day, read on c), else the UTC date. */
static int s_today(const char *opt, redisContext *c, sk_day_t *out)
{
    sk_err_t err;
    sk_err_clear(&err);
    if (opt) {
        if (sk_date_parse(opt, out, &err) < 0)
            return sk_cli_opt_err(VERB, "today", opt, &err);
        return SK_EXIT_OK;
    }
    sk_clock_t *clock = sk_clock_new_env(&err);
    if (!clock)
        return sk_cli_usage_error(VERB, "%s", err.msg);
    int rc = SK_EXIT_OK;
    if (sk_clock_tick(clock, c, &err))
        rc = sk_cli_fail(VERB, "%s", err.msg);
    *out = sk_clock_today(clock);
    sk_clock_destroy(&clock);
    return rc;
}

/* ---- optout / optin ------------------------------------------------------- */

typedef struct {
    const char *customer_id;
    bool got;
    int status;
    char event_id[SK_EVENT_ID_MAX * 2 + 1], reason_code[64], message[512];
} s_ack_t;

static void s_keep_ack(void *arg, const Skonto__V1__Ack *ack)
{
    s_ack_t *a = arg;
    a->got = true;
    a->status = (int)ack->status;
    snprintf(a->event_id, sizeof a->event_id, "%s", ack->event_id ? ack->event_id : "");
    snprintf(a->reason_code, sizeof a->reason_code, "%s", ack->reason_code ? ack->reason_code : "");
    snprintf(a->message, sizeof a->message, "%s", ack->message ? ack->message : "");
}

static const char *s_ack_status(int st)
{
    switch (st) {
    case SKONTO__V1__ACK_STATUS__ACK_ACCEPTED:
        return "accepted";
    case SKONTO__V1__ACK_STATUS__ACK_DUPLICATE:
        return "duplicate";
    case SKONTO__V1__ACK_STATUS__ACK_REJECTED:
        return "rejected";
    default:
        return "unknown";
    }
}

/* A fresh event id for each call: "ctl-<verb>-<ms>-<16 hex>", at most 48
 * characters, so two calls (even in one millisecond) are two events. */
static int s_fresh_event_id(const char *word, char *buf, size_t n)
{
    uint8_t r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int k = snprintf(buf, n, "ctl-%s-%lld-", word, ms);
    for (size_t i = 0; i < sizeof r && k > 0 && (size_t)k + 2 < n; i++)
        k += snprintf(buf + k, n - (size_t)k, "%02x", r[i]);
    return 0;
}

/* One read-only EXISTS: 0 known, else an exit status (said). */
static int s_known(void *arg)
{
    const char *cid = ((const s_ack_t *)arg)->customer_id;
    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    char key[SK_KEY_MAX];
    const char *av[2] = {"EXISTS", sk_key_customer(key, sk_shard_of(cid), cid)};
    redisReply *r = sk_cli_redis_command(VERB, c, 2, av);
    redisFree(c);
    if (!r)
        return SK_EXIT_FAIL;
    bool known = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    if (!known)
        return sk_cli_fail(VERB,
                           "customer %s is unknown: nothing was sent (send the customer "
                           "first)",
                           cid);
    return SK_EXIT_OK;
}

static int s_opt(int argc, char **argv, bool off)
{
    const char *word = argv[1];
    if (argc < 3 || argv[2][0] == '-')
        return sk_cli_usage_error(VERB, "which customer? usage: skontoctl customer %s CUSTOMER_ID",
                                  word);
    const char *cid = argv[2];
    sk_err_t err;
    if (sk_event_check_id("customer id", cid, strlen(cid), true, &err))
        return sk_cli_usage_error(VERB, "%s", err.msg);
    char eid[64];
    if (s_fresh_event_id(word, eid, sizeof eid) < 0)
        return sk_cli_fail(VERB, "no random bytes for the event id: %s", strerror(errno));
    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "customer", "event_id", eid, "source",
                  "skontoctl", "customer_id", cid, "reminders", off ? "off" : "on");
    char *line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!line)
        return sk_cli_fail(VERB, "out of memory");
    s_ack_t ack;
    memset(&ack, 0, sizeof ack);
    ack.customer_id = cid;
    bool json = false;
    /* argv + 2: the id stands where the scanner skips a verb name; the rest are options */
    int rc = sk_cli_send_line(VERB, line, argc - 2, argv + 2, &json, s_known, s_keep_ack, &ack);
    free(line);
    if (rc != SK_EXIT_OK)
        return rc;
    if (!ack.got)
        return sk_cli_fail(VERB, "no answer from ingest for event %s", eid);
    bool accepted = ack.status == SKONTO__V1__ACK_STATUS__ACK_ACCEPTED ||
                    ack.status == SKONTO__V1__ACK_STATUS__ACK_DUPLICATE;
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "customer_id", cid, "reminders",
                              off ? "off" : "on", "event_id", ack.event_id, "status",
                              s_ack_status(ack.status), "reason_code", ack.reason_code, "message",
                              ack.message);
        rc = sk_cli_json_print(VERB, o);
        if (rc != SK_EXIT_OK)
            return rc;
    } else if (accepted) {
        printf("customer %s: %s (event %s %s by ingest)\n", cid,
               off ? "opted out: no more reminders or statements"
                   : "opted in: reminders and statements again",
               ack.event_id, s_ack_status(ack.status));
    }
    if (!accepted)
        return sk_cli_fail(VERB, "ingest %s event %s: %s: %s", s_ack_status(ack.status),
                           ack.event_id, ack.reason_code, ack.message);
    return sk_cli_finish(VERB);
}

int sk_cmd_customer(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    if (argc >= 2 && (!strcmp(argv[1], "optout") || !strcmp(argv[1], "optin")))
        return s_opt(argc, argv, !strcmp(argv[1], "optout"));
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *words[2] = {NULL, NULL}, *value, *today_opt = NULL;
    int nwords = 0, o;
    bool json = false;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (sk_cli_show_word(VERB, S_USAGE, words, &nwords, value) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
        } else if (!strcmp(s_opts[o].name, "today")) {
            today_opt = value;
        } else {
            json = true;
        }
    }
    if (sk_cli_show_check(VERB, S_USAGE, words, nwords) != SK_EXIT_OK)
        return SK_EXIT_USAGE;
    s_view_t v;
    memset(&v, 0, sizeof v);
    v.customer_id = words[1];
    if (today_opt) {
        /* a bad --today is a usage error before anything is read */
        int rc = s_today(today_opt, NULL, &v.today);
        if (rc != SK_EXIT_OK)
            return rc;
    }
    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    int rc = today_opt ? SK_EXIT_OK : s_today(NULL, c, &v.today);
    if (rc == SK_EXIT_OK)
        rc = s_load(c, &v);
    redisFree(c);
    if (rc == SK_EXIT_OK) {
        rc = json ? sk_cli_json_print(VERB, s_json(&v)) : s_print(&v);
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    if (v.profile)
        freeReplyObject(v.profile);
    if (v.history)
        freeReplyObject(v.history);
    free(v.open);
    return rc;
}
