/* override — `skontoctl override request|approve|reject|list|show`: asking
 * for a change to an invoice's computed discount, and deciding on it.
 *
 * Every subcommand sends one AuditRequest to the audit worker
 * (SKONTO_AUDIT_ENDPOINT, CURVE) and prints its AuditReply. Who is asking is
 * the user the key registry names for the caller's CURVE key
 * (SKONTO_CURVE_KEY_FILE), never anything typed here: the worker checks the
 * role (sales request, directors decide, never their own request), computes
 * the money from the invoice as stored and logs every attempt, refused or
 * not. Nothing here reads or writes Redis, except `request --grant TIER`
 * without a payment, which reads the invoice to name its last payment. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "cli_audit.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_redis.h"
#include "cli_rpc.h"
#include "date.h"
#include "invoice_store.h"
#include "money.h"

#define S_TEXT_MAX 200 /* bytes of a reason or comment */

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl override request ORDER --rev N CHANGE --reason TEXT\n"
            "                                  [--request-id ID] [--json]\n"
            "         CHANGE is one of --extend TIER:YYYY-MM-DD | --grant TIER[:PAYMENT]\n"
            "                          | --rate TIER:PCT | --waive\n"
            "       skontoctl override approve ID [--rev N] [--comment TEXT] [--json]\n"
            "       skontoctl override reject ID [--comment TEXT] [--json]\n"
            "       skontoctl override list [--order ORDER] [--status S] [--limit N] [--json]\n"
            "       skontoctl override show ID [--json]\n"
            "\n"
            "An override changes what an invoice's terms computed: it needs a request by a\n"
            "salesperson and the approval of a director, and every step (refused ones\n"
            "too) is written to the audit log that auditors check.\n"
            "\n"
            "request  (role sales) asks to change one invoice, as it is at revision N (the\n"
            "         revision skontoctl order show prints; a request made against an older\n"
            "         revision is refused as stale). The change is one of:\n"
            "           --extend TIER:DATE   move tier TIER's last day to DATE (later)\n"
            "           --grant TIER[:PAYMENT] give tier TIER's discount to a payment made\n"
            "                                after its window closed (default: the last\n"
            "                                payment, which is the only one allowed)\n"
            "           --rate TIER:PCT      raise tier TIER's rate to PCT percent\n"
            "           --waive              forgive the unearned discount of the last payment\n"
            "         TIER is t0, t1 ... (or 0, 1 ...) as order show lists the tiers. The\n"
            "         worker computes the extra discount the change grants (the effect);\n"
            "         --reason says why (required, at most 200 bytes). --request-id makes a\n"
            "         retry safe: the same user and id return the first request (default: a\n"
            "         random id, printed).\n"
            "approve  (role sales_director or finance_director, never the requester)\n"
            "         approves request ID; an effect above SKONTO_OVERRIDE_FINANCE_ABOVE\n"
            "         needs a finance_director. --rev N: the revision you looked at (refused\n"
            "         as stale if the invoice changed since). A request expires after\n"
            "         SKONTO_OVERRIDE_TTL. The approved change is then applied to the\n"
            "         invoice by the discount worker.\n"
            "reject   (a director) rejects request ID.\n"
            "list     (any registered user) overrides, newest first (default 100, at\n"
            "         most 1000); --status pending|approved|rejected|expired|applied|stale.\n"
            "show     (any registered user) one override: who asked and decided, when,\n"
            "         old and new value, the money.\n"
            "\n"
            "options:\n"
            "  --json           print the reply as JSON: {\"status\", \"code\", \"message\",\n"
            "                   \"entry_seq\", \"overrides\": [{id, order_id, customer_id,\n"
            "                   salesperson, status, change, old_value, new_value,\n"
            "                   invoice_revision, effect, currency, reason, request_id,\n"
            "                   requested_by, requester_role, requested_at, expires_at,\n"
            "                   decision, applied, refused_decisions}]}\n");
    sk_cli_peer_help(out);
    fprintf(out, "\n"
                 "Examples:\n"
                 "  skontoctl override request SO-1 --rev 2 --extend t1:2026-11-20 \\\n"
                 "      --reason \"customer's bank holiday, paid a day late\"\n"
                 "  skontoctl override approve 7 --comment \"ok, one time\"\n"
                 "  skontoctl override list --status pending\n"
                 "\n"
                 "Exit status: 0 done; 1 the audit worker could not be reached or did not\n"
                 "answer (said on stderr); 2 invalid usage; 3 refused by the rules (the code\n"
                 "and why on stderr: not_a_director, self_approval, needs_finance_director,\n"
                 "expired, stale, wrong_role, ...); 4 an error answer (bad_request,\n"
                 "not_found, ...).\n"
                 "Environment: SKONTO_AUDIT_ENDPOINT, SKONTO_AUDIT_SERVER_KEY,\n"
                 "SKONTO_CURVE_KEY_FILE; SKONTO_REDIS_URL (only for --grant without PAYMENT).\n");
}

/* ---- printing a reply ------------------------------------------------------- */

static int s_print_reply(const char *verb, const Skonto__V1__AuditReply *r, bool json, bool table,
                         const char *request_id)
{
    int rc = sk_cli_audit_status(verb, r);
    if (json) {
        json_t *o = json_object(), *arr = json_array();
        int bad = !o || !arr;
        const char *st = r->status == SKONTO__V1__AUDIT_REPLY__STATUS__OK        ? "ok"
                         : r->status == SKONTO__V1__AUDIT_REPLY__STATUS__REFUSED ? "refused"
                                                                                 : "error";
        if (!bad) {
            bad |= json_object_set_new(o, "status", json_string(st));
            bad |= json_object_set_new(o, "code", json_string(r->code) ?: json_string(""));
            bad |= json_object_set_new(o, "message", json_string(r->message) ?: json_string(""));
            if (r->entry_seq || r->status != SKONTO__V1__AUDIT_REPLY__STATUS__OK || !table)
                bad |= json_object_set_new(o, "entry_seq", json_integer((json_int_t)r->entry_seq));
            for (size_t i = 0; i < r->n_overrides; i++) {
                json_t *e = sk_cli_record_json(r->overrides[i]);
                if (!e || json_array_append_new(arr, e) < 0)
                    bad = 1;
            }
        }
        int prc = sk_cli_json_finish(verb, o, "overrides", arr, bad);
        return rc != SK_EXIT_OK ? rc : prc;
    }
    if (rc != SK_EXIT_OK)
        return rc;
    if (table) {
        static const char *const hdr[] = {"ID",     "STATUS",       "ORDER",     "CHANGE",
                                          "EFFECT", "REQUESTED_BY", "REQUESTED", "DECIDED_BY"};
        sk_cli_table_t *t = sk_cli_table_new(8, hdr, "llllrlll");
        int bad = !t;
        for (size_t i = 0; t && i < r->n_overrides; i++) {
            const Skonto__V1__OverrideRecord *o = r->overrides[i];
            static const Skonto__V1__OverrideRequested none = SKONTO__V1__OVERRIDE_REQUESTED__INIT;
            const Skonto__V1__OverrideRequested *q = o->request ? o->request : &none;
            char ch[128], amt[96], at[32], b1[72], b2[72], b3[72], b4[72];
            const char *cells[8] = {
                sk_cli_shorten(q->override_id, b1, sizeof b1),
                sk_cli_ovr_status(o->status),
                sk_cli_shorten(q->order_id, b2, sizeof b2),
                sk_cli_change_text(q->change, ch, sizeof ch),
                sk_cli_amount(q->effect, q->currency, amt, sizeof amt),
                sk_cli_shorten(q->requested_by, b3, sizeof b3),
                sk_cli_instant(q->requested_at_ms, at, sizeof at),
                o->decision ? sk_cli_shorten(o->decision->decided_by, b4, sizeof b4) : "-"};
            bad |= sk_cli_table_add(t, cells) < 0;
        }
        if (!r->n_overrides) {
            sk_cli_table_destroy(&t);
            printf("no overrides match\n");
            return sk_cli_finish(verb);
        }
        return sk_cli_table_emit(verb, &t, bad);
    }
    for (size_t i = 0; i < r->n_overrides; i++)
        sk_cli_record_print(stdout, r->overrides[i]);
    if (r->entry_seq || *r->message)
        printf("%s%slog entry %" PRIu64 "\n", *r->message ? r->message : "",
               *r->message ? "; " : "", r->entry_seq);
    if (request_id)
        printf("request id %s (give --request-id %s to repeat this request safely)\n", request_id,
               request_id);
    return sk_cli_finish(verb);
}

/* Sends req and prints the reply. */
static int s_ask(const char *verb, const sk_cli_peer_t *peer, Skonto__V1__AuditRequest *req,
                 bool json, bool table, const char *request_id)
{
    int rc;
    sk_cli_rpc_t *rpc = sk_cli_rpc_open(verb, peer, &rc);
    if (!rpc)
        return rc;
    Skonto__V1__AuditReply *r = NULL;
    rc = sk_cli_audit_ask(verb, rpc, req, &r);
    sk_cli_rpc_destroy(&rpc);
    if (rc != SK_EXIT_OK)
        return rc;
    rc = s_print_reply(verb, r, json, table, request_id);
    skonto__v1__audit_reply__free_unpacked(r, NULL);
    return rc;
}

/* ---- parsing ------------------------------------------------------------------ */

/* "t1" or "1" -> 1. */
static int s_tier(const char *s, size_t n, uint32_t *out)
{
    char buf[16];
    if (n && (s[0] == 't' || s[0] == 'T')) {
        s++;
        n--;
    }
    if (!n || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    long v;
    if (sk_cli_parse_int(buf, 0, 63, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* One line of text for the worker: 1..200 bytes, no control characters. */
static int s_text_ok(const char *verb, const char *opt, const char *v)
{
    size_t n = strlen(v);
    if (n > S_TEXT_MAX)
        return sk_cli_opt_error(verb, opt, v, "%zu bytes (at most %d)", n, S_TEXT_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return sk_cli_opt_error(verb, opt, v, "one line, no control characters");
    return SK_EXIT_OK;
}

/* The last payment's index, from the invoice as stored. */
static int s_last_payment(const char *verb, const char *order, uint32_t *out)
{
    redisContext *c = sk_cli_redis_connect(verb);
    if (!c)
        return SK_EXIT_FAIL;
    sk_invoice_t *inv = calloc(1, sizeof *inv);
    sk_err_t err;
    sk_err_clear(&err);
    int rc = inv && sk_invoice_fetch(c, order, inv, &err) == 0 ? SK_EXIT_OK : SK_EXIT_FAIL;
    redisFree(c);
    if (rc != SK_EXIT_OK)
        rc = sk_cli_fail(verb,
                         "--grant without a payment: cannot read the invoice (%s); give "
                         "--grant TIER:PAYMENT",
                         inv ? err.msg : "out of memory");
    else if (inv->npayments == 0)
        rc = sk_cli_usage_error(verb, "--grant: order %s has no payment to grant a tier to", order);
    else
        *out = (uint32_t)(inv->npayments - 1);
    free(inv);
    return rc;
}

static int s_request(int argc, char **argv)
{
    static const char *verb = "override request";
    static const sk_cli_opt_t opts[] = {
        {"rev", true, false},        {"extend", true, false}, {"grant", true, false},
        {"rate", true, false},       {"waive", false, false}, {"reason", true, false},
        {"request-id", true, false}, {"json", false, false},  SK_CLI_PEER_OPTS,
        {NULL, false, false}};
    sk_cli_peer_t peer;
    sk_cli_peer_audit(&peer);
    Skonto__V1__OverrideChange ch = SKONTO__V1__OVERRIDE_CHANGE__INIT;
    const char *order = NULL, *reason = NULL, *rid = NULL, *value;
    long rev = -1;
    bool json = false, grant_last = false;
    int nchanges = 0, o;
    char day[16];
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, verb, opts, argc, argv);
    while ((o = sk_cli_scan_peer(&sc, &peer, &order, "order", &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = opts[o].name;
        const char *colon = value ? strchr(value, ':') : NULL;
        if (!strcmp(name, "rev")) {
            if (sk_cli_parse_int(value, 0, INT64_MAX, &rev) < 0)
                return sk_cli_opt_error(verb, name, value,
                                        "want the invoice's revision (skontoctl order show)");
        } else if (!strcmp(name, "extend")) {
            sk_day_t d;
            sk_err_t err;
            if (!colon || s_tier(value, (size_t)(colon - value), &ch.tier) < 0)
                return sk_cli_opt_error(verb, name, value,
                                        "want TIER:YYYY-MM-DD, e.g. t1:2026-11-20");
            if (sk_date_parse(colon + 1, &d, &err) < 0)
                return sk_cli_opt_err(verb, name, value, &err);
            snprintf(day, sizeof day, "%.10s", colon + 1);
            ch.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_EXTEND;
            ch.new_last_day = day;
            nchanges++;
        } else if (!strcmp(name, "grant")) {
            size_t tl = colon ? (size_t)(colon - value) : strlen(value);
            long pay = 0;
            if (s_tier(value, tl, &ch.tier) < 0 ||
                (colon && sk_cli_parse_int(colon + 1, 0, 100000, &pay) < 0))
                return sk_cli_opt_error(verb, name, value,
                                        "want TIER or TIER:PAYMENT, e.g. t0 or t0:1 (0-based)");
            ch.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_GRANT;
            ch.payment = (uint32_t)pay;
            grant_last = !colon;
            nchanges++;
        } else if (!strcmp(name, "rate")) {
            int32_t ppm;
            sk_err_t err;
            if (!colon || s_tier(value, (size_t)(colon - value), &ch.tier) < 0)
                return sk_cli_opt_error(verb, name, value, "want TIER:PERCENT, e.g. t1:2.5");
            if (sk_percent_parse(colon + 1, &ppm, &err) < 0)
                return sk_cli_opt_err(verb, name, value, &err);
            ch.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_RATE;
            ch.new_rate_ppm = ppm;
            nchanges++;
        } else if (!strcmp(name, "waive")) {
            ch.kind = SKONTO__V1__OVERRIDE_KIND__OVERRIDE_KIND_WAIVE;
            nchanges++;
        } else if (!strcmp(name, "reason")) {
            if (s_text_ok(verb, name, value) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
            reason = value;
        } else if (!strcmp(name, "request-id")) {
            size_t n = strlen(value);
            if (n < 1 || n > 64 || s_text_ok(verb, name, value) != SK_EXIT_OK)
                return sk_cli_opt_error(verb, name, value,
                                        "want 1 to 64 characters, no control "
                                        "characters");
            rid = value;
        } else {
            json = true;
        }
    }
    if (!order)
        return sk_cli_usage_error(verb, "which order? usage: skontoctl override request ORDER "
                                        "--rev N CHANGE --reason TEXT (--help)");
    if (!sk_cli_id_ok(order))
        return sk_cli_usage_error(verb, "order id: 1 to 64 characters, no control characters");
    if (rev < 0)
        return sk_cli_usage_error(verb,
                                  "--rev N is required: the invoice revision you are "
                                  "looking at (skontoctl order show %s)",
                                  order);
    if (nchanges != 1)
        return sk_cli_usage_error(verb,
                                  "give exactly one change: --extend, --grant, --rate or "
                                  "--waive (got %d)",
                                  nchanges);
    if (!reason || !*reason)
        return sk_cli_usage_error(verb, "--reason TEXT is required: why the invoice should "
                                        "change (directors and auditors read it)");
    char rnd_id[40];
    if (!rid) {
        uint8_t rnd[8];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            return sk_cli_fail(verb, "no random bytes for the request id");
        snprintf(rnd_id, sizeof rnd_id, "r-");
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(rnd_id + 2 + 2 * i, 3, "%02x", rnd[i]);
        rid = rnd_id;
    }
    if (grant_last) {
        int rc = s_last_payment(verb, order, &ch.payment);
        if (rc != SK_EXIT_OK)
            return rc;
    }
    Skonto__V1__OverrideRequested q = SKONTO__V1__OVERRIDE_REQUESTED__INIT;
    q.order_id = (char *)order;
    q.reason = (char *)reason;
    q.request_id = (char *)rid;
    q.invoice_revision = rev;
    q.change = &ch;
    Skonto__V1__AuditRequest req = SKONTO__V1__AUDIT_REQUEST__INIT;
    req.body_case = SKONTO__V1__AUDIT_REQUEST__BODY_REQUEST;
    req.request = &q;
    return s_ask(verb, &peer, &req, json, false, rid);
}

static int s_decide(int argc, char **argv, bool approve)
{
    const char *verb = approve ? "override approve" : "override reject";
    static const sk_cli_opt_t opts_a[] = {{"rev", true, false},
                                          {"comment", true, false},
                                          {"json", false, false},
                                          SK_CLI_PEER_OPTS,
                                          {NULL, false, false}};
    static const sk_cli_opt_t opts_r[] = {
        {"comment", true, false}, {"json", false, false}, SK_CLI_PEER_OPTS, {NULL, false, false}};
    sk_cli_peer_t peer;
    sk_cli_peer_audit(&peer);
    const sk_cli_opt_t *opts = approve ? opts_a : opts_r;
    const char *id = NULL, *comment = "", *value;
    long rev = 0;
    bool json = false;
    int o;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, verb, opts, argc, argv);
    while ((o = sk_cli_scan_peer(&sc, &peer, &id, "override", &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = opts[o].name;
        if (!strcmp(name, "rev")) {
            if (sk_cli_parse_int(value, 1, INT64_MAX, &rev) < 0)
                return sk_cli_opt_error(verb, name, value, "want the invoice's revision");
        } else if (!strcmp(name, "comment")) {
            if (s_text_ok(verb, name, value) != SK_EXIT_OK)
                return SK_EXIT_USAGE;
            comment = value;
        } else {
            json = true;
        }
    }
    if (!id || !sk_cli_id_ok(id))
        return sk_cli_usage_error(verb,
                                  "which override? usage: skontoctl %s ID (the id override "
                                  "request printed; override list shows them)",
                                  verb);
    Skonto__V1__OverrideDecided d = SKONTO__V1__OVERRIDE_DECIDED__INIT;
    d.override_id = (char *)id;
    d.approved = approve;
    d.comment = (char *)comment;
    d.invoice_revision = rev;
    Skonto__V1__AuditRequest req = SKONTO__V1__AUDIT_REQUEST__INIT;
    req.body_case = SKONTO__V1__AUDIT_REQUEST__BODY_DECIDE;
    req.decide = &d;
    return s_ask(verb, &peer, &req, json, false, NULL);
}

static int s_list(int argc, char **argv)
{
    static const char *verb = "override list";
    static const sk_cli_opt_t opts[] = {{"order", true, false}, {"status", true, false},
                                        {"limit", true, false}, {"json", false, false},
                                        SK_CLI_PEER_OPTS,       {NULL, false, false}};
    static const char *const statuses[] = {"pending", "approved", "rejected",
                                           "expired", "applied",  "stale"};
    sk_cli_peer_t peer;
    sk_cli_peer_audit(&peer);
    Skonto__V1__OverrideQuery q = SKONTO__V1__OVERRIDE_QUERY__INIT;
    const char *value;
    bool json = false;
    int o;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, verb, opts, argc, argv);
    while ((o = sk_cli_scan_peer(&sc, &peer, NULL,
                                 "usage: skontoctl override list [--order O] [--status S] "
                                 "[--limit N] [--json]",
                                 &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        const char *name = opts[o].name;
        if (!strcmp(name, "order")) {
            if (!sk_cli_id_ok(value))
                return sk_cli_opt_error(verb, name, value, "not an order id");
            q.order_id = (char *)value;
        } else if (!strcmp(name, "status")) {
            bool ok = false;
            for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
                ok |= !strcmp(value, statuses[i]);
            if (!ok)
                return sk_cli_opt_error(verb, name, value,
                                        "want pending, approved, rejected, "
                                        "expired, applied or stale");
            q.status = (char *)value;
        } else if (!strcmp(name, "limit")) {
            long n;
            if (sk_cli_parse_int(value, 1, 1000, &n) < 0)
                return sk_cli_opt_error(verb, name, value, "want 1 to 1000");
            q.limit = (uint32_t)n;
        } else {
            json = true;
        }
    }
    Skonto__V1__AuditRequest req = SKONTO__V1__AUDIT_REQUEST__INIT;
    req.body_case = SKONTO__V1__AUDIT_REQUEST__BODY_LIST;
    req.list = &q;
    return s_ask(verb, &peer, &req, json, true, NULL);
}

static int s_show(int argc, char **argv)
{
    static const char *verb = "override show";
    static const sk_cli_opt_t opts[] = {
        {"json", false, false}, SK_CLI_PEER_OPTS, {NULL, false, false}};
    sk_cli_peer_t peer;
    sk_cli_peer_audit(&peer);
    const char *id = NULL, *value;
    bool json = false;
    int o;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, verb, opts, argc, argv);
    while ((o = sk_cli_scan_peer(&sc, &peer, &id, "override", &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        json = true; /* the one option that is not the peer's */
    }
    if (!id || !sk_cli_id_ok(id))
        return sk_cli_usage_error(verb, "which override? usage: skontoctl override show ID");
    Skonto__V1__AuditRequest req = SKONTO__V1__AUDIT_REQUEST__INIT;
    req.body_case = SKONTO__V1__AUDIT_REQUEST__BODY_SHOW;
    req.show = (char *)id;
    return s_ask(verb, &peer, &req, json, false, NULL);
}

int sk_cmd_override(int argc, char **argv)
{
    if (argc < 2 || sk_cli_wants_help(argc, argv)) {
        s_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? SK_EXIT_USAGE : SK_EXIT_OK;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "request"))
        return s_request(argc - 1, argv + 1);
    if (!strcmp(sub, "approve"))
        return s_decide(argc - 1, argv + 1, true);
    if (!strcmp(sub, "reject"))
        return s_decide(argc - 1, argv + 1, false);
    if (!strcmp(sub, "list"))
        return s_list(argc - 1, argv + 1);
    if (!strcmp(sub, "show"))
        return s_show(argc - 1, argv + 1);
    return sk_cli_usage_error("override",
                              "unknown \"%s\" (want request, approve, reject, list "
                              "or show; skontoctl override --help)",
                              sub);
}
