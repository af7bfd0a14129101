/* send — `skontoctl send FILE|-`: the ERP bridge for ERPs that export files.
 *
 * Reads JSON lines (common/io/event_json), converts each to a protobuf
 * Envelope and sends it to ingest on a ZeroMQ DEALER socket, one frame per
 * event, with at most --window events in flight. ingest answers every event
 * with one Ack frame naming the event id; an event whose Ack does not come
 * within --timeout-ms is sent again (the same bytes: ingest de-duplicates by
 * event id, so a resend can never apply an event twice) up to --retries
 * times, then counted as unacknowledged.
 *
 * When send gives up:
 *   - on one event, after 1 + --retries sends each unanswered for
 *     --timeout-ms; the rest goes on;
 *   - on the whole run, at once, when ingest refuses the handshake (a CURVE
 *     key it does not admit, CURVE on one side only), when no first handshake
 *     completes within --handshake-timeout-ms (a wrong server key, nothing
 *     listening), or on a socket error. Every event not acknowledged by then,
 *     in flight or not yet sent, is unacknowledged; the rest of the input is
 *     still read and converted, so those lines are listed and counted too.
 *     After a first handshake a lost connection is not final: libzmq
 *     reconnects and the retries resend (ingest restarted, say).
 * Each event given up on is listed as it happens: on stderr, or with --json as
 * one JSON line on stdout before the summary line, so the ERP knows exactly
 * what to send again (resending is always safe).
 *
 * Invariants:
 *   - every non-blank, non-comment line ends up counted exactly once: accepted,
 *     duplicate, rejected (locally, when it does not convert, or by ingest) or
 *     unacknowledged;
 *   - at most one event with a given event id is in flight, so an Ack always
 *     names exactly one line (a repeated id waits for the earlier one's Ack
 *     and is then answered "duplicate" by ingest, as it should be). "Given
 *     id" means the id in the form ingest echoes it in Ack.event_id:
 *     sk_utf8_sanitize'd into SK_EVENT_ID_MAX * 2 + 1 bytes, so even an
 *     invalid id's rejection is matched to its line. An Ack that carries
 *     event_id_raw (the id's bytes exactly as ingest received them) is
 *     matched on those bytes: the in-flight event with the same sanitized id
 *     must also have sent exactly those bytes, so a late Ack for another raw
 *     id that sanitizes alike is not taken for this one's; an Ack without
 *     them (an older ingest) is matched on event_id;
 *   - a payment's or credit note's currency comes from an order seen earlier
 *     in the same input, else from Redis's order index (one HGET per order,
 *     cached, so a file of orders and their payments costs no round trip);
 *   - events go out in input order on one connection, so an order reaches
 *     ingest before the payments behind it. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_send.h"
#include "event.h"
#include "event_json.h"
#include "keys.h"
#include "money.h"
#include "sk_auth.h"
#include "sk_grow.h"
#include "sk_map.h"
#include "sk_redis.h"

#define VERB "send"
#define S_LINE_MAX (1024 * 1024)             /* longest JSON line accepted */
#define S_ECHO_MAX (SK_EVENT_ID_MAX * 2 + 1) /* an event id as ingest echoes it */
#define S_CURRENCIES_MAX (1u << 24) /* orders whose currency is remembered (~1 GiB at most) */

static const sk_cli_opt_t s_opts[] = {
    {"endpoint", true, false},   {"window", true, false},    {"timeout-ms", true, false},
    {"retries", true, false},    {"progress", false, false}, {"json", false, false},
    {"server-key", true, false}, {"key", true, false},       {"handshake-timeout-ms", true, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(
        out,
        "usage: skontoctl send FILE|- [--endpoint E] [--window N] [--timeout-ms T]\n"
        "                             [--retries R] [--handshake-timeout-ms H]\n"
        "                             [--progress] [--json] [--server-key KEY --key FILE]\n"
        "\n"
        "Sends ERP events to the ingest worker and waits until ingest has acknowledged\n"
        "every one of them (an acknowledged event is stored durably in Redis).\n"
        "\n"
        "FILE holds one event per line as JSON (\"-\" reads standard input); blank lines\n"
        "and lines starting with '#' are skipped. For example:\n"
        "  {\"type\":\"customer\",\"event_id\":\"E1\",\"customer_id\":\"C-1\",\"name\":\"Acme\",\n"
        "   "
        "\"email\":\"ap@example.com\",\"statement\":\"weekly\",\"terms\":\"2/0,1/10,0.5/30,n/"
        "60\"}\n"
        "  "
        "{\"type\":\"order_shipped\",\"event_id\":\"E2\",\"order_id\":\"SO-1\",\"customer_id\":\"C-"
        "1\",\n"
        "   "
        "\"currency\":\"CNY\",\"amount\":\"1130.00\",\"tax\":\"130.00\",\"ship_date\":\"2026-11-"
        "02\"}\n"
        "  {\"type\":\"payment_received\",\"event_id\":\"E3\",\"order_id\":\"SO-1\",\n"
        "   \"paid_on\":\"2026-11-10\",\"amount\":\"1118.70\",\"full\":true}\n"
        "  "
        "{\"type\":\"credit_note\",\"event_id\":\"E4\",\"order_id\":\"SO-1\",\"issued_on\":\"2026-"
        "11-05\",\n"
        "   \"amount\":\"100.00\"}\n"
        "  {\"type\":\"order_cancelled\",\"event_id\":\"E5\",\"order_id\":\"SO-1\"}\n"
        "A payment or credit note takes its currency from its order (earlier in the\n"
        "same input, or already known to Skonto).\n"
        "\n"
        "Every event is answered: accepted, duplicate (its event_id was accepted before;\n"
        "nothing changes) or rejected with a reason code. A line that is not a valid\n"
        "event is rejected here and never sent. Rejected events are kept in the\n"
        "dead-letter list (skontoctl dlq list).\n"
        "\n"
        "options:\n"
        "  --endpoint E     ingest's endpoint (default $SKONTO_INGEST_ENDPOINT, else\n"
        "                   tcp://127.0.0.1:7750)\n"
        "  --window N       events in flight at most (default 1000)\n"
        "  --timeout-ms T   wait this long for an acknowledgement before sending the\n"
        "                   event again (default 5000); resending is safe\n"
        "  --retries R      resend at most R times, then count the event as\n"
        "                   unacknowledged (default 5)\n"
        "  --handshake-timeout-ms H\n"
        "                   give up on the whole run when no handshake with ingest has\n"
        "                   completed H ms after start (default 5000): a wrong server\n"
        "                   key, or nothing listening at the endpoint. Only the first\n"
        "                   handshake is timed; after it, a lost connection is retried\n"
        "  --server-key KEY ingest's CURVE public key: the path of its .pub file, or the\n"
        "                   40-character Z85 key itself (default $SKONTO_INGEST_SERVER_KEY;\n"
        "                   a value naming an existing file is always read as the file)\n"
        "  --key FILE       this sender's CURVE secret key file (default\n"
        "                   $SKONTO_CURVE_KEY_FILE); with --server-key the connection is\n"
        "                   encrypted and ingest admits it only if the key is registered\n"
        "                   as role erp or operator (docs/SECURITY.md). A refused key\n"
        "                   stops send at once\n"
        "  --progress       print progress on stderr about once a second\n"
        "  --json           print JSON lines on stdout: first one line per event send\n"
        "                   gave up on, as it gives up,\n"
        "                     {\"line\",\"event_id\",\"status\":\"unacknowledged\",\"tries\"}\n"
        "                   (tries: how often it was sent, 0 = never), then one summary:\n"
        "                     {\"accepted\",\"duplicate\",\"rejected\",\"unacknowledged\",\n"
        "                      \"stopped\" (why send stopped early, or null),\n"
        "                      "
        "\"rejections\":[{\"line\",\"event_id\",\"reason_code\",\"message\"}],\n"
        "                      \"unacknowledged_events\":[{\"line\",\"event_id\",\"tries\"}]}\n"
        "\n"
        "When send gives up: on one event after 1 + R sends each unanswered for T ms\n"
        "(the rest goes on); on the whole run at once when ingest refuses the handshake,\n"
        "when no handshake completes within H ms, or on a socket error: then every event\n"
        "not acknowledged yet, in flight or not yet sent, is unacknowledged. Without\n"
        "--json each one is listed on stderr as send gives up on it\n"
        "(\"skontoctl send: line 7 (event E7): unacknowledged, after 6 tries\"), again\n"
        "in the report on stdout. An unacknowledged event may still have been stored:\n"
        "send it again, a resend is answered \"duplicate\".\n"
        "\n"
        "Exit status: 0 when every event was accepted or a duplicate, 1 when any was\n"
        "rejected or unacknowledged, 2 for invalid usage.\n"
        "Environment: SKONTO_INGEST_ENDPOINT; SKONTO_INGEST_SERVER_KEY and\n"
        "SKONTO_CURVE_KEY_FILE; SKONTO_REDIS_URL (to look up the currency of orders not\n"
        "in the input).\n");
}

/* ---- state ---------------------------------------------------------------- */

typedef struct {
    long line;
    char *event_id; /* owned; as ingest echoes it in Ack.event_id (sanitized) */
    char *raw_id;   /* owned; the bytes sent (Ack.event_id_raw echoes them) */
    size_t raw_len;
    uint8_t *bytes; /* owned, the packed Envelope */
    size_t len;
    int tries;       /* sends so far */
    int64_t sent_ms; /* monotonic time of the last send */
    bool used;
} s_slot_t;

typedef struct {
    long line;
    char *event_id; /* may be NULL: the line had no readable event id */
    char *reason_code;
    char *message;
    int tries; /* unacknowledged events: how often it was sent (0 = never) */
} s_report_t;

typedef struct {
    const char *verb; /* "send", or the verb sending one event (sk_cli_send_line) */
    /* options */
    const char *endpoint;
    const char *server_key, *key_file;           /* CURVE when both are set */
    const char *server_key_from, *key_file_from; /* "--server-key" or the variable, for messages */
    long window, timeout_ms, retries, handshake_timeout_ms;
    bool progress, json;
    /* input */
    FILE *in;
    const char *in_name;
    char *buf;
    size_t bufcap;
    long line_no;
    bool eof;
    /* the next event, converted but not yet sent */
    bool have_next;
    s_slot_t next;
    /* in flight */
    void *zctx, *sock;
    sk_cli_watch_t watch; /* connections and handshakes of sock (cli_rpc.h) */
    char stopped[512];    /* why the whole run was given up ("" while it goes on) */
    s_slot_t *slots;
    long *free_slots;
    long nfree;
    sk_map_t *inflight; /* event_id -> slot index */
    /* currencies of orders: order_id -> const sk_currency_t * (NULL = unknown) */
    sk_map_t *currencies;
    redisContext *redis;
    bool redis_failed;  /* the last lookup could not reach Redis */
    bool lookup_failed; /* ... during the line being parsed */
    char redis_error[300];
    /* results */
    long accepted, duplicate, rejected, unacked, sent, acked;
    s_report_t *reports, *lost;
    size_t nreports, capreports, nlost, caplost;
    bool nomem;
    bool bad_ack_warned;
    /* sk_cli_send_line: each matched Ack goes to on_ack, and no report is printed */
    sk_cli_ack_fn on_ack;
    void *on_ack_arg;
} s_send_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_slot_clear(s_slot_t *s)
{
    free(s->event_id);
    free(s->raw_id);
    free(s->bytes);
    memset(s, 0, sizeof *s);
}

/* Appends a report to *arr; copies the strings. Marks nomem on failure. */
static void s_report_add(s_send_t *st, s_report_t **arr, size_t *n, size_t *cap, long line,
                         const char *event_id, const char *code, const char *msg)
{
    s_report_t *a = sk_grow(*arr, *n, cap, sizeof *a, 16);
    if (!a) {
        st->nomem = true;
        return;
    }
    *arr = a;
    s_report_t *r = &(*arr)[(*n)++];
    r->line = line;
    r->tries = 0;
    if (event_id && !*event_id)
        event_id = NULL; /* an empty id is reported as no id */
    r->event_id = event_id ? strdup(event_id) : NULL;
    r->reason_code = code ? strdup(code) : NULL;
    r->message = msg ? strdup(msg) : NULL;
    if ((event_id && !r->event_id) || (code && !r->reason_code) || (msg && !r->message))
        st->nomem = true;
}

static void s_reject(s_send_t *st, long line, const char *event_id, const char *code,
                     const char *msg)
{
    st->rejected++;
    s_report_add(st, &st->reports, &st->nreports, &st->capreports, line, event_id,
                 code && *code ? code : "rejected", msg ? msg : "");
}

/* ---- currency lookup ----------------------------------------------------- */

/* How long a lookup keeps trying while Redis is unreachable or loading
 * (a restart), before the line is reported; later lookups try once each
 * until one succeeds. */
#define S_LOOKUP_RETRY_MS 10000
#define S_LOOKUP_PAUSE_MS 200

/* Looks up the currency Redis's order index knows for order_id: 1 and *out
 * (NULL: no such order), or 0 when Redis could not answer (st->redis_error
 * says why; the caller must not cache that). Connects on first use and
 * again after an error. */
static int s_currency_from_redis(s_send_t *st, const char *order_id, const sk_currency_t **out)
{
    *out = NULL;
    int tries = st->redis_failed ? 1 : S_LOOKUP_RETRY_MS / S_LOOKUP_PAUSE_MS;
    for (int t = 0; t < tries; t++) {
        if (t) {
            struct timespec ts = {0, S_LOOKUP_PAUSE_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (!st->redis) {
            sk_err_t err;
            sk_err_clear(&err);
            st->redis = sk_redis_connect_env(&err);
            if (!st->redis) {
                snprintf(st->redis_error, sizeof st->redis_error, "%s", err.msg);
                continue;
            }
        }
        char key[SK_KEY_MAX];
        const char *argv[3] = {"HGET", sk_key_order_index(key, order_id), order_id};
        size_t lens[3] = {4, strlen(argv[1]), strlen(order_id)};
        redisReply *r = redisCommandArgv(st->redis, 3, argv, lens);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(st->redis_error, sizeof st->redis_error, "Redis at %s: %s",
                     sk_redis_url_env(), r ? r->str : st->redis->errstr);
            if (r)
                freeReplyObject(r);
            redisFree(st->redis); /* a context that failed cannot be reused */
            st->redis = NULL;
            continue;
        }
        char cust[SK_EVENT_ID_MAX + 1], code[4];
        if (r->type == REDIS_REPLY_STRING &&
            !sk_order_index_parse(r->str, r->len, cust, sizeof cust, code))
            *out = sk_currency_find(code);
        freeReplyObject(r);
        if (st->redis_failed)
            fprintf(stderr, "skontoctl send: order currencies can be looked up again\n");
        st->redis_failed = false;
        return 1;
    }
    if (!st->redis_failed)
        fprintf(stderr, "skontoctl send: cannot look up the currency of orders not in the input: "
                        "%s\n",
                st->redis_error);
    st->redis_failed = true;
    return 0;
}

static const char *s_lookup(void *arg, const char *order_id)
{
    s_send_t *st = arg;
    st->lookup_failed = false;
    intptr_t known;
    if (sk_map_get(st->currencies, order_id, &known))
        return known ? ((const sk_currency_t *)known)->code : NULL;
    const sk_currency_t *cur;
    if (!s_currency_from_redis(st, order_id, &cur)) {
        st->lookup_failed = true;
        return NULL;
    }
    /* Cache misses too: a file of payments for one unknown order costs one HGET. */
    if (sk_map_put(st->currencies, order_id, (intptr_t)cur) < 0)
        st->nomem = true;
    return cur ? cur->code : NULL;
}

/* Remembers the currency of an order line for the payments behind it. */
static void s_note_order(s_send_t *st, const Skonto__V1__Envelope *env)
{
    const Skonto__V1__Invoice *inv = NULL;
    if (env->body_case == SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED)
        inv = env->order_shipped;
    else if (env->body_case == SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED)
        inv = env->invoice_issued;
    if (!inv || !inv->order_id || !inv->currency)
        return;
    const sk_currency_t *cur = sk_currency_find(inv->currency);
    if (cur && sk_map_put(st->currencies, inv->order_id, (intptr_t)cur) < 0)
        st->nomem = true;
}

/* ---- reading ------------------------------------------------------------- */

/* An event id as ingest echoes it in an Ack (and as reports show it): valid
 * UTF-8, control characters replaced, bounded. A new string, NULL on ENOMEM. */
static char *s_echo_id(const char *id, size_t len)
{
    char buf[S_ECHO_MAX];
    sk_utf8_sanitize(buf, sizeof buf, id, len);
    return strdup(buf);
}

/* The event id of a line that failed to convert, for the report (or NULL). */
static char *s_line_event_id(const char *line, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_DISABLE_EOF_CHECK, &jerr);
    char *id = NULL;
    if (j && json_is_object(j)) {
        json_t *v = json_object_get(j, "event_id");
        if (json_is_string(v) && json_string_length(v) > 0)
            id = s_echo_id(json_string_value(v), json_string_length(v));
    }
    json_decref(j);
    return id;
}

/* Reads lines until one converts (into st->next) or the input ends. Lines
 * that do not convert are rejected here. Returns -1 on a read error. */
static int s_read_next(s_send_t *st)
{
    while (!st->have_next && !st->eof) {
        ssize_t n = getline(&st->buf, &st->bufcap, st->in);
        if (n < 0) {
            if (ferror(st->in)) {
                fprintf(stderr, "skontoctl send: reading %s: %s\n", st->in_name, strerror(errno));
                return -1;
            }
            st->eof = true;
            break;
        }
        st->line_no++;
        const char *p = st->buf;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if ((size_t)(p - st->buf) == (size_t)n || *p == '#')
            continue;
        if ((size_t)n > S_LINE_MAX) {
            s_reject(st, st->line_no, NULL, "bad_json", "line longer than 1 MiB");
            continue;
        }
        sk_err_t err;
        sk_err_clear(&err);
        st->lookup_failed = false;
        sk_event_json_t *ev = sk_event_json_parse(st->buf, (size_t)n, s_lookup, st, &err);
        if (!ev) {
            char *id = s_line_event_id(st->buf, (size_t)n);
            if (st->lookup_failed) /* not the line's fault: say what happened */
                snprintf(err.msg, sizeof err.msg,
                         "not sent: the order's currency could not be looked up (%.150s); resend "
                         "this line, or give \"currency\"",
                         st->redis_error);
            s_reject(st, st->line_no, id, st->lookup_failed ? "lookup_failed" : err.code,
                     err.msg);
            free(id);
            continue;
        }
        const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
        s_note_order(st, env);
        s_slot_t *s = &st->next;
        memset(s, 0, sizeof *s);
        s->line = st->line_no;
        const char *raw = env->event_id ? env->event_id : "";
        s->raw_len = strlen(raw); /* what protobuf-c packs: the bytes up to the NUL */
        s->raw_id = strdup(raw);
        s->event_id = s_echo_id(raw, s->raw_len);
        s->len = sk_event_json_pack(ev, &s->bytes);
        sk_event_json_destroy(&ev);
        if (!s->event_id || !s->raw_id || !s->bytes) {
            s_slot_clear(s);
            st->nomem = true;
            s_reject(st, st->line_no, NULL, "nomem", "out of memory");
            continue;
        }
        st->have_next = true;
    }
    return 0;
}

/* ---- giving up ------------------------------------------------------------ */

/* Prints o as one line of compact JSON on stdout and flushes it (so an ERP
 * reading a pipe sees each given-up event at once); takes the reference. -1
 * when o is NULL or out of memory; a write error shows in ferror(stdout),
 * which sk_cli_finish reports. */
static int s_json_line(json_t *o)
{
    if (!o)
        return -1;
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return -1;
    if (fputs(text, stdout) != EOF && fputc('\n', stdout) != EOF)
        fflush(stdout);
    free(text);
    return 0;
}

/* Gives the whole run up: the reason goes on stderr now (one line) and into
 * the report; the caller then gives up on every event not acknowledged. */
static void s_stop(s_send_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_stop(s_send_t *st, const char *fmt, ...)
{
    if (st->stopped[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->stopped, sizeof st->stopped, fmt, ap);
    va_end(ap);
    sk_cli_fail(st->verb, "%s", st->stopped);
}

/* Counts one event as unacknowledged and lists it: a line on stderr, or with
 * --json a JSON line on stdout. tries: how often it was sent (0 = never). */
static void s_give_up_event(s_send_t *st, long line, const char *event_id, int tries)
{
    if (event_id && !*event_id)
        event_id = NULL;
    st->unacked++;
    size_t n = st->nlost;
    s_report_add(st, &st->lost, &st->nlost, &st->caplost, line, event_id, NULL, NULL);
    if (st->nlost > n)
        st->lost[n].tries = tries;
    if (st->json) {
        json_t *id = event_id ? json_string(event_id) : json_null();
        json_t *o = id ? json_pack("{s:I, s:o, s:s, s:i}", "line", (json_int_t)line, "event_id", id,
                                   "status", "unacknowledged", "tries", tries)
                       : NULL;
        if (s_json_line(o) < 0)
            st->nomem = true;
        return;
    }
    char what[64];
    if (tries == 0)
        snprintf(what, sizeof what, "not sent");
    else
        snprintf(what, sizeof what, "after %d %s", tries, tries == 1 ? "try" : "tries");
    if (event_id)
        fprintf(stderr, "skontoctl %s: line %ld (event %s): unacknowledged, %s\n", st->verb, line,
                event_id, what);
    else
        fprintf(stderr, "skontoctl %s: line %ld (no event id): unacknowledged, %s\n", st->verb,
                line, what);
}

static void s_give_up(s_send_t *st, const s_slot_t *s)
{
    s_give_up_event(st, s->line, s->event_id, s->tries);
}

/* ---- sending and acknowledgements ---------------------------------------- */

/* One try; false if the socket would block (nothing was sent). */
static bool s_transmit(s_send_t *st, s_slot_t *s)
{
    if (zmq_send(st->sock, s->bytes, s->len, ZMQ_DONTWAIT) < 0)
        return false;
    s->tries++;
    s->sent_ms = s_now_ms();
    st->sent++;
    return true;
}

/* Sends converted events while the window has room. */
static int s_fill(s_send_t *st)
{
    while (st->nfree > 0) {
        if (s_read_next(st) < 0)
            return -1;
        if (!st->have_next)
            return 0;
        /* An earlier event with this id is still in flight: its Ack must come first. */
        if (sk_map_get(st->inflight, st->next.event_id, NULL))
            return 0;
        if (!s_transmit(st, &st->next))
            return 0;
        long i = st->free_slots[--st->nfree];
        st->slots[i] = st->next;
        st->slots[i].used = true;
        memset(&st->next, 0, sizeof st->next);
        st->have_next = false;
        if (sk_map_put(st->inflight, st->slots[i].event_id, i) < 0) {
            st->nomem = true;
            return -1;
        }
    }
    return 0;
}

static void s_release(s_send_t *st, long i)
{
    sk_map_del(st->inflight, st->slots[i].event_id);
    s_slot_clear(&st->slots[i]);
    st->free_slots[st->nfree++] = i;
}

/* The slot of the in-flight event an Ack answers, or -1. With event_id_raw
 * the bytes must be exactly those sent; they are found through their
 * sanitized form, which is the in-flight map's key (see the invariants). */
static long s_match(s_send_t *st, const Skonto__V1__Ack *ack)
{
    if (ack->event_id_raw.len > 0) {
        char key[S_ECHO_MAX];
        sk_utf8_sanitize(key, sizeof key, (const char *)ack->event_id_raw.data,
                         ack->event_id_raw.len);
        intptr_t i;
        if (!sk_map_get(st->inflight, key, &i))
            return -1;
        const s_slot_t *s = &st->slots[i];
        if (s->raw_len != ack->event_id_raw.len ||
            memcmp(s->raw_id, ack->event_id_raw.data, s->raw_len) != 0)
            return -1;
        return (long)i;
    }
    intptr_t i;
    return ack->event_id && sk_map_get(st->inflight, ack->event_id, &i) ? (long)i : -1;
}

static void s_on_ack(s_send_t *st, const uint8_t *data, size_t len)
{
    Skonto__V1__Ack *ack = skonto__v1__ack__unpack(NULL, len, data);
    if (!ack) {
        if (!st->bad_ack_warned)
            fprintf(stderr, "skontoctl %s: ignoring a reply that is not an Ack (%zu bytes)\n",
                    st->verb, len);
        st->bad_ack_warned = true;
        return;
    }
    /* An Ack for an id not in flight answers an earlier try that was already
     * answered (a resend crossed its Ack): nothing to do. */
    long i = s_match(st, ack);
    if (i >= 0) {
        s_slot_t *s = &st->slots[i];
        st->acked++;
        if (st->on_ack)
            st->on_ack(st->on_ack_arg, ack);
        switch (ack->status) {
        case SKONTO__V1__ACK_STATUS__ACK_ACCEPTED:
            st->accepted++;
            break;
        case SKONTO__V1__ACK_STATUS__ACK_DUPLICATE:
            st->duplicate++;
            break;
        case SKONTO__V1__ACK_STATUS__ACK_REJECTED:
            s_reject(st, s->line, s->event_id, ack->reason_code, ack->message);
            break;
        default:
            s_reject(st, s->line, s->event_id, "bad_ack", "ingest answered with an unknown status");
            break;
        }
        s_release(st, i);
    }
    skonto__v1__ack__free_unpacked(ack, NULL);
}

/* Receives every Ack that is waiting. */
static int s_drain(s_send_t *st)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int rc = zmq_msg_recv(&msg, st->sock, ZMQ_DONTWAIT);
        if (rc < 0) {
            zmq_msg_close(&msg);
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            s_stop(st, "receiving from %s: %s", st->endpoint, zmq_strerror(errno));
            return -1;
        }
        st->watch.handshaken = true; /* whatever the monitor has not told yet */
        /* A reply is one frame; an empty delimiter frame before it (REQ style) is skipped. */
        if (zmq_msg_size(&msg) > 0)
            s_on_ack(st, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
}

/* Resends what timed out; gives up on what has had every try. */
static void s_retry(s_send_t *st)
{
    int64_t now = s_now_ms();
    for (long i = 0; i < st->window; i++) {
        s_slot_t *s = &st->slots[i];
        if (!s->used || now - s->sent_ms < st->timeout_ms)
            continue;
        if (s->tries > st->retries) {
            s_give_up(st, s);
            s_release(st, i);
        } else {
            s_transmit(st, s); /* would block: tried again at the next pass */
        }
    }
}

/* ---- the report ------------------------------------------------------------ */

static int s_by_line(const void *a, const void *b)
{
    long x = ((const s_report_t *)a)->line, y = ((const s_report_t *)b)->line;
    return (x > y) - (x < y);
}

static json_t *s_json_result(const s_send_t *st)
{
    json_t *root = json_object();
    json_t *rej = json_array();
    json_t *lost = json_array();
    if (!root || !rej || !lost) {
        json_decref(root);
        json_decref(rej);
        json_decref(lost);
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(root, "accepted", json_integer(st->accepted));
    bad |= json_object_set_new(root, "duplicate", json_integer(st->duplicate));
    bad |= json_object_set_new(root, "rejected", json_integer(st->rejected));
    bad |= json_object_set_new(root, "unacknowledged", json_integer(st->unacked));
    bad |= json_object_set_new(root, "stopped",
                               st->stopped[0] ? json_string(st->stopped) : json_null());
    for (size_t i = 0; i < st->nreports; i++) {
        const s_report_t *r = &st->reports[i];
        json_t *o = json_pack("{s:I, s:o, s:s, s:s}", "line", (json_int_t)r->line, "event_id",
                              r->event_id ? json_string(r->event_id) : json_null(), "reason_code",
                              r->reason_code ? r->reason_code : "", "message",
                              r->message ? r->message : "");
        bad |= json_array_append_new(rej, o);
    }
    for (size_t i = 0; i < st->nlost; i++) {
        const s_report_t *r = &st->lost[i];
        json_t *o =
            json_pack("{s:I, s:o, s:i}", "line", (json_int_t)r->line, "event_id",
                      r->event_id ? json_string(r->event_id) : json_null(), "tries", r->tries);
        bad |= json_array_append_new(lost, o);
    }
    bad |= json_object_set_new(root, "rejections", rej);
    bad |= json_object_set_new(root, "unacknowledged_events", lost);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void s_print_result(const s_send_t *st)
{
    printf("accepted        %ld\n", st->accepted);
    printf("duplicate       %ld\n", st->duplicate);
    printf("rejected        %ld\n", st->rejected);
    if (st->unacked && st->stopped[0])
        printf("unacknowledged  %ld   (send stopped: %s)\n", st->unacked, st->stopped);
    else if (st->unacked)
        printf("unacknowledged  %ld   (no answer from %s after %ld tries each)\n", st->unacked,
               st->endpoint, st->retries + 1);
    for (size_t i = 0; i < st->nreports; i++) {
        const s_report_t *r = &st->reports[i];
        if (r->event_id)
            printf("line %ld (event %s): %s: %s\n", r->line, r->event_id, r->reason_code,
                   r->message);
        else
            printf("line %ld: %s: %s\n", r->line, r->reason_code, r->message);
    }
    for (size_t i = 0; i < st->nlost; i++) {
        const s_report_t *r = &st->lost[i];
        if (r->event_id)
            printf("line %ld (event %s): unacknowledged\n", r->line, r->event_id);
        else
            printf("line %ld: unacknowledged\n", r->line);
    }
}

static void s_progress(const s_send_t *st, int64_t t0, int64_t now, long *last_acked,
                       int64_t *last_ms)
{
    double dt = (double)(now - *last_ms) / 1000.0;
    double rate = dt > 0 ? (double)(st->acked - *last_acked) / dt : 0.0;
    fprintf(stderr,
            "skontoctl send: %.0fs: line %ld, %ld sent, %ld acknowledged (%ld accepted, %ld "
            "duplicate, %ld rejected), %.0f events/s\n",
            (double)(now - t0) / 1000.0, st->line_no, st->sent, st->acked, st->accepted,
            st->duplicate, st->rejected, rate);
    *last_acked = st->acked;
    *last_ms = now;
}

static void s_free(s_send_t *st)
{
    if (st->slots)
        for (long i = 0; i < st->window; i++)
            s_slot_clear(&st->slots[i]);
    s_slot_clear(&st->next);
    free(st->slots);
    free(st->free_slots);
    sk_map_destroy(&st->inflight);
    sk_map_destroy(&st->currencies);
    for (size_t i = 0; i < st->nreports; i++) {
        free(st->reports[i].event_id);
        free(st->reports[i].reason_code);
        free(st->reports[i].message);
    }
    for (size_t i = 0; i < st->nlost; i++)
        free(st->lost[i].event_id);
    free(st->reports);
    free(st->lost);
    free(st->buf);
    if (st->redis)
        redisFree(st->redis);
    if (st->sock)
        zmq_close(st->sock);
    sk_cli_watch_close(&st->watch);
    if (st->zctx)
        zmq_ctx_term(st->zctx);
    if (st->in && st->in != stdin)
        fclose(st->in);
}

/* ---- the verb -------------------------------------------------------------- */

/* Reads the socket's watch (cli_rpc.h says why a refused handshake is
 * final and a missing one needs --handshake-timeout-ms); -1 (after s_stop)
 * if a handshake was refused. */
static int s_check_monitor(s_send_t *st)
{
    uint32_t value = 0;
    int event = sk_cli_watch_read(&st->watch, &value);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        s_stop(st,
               "ingest at %s refused this sender (authentication status %u): the CURVE key "
               "is not registered, or its role may not send events; nothing more was sent",
               st->endpoint, (unsigned)value);
        return -1;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        s_stop(st, "handshake with ingest at %s failed: %s; nothing more was sent",
               st->endpoint,
               st->server_key ? "wrong server key, or ingest does not use CURVE"
                              : "ingest requires CURVE (set SKONTO_INGEST_SERVER_KEY and "
                                "SKONTO_CURVE_KEY_FILE)");
        return -1;
    }
    return 0;
}

/* -1 (after s_stop) when the first handshake is overdue. At the end of a run
 * (every event given up on before the deadline, with short --timeout-ms and
 * --retries) a missing handshake is the reason too, and is said the same way
 * with the time actually waited. */
static int s_check_handshake(s_send_t *st, int64_t since, int64_t now, bool at_end)
{
    if (st->watch.handshaken || (!at_end && now - since < st->handshake_timeout_ms))
        return 0;
    char secs[32];
    if (at_end)
        snprintf(secs, sizeof secs, "%.1f", (double)(now - since) / 1000.0);
    else
        snprintf(secs, sizeof secs, "%g", (double)st->handshake_timeout_ms / 1000.0);
    if (!st->watch.connected)
        s_stop(st, "no connection to %s within %s s (ingest not running, or a wrong endpoint?)",
               st->endpoint, secs);
    else if (st->server_key)
        s_stop(st,
               "no CURVE handshake with %s within %s s (wrong server key, or ingest not "
               "running?)",
               st->endpoint, secs);
    else
        s_stop(st,
               "no handshake with %s within %s s (ingest requires CURVE? set "
               "SKONTO_INGEST_SERVER_KEY and SKONTO_CURVE_KEY_FILE; or it is not ingest "
               "listening there)",
               st->endpoint, secs);
    return -1;
}

typedef struct {
    long line, slot;
} s_inflight_t;

static int s_by_inflight_line(const void *a, const void *b)
{
    long x = ((const s_inflight_t *)a)->line, y = ((const s_inflight_t *)b)->line;
    return (x > y) - (x < y);
}

/* After s_stop: every event in flight, the converted one waiting, and every
 * event in the rest of the input is given up on, in input order. The rest is
 * read and converted, so that each of its lines is counted and listed once
 * (a line that does not convert is rejected as it would have been). -1 on a
 * read error. */
static int s_give_up_rest(s_send_t *st)
{
    s_inflight_t *fl = malloc((size_t)st->window * sizeof *fl);
    if (!fl) {
        st->nomem = true;
        return -1;
    }
    size_t n = 0;
    for (long i = 0; i < st->window; i++)
        if (st->slots[i].used)
            fl[n++] = (s_inflight_t){st->slots[i].line, i};
    qsort(fl, n, sizeof *fl, s_by_inflight_line);
    for (size_t k = 0; k < n; k++) {
        s_give_up(st, &st->slots[fl[k].slot]);
        s_release(st, fl[k].slot);
    }
    free(fl);
    for (;;) {
        if (st->have_next) {
            s_give_up(st, &st->next);
            s_slot_clear(&st->next);
            st->have_next = false;
        }
        if (st->nomem)
            return -1;
        if (st->eof)
            return 0;
        if (s_read_next(st) < 0)
            return -1;
    }
}

static int s_report(s_send_t *st)
{
    if (st->nreports)
        qsort(st->reports, st->nreports, sizeof *st->reports, s_by_line);
    if (st->nlost)
        qsort(st->lost, st->nlost, sizeof *st->lost, s_by_line);
    if (st->json) {
        if (s_json_line(s_json_result(st)) < 0)
            return sk_cli_fail(VERB, "out of memory while writing the JSON output");
    } else {
        s_print_result(st);
    }
    return sk_cli_finish(VERB);
}

/* Sets up the DEALER (CURVE if asked), its monitor, and connects. */
static int s_connect(s_send_t *st)
{
    st->zctx = zmq_ctx_new();
    st->sock = st->zctx ? zmq_socket(st->zctx, ZMQ_DEALER) : NULL;
    if (!st->sock)
        return sk_cli_fail(st->verb, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    int zero = 0;
    /* The window bounds what is queued; a finite linger is moot once all is acknowledged. */
    if (zmq_setsockopt(st->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(st->sock, ZMQ_SNDHWM, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(st->sock, ZMQ_RCVHWM, &zero, sizeof zero) < 0)
        return sk_cli_fail(st->verb, "cannot set socket options: %s", zmq_strerror(errno));
    if (st->server_key || st->key_file) {
        if (!st->server_key || !st->key_file)
            return sk_cli_usage_error(st->verb,
                                      "CURVE needs both ingest's public key (--server-key or "
                                      "SKONTO_INGEST_SERVER_KEY) and this sender's secret key "
                                      "(--key or SKONTO_CURVE_KEY_FILE)");
        sk_cli_peer_t peer = {.what = "ingest",
                              .endpoint = st->endpoint,
                              .server_key = st->server_key,
                              .server_key_from = st->server_key_from,
                              .key_file = st->key_file,
                              .key_file_from = st->key_file_from};
        int rc = sk_cli_peer_curve(&peer, st->verb, st->sock);
        if (rc != SK_EXIT_OK)
            return rc;
    }
    if (sk_cli_watch_open(&st->watch, st->zctx, st->sock) < 0)
        return sk_cli_fail(st->verb, "cannot monitor the socket: %s", zmq_strerror(errno));
    if (zmq_connect(st->sock, st->endpoint) < 0) {
        if (errno == EINVAL || errno == EPROTONOSUPPORT)
            return sk_cli_opt_error(st->verb, "endpoint", st->endpoint,
                                    "not a ZeroMQ endpoint (want e.g. tcp://127.0.0.1:7750): %s",
                                    zmq_strerror(errno));
        return sk_cli_fail(st->verb, "cannot connect to %s: %s", st->endpoint, zmq_strerror(errno));
    }
    return SK_EXIT_OK;
}

static int s_run(s_send_t *st)
{
    int rc = s_connect(st);
    if (rc != SK_EXIT_OK)
        return rc;
    st->slots = calloc((size_t)st->window, sizeof *st->slots);
    st->free_slots = calloc((size_t)st->window, sizeof *st->free_slots);
    st->inflight = sk_map_new((size_t)st->window);
    st->currencies = sk_map_new(S_CURRENCIES_MAX);
    if (!st->slots || !st->free_slots || !st->inflight || !st->currencies)
        return sk_cli_fail(st->verb, "out of memory");
    for (long i = st->window - 1; i >= 0; i--)
        st->free_slots[st->nfree++] = i;

    int64_t t0 = s_now_ms(), last_retry = t0, last_progress = t0;
    long last_acked = 0;
    for (;;) {
        if (s_fill(st) < 0 || st->nomem)
            return st->nomem ? sk_cli_fail(st->verb, "out of memory") : SK_EXIT_FAIL;
        if (st->eof && !st->have_next && st->nfree == st->window)
            break;
        zmq_pollitem_t items[2] = {{st->sock, 0, ZMQ_POLLIN, 0},
                                   {st->watch.monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 20) < 0 && errno != EINTR) {
            s_stop(st, "waiting for acknowledgements: %s", zmq_strerror(errno));
            break;
        }
        if (s_drain(st) < 0 || s_check_monitor(st) < 0)
            break;
        int64_t now = s_now_ms();
        if (s_check_handshake(st, t0, now, false) < 0)
            break;
        if (now - last_retry >= 50) {
            s_retry(st);
            last_retry = now;
        }
        if (st->progress && now - last_progress >= 1000)
            s_progress(st, t0, now, &last_acked, &last_progress);
    }
    if (!st->stopped[0] && st->unacked)
        s_check_handshake(st, t0, s_now_ms(), true);
    if (st->stopped[0] && s_give_up_rest(st) < 0)
        return st->nomem ? sk_cli_fail(st->verb, "out of memory") : SK_EXIT_FAIL;
    if (st->nomem)
        return sk_cli_fail(st->verb, "out of memory");
    if (st->progress)
        s_progress(st, t0, s_now_ms(), &last_acked, &last_progress);
    if (st->on_ack) /* one event for another verb, which says what its Ack said */
        return st->unacked ? SK_EXIT_FAIL : SK_EXIT_OK;
    if (s_report(st) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    return (st->rejected || st->unacked) ? SK_EXIT_FAIL : SK_EXIT_OK;
}

/* A fresh state for verb with send's defaults, then its options from argv;
 * *file gets the one word (the input), if any. An exit status: not
 * SK_EXIT_OK for invalid usage (said). */
static int s_parse(s_send_t *st, const char *verb, int argc, char **argv, const char **file)
{
    memset(st, 0, sizeof *st);
    st->verb = verb;
    const char *env_ep = getenv("SKONTO_INGEST_ENDPOINT");
    st->endpoint = (env_ep && *env_ep) ? env_ep : "tcp://127.0.0.1:7750";
    const char *env_sk = getenv("SKONTO_INGEST_SERVER_KEY"),
               *env_kf = getenv("SKONTO_CURVE_KEY_FILE");
    st->server_key = (env_sk && *env_sk) ? env_sk : NULL;
    st->key_file = (env_kf && *env_kf) ? env_kf : NULL;
    st->server_key_from = "SKONTO_INGEST_SERVER_KEY";
    st->key_file_from = "SKONTO_CURVE_KEY_FILE";
    st->window = 1000;
    st->timeout_ms = 5000;
    st->retries = 5;
    st->handshake_timeout_ms = 5000;

    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, st->verb, s_opts, argc, argv);
    const char *value;
    int o;
    *file = NULL;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (*file)
                return sk_cli_usage_error(st->verb, "one input file only (got \"%s\" and \"%s\")",
                                          *file, value);
            *file = value;
            continue;
        }
        const char *name = s_opts[o].name;
        if (!strcmp(name, "endpoint")) {
            if (!*value)
                return sk_cli_opt_error(st->verb, name, value, "must not be empty");
            st->endpoint = value;
        } else if (!strcmp(name, "window")) {
            if (sk_cli_parse_int(value, 1, 100000, &st->window) < 0)
                return sk_cli_opt_error(st->verb, name, value,
                                        "want a whole number from 1 to 100000");
        } else if (!strcmp(name, "timeout-ms")) {
            if (sk_cli_parse_int(value, 1, 3600000, &st->timeout_ms) < 0)
                return sk_cli_opt_error(st->verb, name, value,
                                        "want milliseconds from 1 to 3600000");
        } else if (!strcmp(name, "retries")) {
            if (sk_cli_parse_int(value, 0, 1000, &st->retries) < 0)
                return sk_cli_opt_error(st->verb, name, value,
                                        "want a whole number from 0 to 1000");
        } else if (!strcmp(name, "handshake-timeout-ms")) {
            if (sk_cli_parse_int(value, 1, 3600000, &st->handshake_timeout_ms) < 0)
                return sk_cli_opt_error(st->verb, name, value,
                                        "want milliseconds from 1 to 3600000");
        } else if (!strcmp(name, "progress")) {
            st->progress = true;
        } else if (!strcmp(name, "json")) {
            st->json = true;
        } else if (!strcmp(name, "server-key")) {
            st->server_key = *value ? value : NULL;
            st->server_key_from = "--server-key";
        } else if (!strcmp(name, "key")) {
            st->key_file = *value ? value : NULL;
            st->key_file_from = "--key";
        }
    }
    return SK_EXIT_OK;
}

int sk_cmd_send(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    s_send_t st;
    const char *file;
    int rc = s_parse(&st, VERB, argc, argv, &file);
    if (rc != SK_EXIT_OK)
        return rc;
    if (!file)
        return sk_cli_usage_error(VERB, "which events? give a FILE of JSON lines, or - for "
                                        "standard input (skontoctl send --help)");
    if (!strcmp(file, "-")) {
        st.in = stdin;
        st.in_name = "standard input";
    } else {
        st.in = fopen(file, "r");
        st.in_name = file;
        if (!st.in)
            return sk_cli_usage_error(VERB, "%s: %s", file, strerror(errno));
    }
    rc = s_run(&st);
    s_free(&st);
    return rc;
}

int sk_cli_send_line(const char *verb, const char *line, int argc, char **argv, bool *json,
                     sk_cli_check_fn check, sk_cli_ack_fn on_ack, void *arg)
{
    s_send_t st;
    const char *word;
    int rc = s_parse(&st, verb, argc, argv, &word);
    if (rc != SK_EXIT_OK)
        return rc;
    if (word)
        return sk_cli_usage_error(verb, "unexpected argument \"%s\"", word);
    *json = st.json;
    if (check && (rc = check(arg)) != SK_EXIT_OK)
        return rc;
    st.json = false; /* the caller prints the Ack its own way */
    st.window = 1;
    st.on_ack = on_ack;
    st.on_ack_arg = arg;
    /* The line is read like a file of one line (fmemopen does not copy it). */
    st.in = fmemopen((void *)line, strlen(line), "r");
    st.in_name = "the event";
    if (!st.in)
        return sk_cli_fail(verb, "cannot read the event: %s", strerror(errno));
    rc = s_run(&st);
    s_free(&st);
    return rc;
}
