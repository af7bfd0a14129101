/* forecast — `skontoctl forecast`: expected accounts receivable, two ways.
 *
 * The discount worker keeps, per shard, two hashes of expected cash:
 * sk:{sN}:fc:hist (each open invoice on the day its customer's history says
 * it will be paid, at the amount payable then) and sk:{sN}:fc:net (as if
 * every invoice were paid in full on its net due date). Fields are
 * "YYYY-MM-DD|CUR", values minor units. This verb sums the 16 shards, groups
 * by day or ISO week (Monday to Sunday, labelled by its Monday), and prints
 * per currency both series, their difference (positive: cash the discounts
 * bring forward to that period) and running totals. Currencies are never
 * added together. Read-only; two round trips' worth of pipelined HGETALLs. */
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
#include "keys.h"
#include "sk_grow.h"
#include "sk_redis.h"

#define VERB "forecast"

static const sk_cli_opt_t s_opts[] = {
    {"from", true, false},     {"to", true, false},    {"by", true, false},
    {"currency", true, false}, {"json", false, false}, {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out, "usage: skontoctl forecast [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by day|week]\n"
                 "                          [--currency CUR] [--json]\n"
                 "\n"
                 "Expected accounts receivable: the cash the open invoices' balances should\n"
                 "bring in, per day or per week, computed two ways:\n"
                 "  by history  each invoice on the last day of the discount window its\n"
                 "              customer has paid in most often, at the amount payable then\n"
                 "              (a customer without such a habit: at net);\n"
                 "  at net      every invoice paid in full on its net due date.\n"
                 "The difference (by history - at net) is the cash the discounts bring forward:\n"
                 "positive in the periods where it arrives early, negative later. The running\n"
                 "totals show how much more cash is in hand by each date. Over all dates the\n"
                 "total by history is lower than at net by the discounts customers are expected\n"
                 "to take (with --from/--to an invoice may fall inside the range one way and\n"
                 "outside it the other).\n"
                 "\n"
                 "options:\n"
                 "  --from D, --to D   only days from D / up to D (inclusive); default: all\n"
                 "  --by day|week      group by day (default) or by ISO week, Monday to Sunday,\n"
                 "                     labelled by its Monday\n"
                 "  --currency CUR     only this currency (e.g. CNY); default: each in turn\n"
                 "  --json             print as JSON: {by, from, to, currencies [{currency, rows\n"
                 "                     [{date, by_history, at_net, difference, cum_by_history,\n"
                 "                     cum_at_net, cum_difference}], total {by_history, at_net,\n"
                 "                     difference}}]}; amounts are decimal strings\n"
                 "\n"
                 "Environment: SKONTO_REDIS_URL.\n");
}

typedef struct {
    char cur[4];
    sk_day_t day; /* the bucket: the day, or the Monday of its week */
    int64_t hist, net;
} s_cell_t;

typedef struct {
    s_cell_t *cells;
    size_t n, cap;
    bool by_week;
    sk_day_t from, to; /* inclusive; -1 = unbounded */
    const char *only;  /* currency filter or NULL */
    long skipped;      /* malformed fields */
} s_fc_t;

static int s_add(s_fc_t *f, const char *cur, sk_day_t day, int64_t v, bool hist)
{
    s_cell_t *cells = sk_grow(f->cells, f->n, &f->cap, sizeof *cells, 256);
    if (!cells)
        return -1;
    f->cells = cells;
    s_cell_t *c = &f->cells[f->n++];
    memcpy(c->cur, cur, 4);
    c->day = day;
    c->hist = hist ? v : 0;
    c->net = hist ? 0 : v;
    return 0;
}

/* Takes one field/value of a forecast hash; malformed ones are counted and skipped. */
static int s_take(s_fc_t *f, const redisReply *field, const redisReply *value, bool hist)
{
    if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING ||
        field->len != 14 || field->str[10] != '|') {
        f->skipped++;
        return 0;
    }
    char date[11], cur[4];
    memcpy(date, field->str, 10);
    date[10] = '\0';
    memcpy(cur, field->str + 11, 3);
    cur[3] = '\0';
    sk_day_t day;
    long long v;
    char *end;
    if (sk_date_parse(date, &day, NULL) < 0 || !sk_currency_find(cur)) {
        f->skipped++;
        return 0;
    }
    v = strtoll(value->str, &end, 10);
    if (end == value->str || *end || v < -SK_MONEY_MAX || v > SK_MONEY_MAX) {
        f->skipped++;
        return 0;
    }
    if (v == 0 || (f->from >= 0 && day < f->from) || (f->to >= 0 && day > f->to) ||
        (f->only && strcmp(f->only, cur)))
        return 0;
    if (f->by_week)
        day -= sk_date_weekday(day) - 1;
    return s_add(f, cur, day, v, hist);
}

static int s_cmp(const void *a, const void *b)
{
    const s_cell_t *x = a, *y = b;
    int c = strcmp(x->cur, y->cur);
    if (c)
        return c;
    return (x->day > y->day) - (x->day < y->day);
}

/* Reads all 32 hashes (one pipeline) into f, then sorts and merges the cells. */
static int s_load(redisContext *c, s_fc_t *f)
{
    char key[SK_KEY_MAX];
    for (int s = 0; s < SK_SHARDS; s++) {
        for (int h = 0; h < 2; h++) {
            const char *av[2] = {"HGETALL", h == 0 ? sk_key_forecast_history(key, s)
                                                   : sk_key_forecast_net(key, s)};
            if (sk_cli_redis_append(VERB, c, 2, av) != SK_EXIT_OK)
                return SK_EXIT_FAIL;
        }
    }
    int rc = SK_EXIT_OK;
    for (int i = 0; i < 2 * SK_SHARDS; i++) {
        redisReply *r = sk_cli_redis_reply(VERB, c);
        if (!r)
            return SK_EXIT_FAIL;
        if (rc != SK_EXIT_OK) {
            freeReplyObject(r);
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR)
            rc = sk_cli_fail(VERB, "Redis HGETALL %s: %s",
                             i % 2 ? sk_key_forecast_net(key, i / 2)
                                   : sk_key_forecast_history(key, i / 2),
                             r->str);
        else if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
            rc = sk_cli_fail(VERB, "Redis HGETALL: unexpected reply");
        for (size_t k = 0; rc == SK_EXIT_OK && k + 1 < r->elements; k += 2)
            if (s_take(f, r->element[k], r->element[k + 1], i % 2 == 0) < 0)
                rc = sk_cli_fail(VERB, "out of memory");
        freeReplyObject(r);
    }
    if (rc != SK_EXIT_OK)
        return rc;
    if (f->skipped)
        fprintf(stderr, "skontoctl forecast: skipped %ld malformed forecast field%s\n", f->skipped,
                f->skipped == 1 ? "" : "s");
    if (f->n)
        qsort(f->cells, f->n, sizeof *f->cells, s_cmp);
    size_t out = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (out && !s_cmp(&f->cells[out - 1], &f->cells[i])) {
            f->cells[out - 1].hist += f->cells[i].hist;
            f->cells[out - 1].net += f->cells[i].net;
        } else {
            f->cells[out++] = f->cells[i];
        }
    }
    f->n = out;
    return SK_EXIT_OK;
}

/* ---- output: one section per currency, cells [i, j) ---------------------------- */

static json_t *s_json(const s_fc_t *f)
{
    json_t *root = json_object(), *curs = json_array();
    if (!root || !curs) {
        json_decref(root);
        json_decref(curs);
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(root, "by", json_string(f->by_week ? "week" : "day"));
    bad |=
        json_object_set_new(root, "from", f->from >= 0 ? sk_cli_json_date(f->from) : json_null());
    bad |= json_object_set_new(root, "to", f->to >= 0 ? sk_cli_json_date(f->to) : json_null());
    for (size_t i = 0, j; i < f->n; i = j) {
        const sk_currency_t *cur = sk_currency_find(f->cells[i].cur);
        json_t *rows = json_array();
        int64_t ch = 0, cn = 0;
        for (j = i; j < f->n && !strcmp(f->cells[j].cur, f->cells[i].cur); j++) {
            const s_cell_t *c = &f->cells[j];
            ch += c->hist;
            cn += c->net;
            bad |= json_array_append_new(
                rows,
                json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "date", sk_cli_json_date(c->day),
                          "by_history", sk_cli_json_money(c->hist, cur), "at_net",
                          sk_cli_json_money(c->net, cur), "difference",
                          sk_cli_json_money(c->hist - c->net, cur), "cum_by_history",
                          sk_cli_json_money(ch, cur), "cum_at_net", sk_cli_json_money(cn, cur),
                          "cum_difference", sk_cli_json_money(ch - cn, cur)));
        }
        bad |= json_array_append_new(curs, json_pack("{s:s, s:o, s:{s:o, s:o, s:o}}", "currency",
                                                     cur->code, "rows", rows, "total", "by_history",
                                                     sk_cli_json_money(ch, cur), "at_net",
                                                     sk_cli_json_money(cn, cur), "difference",
                                                     sk_cli_json_money(ch - cn, cur)));
    }
    bad |= json_object_set_new(root, "currencies", curs);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int s_print(const s_fc_t *f)
{
    if (f->n == 0) {
        printf("no expected receivables%s\n",
               (f->from >= 0 || f->to >= 0 || f->only) ? " in the range asked for" : "");
        return SK_EXIT_OK;
    }
    static const char *const hd[] = {"",
                                     "by history",
                                     "at net",
                                     "difference",
                                     "cum. by history",
                                     "cum. at net",
                                     "cum. difference"};
    for (size_t i = 0, j; i < f->n; i = j) {
        const sk_currency_t *cur = sk_currency_find(f->cells[i].cur);
        char h0[24];
        snprintf(h0, sizeof h0, "%s", f->by_week ? "week of" : "date");
        const char *headers[7];
        memcpy(headers, hd, sizeof headers);
        headers[0] = h0;
        sk_cli_table_t *t = sk_cli_table_new(7, headers, "lrrrrrr");
        if (!t)
            return sk_cli_fail(VERB, "out of memory");
        int64_t ch = 0, cn = 0;
        int bad = 0;
        char d[24], a[40], b[40], c[40], e[40], g[40], k[40];
        for (j = i; j < f->n && !strcmp(f->cells[j].cur, f->cells[i].cur); j++) {
            const s_cell_t *cell = &f->cells[j];
            ch += cell->hist;
            cn += cell->net;
            const char *row[] = {sk_cli_date_wd(cell->day, d, sizeof d),
                                 sk_money_format(cell->hist, cur, a, sizeof a),
                                 sk_money_format(cell->net, cur, b, sizeof b),
                                 sk_money_format(cell->hist - cell->net, cur, c, sizeof c),
                                 sk_money_format(ch, cur, e, sizeof e),
                                 sk_money_format(cn, cur, g, sizeof g),
                                 sk_money_format(ch - cn, cur, k, sizeof k)};
            bad |= sk_cli_table_add(t, row);
        }
        if (!bad) {
            printf("%s%s, by %s\n", i ? "\n" : "", cur->code, f->by_week ? "week" : "day");
            sk_cli_table_print(t, stdout);
            printf("total %s: by history %s, at net %s, difference %s\n", cur->code,
                   sk_money_format(ch, cur, a, sizeof a), sk_money_format(cn, cur, b, sizeof b),
                   sk_money_format(ch - cn, cur, c, sizeof c));
        }
        sk_cli_table_destroy(&t);
        if (bad)
            return sk_cli_fail(VERB, "out of memory");
    }
    return SK_EXIT_OK;
}

int sk_cmd_forecast(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    s_fc_t f;
    memset(&f, 0, sizeof f);
    f.from = f.to = -1;
    bool json = false;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *value;
    int o;
    while ((o = sk_cli_scan_opt(&sc, "skontoctl forecast --help", &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = s_opts[o].name;
        sk_err_t err;
        sk_err_clear(&err);
        if (!strcmp(name, "from") || !strcmp(name, "to")) {
            sk_day_t *d = !strcmp(name, "from") ? &f.from : &f.to;
            if (sk_date_parse(value, d, &err) < 0)
                return sk_cli_opt_err(VERB, name, value, &err);
        } else if (!strcmp(name, "by")) {
            if (!strcmp(value, "week"))
                f.by_week = true;
            else if (strcmp(value, "day"))
                return sk_cli_opt_error(VERB, name, value, "want day or week");
        } else if (!strcmp(name, "currency")) {
            if (!sk_currency_find(value))
                return sk_cli_opt_error(VERB, name, value,
                                        "not a currency Skonto knows (want an ISO 4217 code such "
                                        "as CNY, in capitals)");
            f.only = value;
        } else if (!strcmp(name, "json")) {
            json = true;
        }
    }
    if (f.from >= 0 && f.to >= 0 && f.to < f.from) {
        char a[16], b[16];
        return sk_cli_usage_error(VERB, "--to %s is before --from %s",
                                  sk_date_format(f.to, a, sizeof a),
                                  sk_date_format(f.from, b, sizeof b));
    }
    redisContext *c = sk_cli_redis_connect(VERB);
    if (!c)
        return SK_EXIT_FAIL;
    int rc = s_load(c, &f);
    redisFree(c);
    if (rc == SK_EXIT_OK) {
        rc = json ? sk_cli_json_print(VERB, s_json(&f)) : s_print(&f);
        if (rc == SK_EXIT_OK)
            rc = sk_cli_finish(VERB);
    }
    free(f.cells);
    return rc;
}
