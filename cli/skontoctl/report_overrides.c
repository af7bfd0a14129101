/* report_overrides — `skontoctl report overrides`: who asks for overrides
 * for whom, who approves them, and how much money they gave: the collusion
 * signals of issue 9.
 *
 * Reads every OverrideRecord of sk:{audit}:ovr (override_records.h, which
 * `report policy` shares) whose request falls between --from and --to (UTC
 * days, inclusive), and groups them by salesperson x customer. The salesperson is the invoice's
 * (OverrideRecord.salesperson), else the user who asked. Per pair:
 *   requested  every request;
 *   approved   those a director approved (approved, applied or stale);
 *   refused    rejected + expired + stale + refused decision attempts;
 *   granted    the effects the discount worker applied, per currency;
 *   approvers  who approved them.
 * A pair is flagged (and listed first) when it has 3 or more requests, or
 * when what it was granted is more than 20 % of the discount on the invoices
 * its overrides touched (the invoices' discount_total as stored now, which
 * includes what the overrides granted; read once per invoice). Customer-wide
 * discount totals are not kept by the discount worker (only per shard and
 * currency), hence that base. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_audit.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "date.h"
#include "invoice_store.h"
#include "keys.h"
#include "money.h"
#include "override_records.h"
#include "sk_grow.h"
#include "sk_map.h"

#define VERB "report overrides"
#define S_CUR_MAX 8   /* currencies per pair */
#define S_NAMES_MAX 8 /* approvers listed per pair */
#define S_PAIRS_MAX 1000000
#define S_FLAG_COUNT 3
#define S_FLAG_SHARE_PCT 20

typedef struct {
    char code[8];
    int64_t granted, base; /* base: discount_total of the invoices touched */
} s_cur_t;

typedef struct {
    char *salesperson, *customer;
    long requested, approved, refused;
    s_cur_t cur[S_CUR_MAX];
    int ncur;
    char *approvers[S_NAMES_MAX];
    int napprovers;
    bool flagged;
    char why[96];
} s_pair_t;

typedef struct {
    s_pair_t *pairs;
    size_t n, cap;
    sk_map_t *index;   /* "sp\tcustomer" -> pair */
    sk_map_t *touched; /* "pair\torder" -> 1 */
    redisContext *c;
    bool nomem;
} s_report_t;

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl report overrides [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]\n"
            "\n"
            "Overrides per salesperson and customer, to see collusion: how many each\n"
            "salesperson asked for each customer, how many were approved and refused\n"
            "(rejected, expired, stale, or a refused decision attempt), the money they\n"
            "granted (the effects applied, per currency) and who approved them.\n"
            "The salesperson is the invoice's, else the user who asked.\n"
            "\n"
            "Pairs that stand out come first, marked FLAG: 3 or more requests, or money\n"
            "granted above 20 %% of the discount on the invoices their overrides touched\n"
            "(the invoices' discount as stored now, overrides included; Skonto keeps no\n"
            "customer-wide discount total).\n"
            "\n"
            "options:\n"
            "  --from D   only requests made on or after day D (UTC)\n"
            "  --to D     only requests made on or before day D (UTC)\n"
            "  --json     {\"from\", \"to\", \"pairs\": [{salesperson, customer_id, requested,\n"
            "             approved, refused, granted: [{currency, amount, discount_base,\n"
            "             share_pct}], approvers, flagged, why}]}\n"
            "\n"
            "Example: skontoctl report overrides --from 2026-11-01 --to 2026-11-30\n"
            "Exit status: 0, 1 Redis unreachable, 2 invalid usage.\n"
            "Environment: SKONTO_REDIS_URL, SKONTO_REDIS_USER, SKONTO_REDIS_PASSWORD_FILE.\n");
}

static char *s_dup(s_report_t *r, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        r->nomem = true;
    return d;
}

static s_pair_t *s_pair(s_report_t *r, const char *sp, const char *cust, size_t *idx)
{
    char key[2 * 300];
    snprintf(key, sizeof key, "%s\t%s", sp, cust);
    intptr_t v;
    if (sk_map_get(r->index, key, &v)) {
        *idx = (size_t)v;
        return &r->pairs[v];
    }
    s_pair_t *a = sk_grow(r->pairs, r->n, &r->cap, sizeof *a, 64);
    if (!a) {
        r->nomem = true;
        return NULL;
    }
    r->pairs = a;
    s_pair_t *p = &r->pairs[r->n];
    memset(p, 0, sizeof *p);
    p->salesperson = s_dup(r, sp);
    p->customer = s_dup(r, cust);
    if (sk_map_put(r->index, key, (intptr_t)r->n) < 0)
        r->nomem = true;
    *idx = r->n++;
    return p;
}

static s_cur_t *s_cur(s_pair_t *p, const char *code)
{
    for (int i = 0; i < p->ncur; i++)
        if (!strcmp(p->cur[i].code, code))
            return &p->cur[i];
    if (p->ncur == S_CUR_MAX)
        return NULL;
    s_cur_t *c = &p->cur[p->ncur++];
    memset(c, 0, sizeof *c);
    snprintf(c->code, sizeof c->code, "%s", code);
    return c;
}

/* The discount on an invoice the pair touched, counted once per pair. */
static void s_touch(s_report_t *r, s_pair_t *p, size_t idx, const char *order)
{
    char key[400];
    snprintf(key, sizeof key, "%zu\t%s", idx, order);
    intptr_t v;
    if (sk_map_get(r->touched, key, &v))
        return;
    if (sk_map_put(r->touched, key, 1) < 0) {
        r->nomem = true;
        return;
    }
    sk_invoice_t *inv = calloc(1, sizeof *inv);
    sk_err_t err;
    if (inv && sk_invoice_fetch(r->c, order, inv, &err) == 0 && inv->schedule.currency) {
        s_cur_t *c = s_cur(p, inv->schedule.currency->code);
        if (c)
            c->base += inv->discount_total;
    }
    free(inv);
}

/* One record (sk_override_record_fn). */
static void s_add(void *arg, const Skonto__V1__OverrideRecord *o, const char *sp)
{
    s_report_t *r = arg;
    const Skonto__V1__OverrideRequested *q = o->request;
    size_t idx;
    s_pair_t *p = s_pair(r, sp, o->customer_id, &idx);
    if (!p)
        return;
    p->requested++;
    bool approved = sk_override_record_approved(o);
    if (approved)
        p->approved++;
    p->refused += sk_override_record_refusals(o);
    if (o->status == SKONTO__V1__OVERRIDE_RECORD__STATUS__APPLIED && o->applied &&
        !*o->applied->refusal_code && *o->applied->currency) {
        s_cur_t *c = s_cur(p, o->applied->currency);
        if (c)
            c->granted += o->applied->effect;
    }
    if (approved && o->decision && *o->decision->decided_by) {
        bool seen = false;
        for (int i = 0; i < p->napprovers; i++)
            seen |= !strcmp(p->approvers[i], o->decision->decided_by);
        if (!seen && p->napprovers < S_NAMES_MAX)
            p->approvers[p->napprovers++] = s_dup(r, o->decision->decided_by);
    }
    if (*q->order_id)
        s_touch(r, p, idx, q->order_id);
}

static int s_scan(s_report_t *r, sk_day_t from, sk_day_t to)
{
    char why[512];
    if (sk_override_records_scan(VERB, r->c, from, to, s_add, r, &r->nomem, why, sizeof why) != 0)
        return sk_cli_fail(VERB, "%s", why);
    if (r->nomem)
        return sk_cli_fail(VERB, "out of memory");
    return SK_EXIT_OK;
}

/* share of granted in base, percent * 100 (bp); -1 when base is 0 */
static int64_t s_share_bp(const s_cur_t *c)
{
    return c->base > 0 ? (int64_t)((__int128)c->granted * 10000 / c->base) : -1;
}

static void s_flag(s_pair_t *p)
{
    if (p->requested >= S_FLAG_COUNT) {
        p->flagged = true;
        snprintf(p->why, sizeof p->why, "%ld requests", p->requested);
    }
    for (int i = 0; i < p->ncur; i++) {
        int64_t bp = s_share_bp(&p->cur[i]);
        if (p->cur[i].granted > 0 && (bp < 0 || bp > S_FLAG_SHARE_PCT * 100)) {
            size_t n = strlen(p->why);
            char pct[24];
            snprintf(
                p->why + n, sizeof p->why - n, "%sgranted %s of the discount (%s)", n ? "; " : "",
                bp < 0 ? "all"
                       : sk_cli_bp_pct((int32_t)(bp > 1000000 ? 1000000 : bp), pct, sizeof pct),
                p->cur[i].code);
            p->flagged = true;
        }
    }
}

static int s_by_flag(const void *a, const void *b)
{
    const s_pair_t *x = a, *y = b;
    if (x->flagged != y->flagged)
        return x->flagged ? -1 : 1;
    if (x->requested != y->requested)
        return x->requested > y->requested ? -1 : 1;
    int c = strcmp(x->salesperson, y->salesperson);
    return c ? c : strcmp(x->customer, y->customer);
}

static void s_granted_text(const s_pair_t *p, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->ncur && off < n; i++) {
        if (!p->cur[i].granted)
            continue;
        char amt[96];
        off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? ", " : "",
                                sk_cli_amount(p->cur[i].granted, p->cur[i].code, amt, sizeof amt));
    }
    if (!buf[0])
        snprintf(buf, n, "-");
}

static void s_approvers_text(const s_pair_t *p, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->napprovers && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? "," : "", p->approvers[i]);
    if (!buf[0])
        snprintf(buf, n, "-");
}

static int s_print(s_report_t *r, bool json, const char *from, const char *to)
{
    if (json) {
        json_t *root = json_object(), *arr = json_array();
        int bad = !root || !arr;
        for (size_t i = 0; !bad && i < r->n; i++) {
            const s_pair_t *p = &r->pairs[i];
            json_t *o = json_object(), *g = json_array(), *ap = json_array();
            bad |= !o || !g || !ap;
            for (int k = 0; !bad && k < p->ncur; k++) {
                const sk_currency_t *cur = sk_currency_find(p->cur[k].code);
                int64_t bp = s_share_bp(&p->cur[k]);
                json_t *c = json_object();
                bad |= !c || !cur;
                if (bad)
                    break;
                bad |= json_object_set_new(c, "currency", json_string(p->cur[k].code));
                bad |= json_object_set_new(c, "amount", sk_cli_json_money(p->cur[k].granted, cur));
                bad |=
                    json_object_set_new(c, "discount_base", sk_cli_json_money(p->cur[k].base, cur));
                bad |= json_object_set_new(
                    c, "share_pct",
                    bp < 0 ? json_null() : sk_cli_json_bp((int32_t)(bp > 1000000 ? 1000000 : bp)));
                bad |= json_array_append_new(g, c);
            }
            for (int k = 0; !bad && k < p->napprovers; k++)
                bad |= json_array_append_new(ap, json_string(p->approvers[k]));
            if (!bad) {
                bad |= json_object_set_new(o, "salesperson", json_string(p->salesperson));
                bad |= json_object_set_new(o, "customer_id", json_string(p->customer));
                bad |= json_object_set_new(o, "requested", json_integer(p->requested));
                bad |= json_object_set_new(o, "approved", json_integer(p->approved));
                bad |= json_object_set_new(o, "refused", json_integer(p->refused));
                bad |= json_object_set_new(o, "granted", g);
                bad |= json_object_set_new(o, "approvers", ap);
                bad |= json_object_set_new(o, "flagged", json_boolean(p->flagged));
                bad |= json_object_set_new(o, "why", json_string(p->why));
                bad |= json_array_append_new(arr, o);
            } else {
                json_decref(o);
                json_decref(g);
                json_decref(ap);
            }
        }
        if (!bad) {
            bad |= json_object_set_new(root, "from", from ? json_string(from) : json_null());
            bad |= json_object_set_new(root, "to", to ? json_string(to) : json_null());
        }
        return sk_cli_json_finish(VERB, root, "pairs", arr, bad);
    }
    if (!r->n) {
        printf("no overrides%s%s%s%s\n", from ? " from " : "", from ? from : "", to ? " to " : "",
               to ? to : "");
        return sk_cli_finish(VERB);
    }
    static const char *const hdr[] = {"FLAG",      "SALESPERSON", "CUSTOMER",
                                      "REQUESTED", "APPROVED",    "REFUSED",
                                      "GRANTED",   "APPROVERS",   "WHY"};
    sk_cli_table_t *t = sk_cli_table_new(9, hdr, "lllrrrlll");
    int bad = !t;
    for (size_t i = 0; t && i < r->n; i++) {
        const s_pair_t *p = &r->pairs[i];
        char req[24], app[24], ref[24], granted[400], approvers[400];
        snprintf(req, sizeof req, "%ld", p->requested);
        snprintf(app, sizeof app, "%ld", p->approved);
        snprintf(ref, sizeof ref, "%ld", p->refused);
        s_granted_text(p, granted, sizeof granted);
        s_approvers_text(p, approvers, sizeof approvers);
        const char *cells[9] = {p->flagged ? "FLAG" : "",
                                *p->salesperson ? p->salesperson : "-",
                                p->customer,
                                req,
                                app,
                                ref,
                                granted,
                                approvers,
                                p->why[0] ? p->why : ""};
        bad |= sk_cli_table_add(t, cells) < 0;
    }
    return sk_cli_table_emit(VERB, &t, bad);
}

static int s_day_opt(const char *name, const char *value, sk_day_t *out)
{
    sk_err_t err;
    if (sk_date_parse(value, out, &err) < 0)
        return sk_cli_opt_err(VERB, name, value, &err);
    return SK_EXIT_OK;
}

static int s_overrides(int argc, char **argv)
{
    static const sk_cli_opt_t opts[] = {
        {"from", true, false}, {"to", true, false}, {"json", false, false}, {NULL, false, false}};
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, opts, argc, argv);
    const char *value, *from_s = NULL, *to_s = NULL;
    sk_day_t from = INT32_MIN, to = INT32_MAX;
    bool json = false;
    int o;
    while (
        (o = sk_cli_scan_opt(&sc, "usage: skontoctl report overrides [--from D] [--to D] [--json]",
                             &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = opts[o].name;
        if (!strcmp(name, "from")) {
            if (s_day_opt(name, value, &from) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
            from_s = value;
        } else if (!strcmp(name, "to")) {
            if (s_day_opt(name, value, &to) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
            to_s = value;
        } else {
            json = true;
        }
    }
    if (from > to)
        return sk_cli_usage_error(VERB, "--from %s is after --to %s", from_s, to_s);
    s_report_t r;
    memset(&r, 0, sizeof r);
    r.index = sk_map_new(S_PAIRS_MAX);
    r.touched = sk_map_new(S_PAIRS_MAX * 4);
    if (!r.index || !r.touched)
        return sk_cli_fail(VERB, "out of memory");
    int rc = SK_EXIT_FAIL;
    r.c = sk_cli_redis_connect(VERB);
    if (r.c && (rc = s_scan(&r, from, to)) == SK_EXIT_OK) {
        for (size_t i = 0; i < r.n; i++)
            s_flag(&r.pairs[i]);
        if (r.n)
            qsort(r.pairs, r.n, sizeof *r.pairs, s_by_flag);
        rc = s_print(&r, json, from_s, to_s);
    }
    if (r.c)
        redisFree(r.c);
    for (size_t i = 0; i < r.n; i++) {
        free(r.pairs[i].salesperson);
        free(r.pairs[i].customer);
        for (int k = 0; k < r.pairs[i].napprovers; k++)
            free(r.pairs[i].approvers[k]);
    }
    free(r.pairs);
    sk_map_destroy(&r.index);
    sk_map_destroy(&r.touched);
    return rc;
}

int sk_cmd_report(int argc, char **argv)
{
    if (argc < 2 || sk_cli_wants_help(argc, argv)) {
        s_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? SK_EXIT_USAGE : SK_EXIT_OK;
    }
    if (!strcmp(argv[1], "overrides"))
        return s_overrides(argc - 1, argv + 1);
    return sk_cli_usage_error("report", "unknown report \"%s\" (want overrides or policy)", argv[1]);
}
