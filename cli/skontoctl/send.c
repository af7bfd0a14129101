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
 * Invariants:
 *   - every non-blank, non-comment line ends up counted exactly once: accepted,
 *     duplicate, rejected (locally, when it does not convert, or by ingest) or
 *     unacknowledged;
 *   - at most one event with a given event id is in flight, so an Ack always
 *     names exactly one line (a repeated id waits for the earlier one's Ack
 *     and is then answered "duplicate" by ingest, as it should be). The id is
 *     compared in the form ingest echoes it: sk_utf8_sanitize'd into
 *     SK_EVENT_ID_MAX * 2 + 1 bytes, so even an invalid id's rejection is
 *     matched to its line;
 *   - a payment's or credit note's currency comes from an order seen earlier
 *     in the same input, else from Redis's order index (one HGET per order,
 *     cached, so a file of orders and their payments costs no round trip);
 *   - events go out in input order on one connection, so an order reaches
 *     ingest before the payments behind it. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "cli.h"
#include "cli_util.h"
#include "event.h"
#include "event_json.h"
#include "keys.h"
#include "money.h"
#include "sk_auth.h"
#include "sk_redis.h"

#define VERB "send"
#define S_LINE_MAX (1024 * 1024)             /* longest JSON line accepted */
#define S_ECHO_MAX (SK_EVENT_ID_MAX * 2 + 1) /* an event id as ingest echoes it */

static const sk_cli_opt_t s_opts[] = {
    {"endpoint", true, false}, {"window", true, false},    {"timeout-ms", true, false},
    {"retries", true, false},  {"progress", false, false}, {"json", false, false},
    {"server-key", true, false}, {"key", true, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(
        out,
        "usage: skontoctl send FILE|- [--endpoint E] [--window N] [--timeout-ms T]\n"
        "                             [--retries R] [--progress] [--json]\n"
        "                             [--server-key KEY --key FILE]\n"
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
        "  --server-key KEY ingest's CURVE public key, Z85 text or a .pub file (default\n"
        "                   $SKONTO_INGEST_SERVER_KEY)\n"
        "  --key FILE       this sender's CURVE secret key file (default\n"
        "                   $SKONTO_CURVE_KEY_FILE); with --server-key the connection is\n"
        "                   encrypted and ingest admits it only if the key is registered\n"
        "                   as role erp or operator (docs/SECURITY.md). A refused key\n"
        "                   gets no acknowledgement at all: every event times out\n"
        "  --progress       print progress on stderr about once a second\n"
        "  --json           print the result as JSON:\n"
        "                   {\"accepted\",\"duplicate\",\"rejected\",\"unacknowledged\",\n"
        "                    "
        "\"rejections\":[{\"line\",\"event_id\",\"reason_code\",\"message\"}],\n"
        "                    \"unacknowledged_events\":[{\"line\",\"event_id\"}]}\n"
        "\n"
        "Exit status: 0 when every event was accepted or a duplicate, 1 when any was\n"
        "rejected or unacknowledged, 2 for invalid usage.\n"
        "Environment: SKONTO_INGEST_ENDPOINT; SKONTO_INGEST_SERVER_KEY and\n"
        "SKONTO_CURVE_KEY_FILE; SKONTO_REDIS_URL (to look up the currency of orders not\n"
        "in the input).\n");
}

/* ---- a small string -> intptr_t hash map (open addressing, linear probing) */

typedef struct {
    char *key; /* owned; NULL = empty slot */
    intptr_t val;
} s_entry_t;

typedef struct {
    s_entry_t *e;
    size_t cap; /* power of two */
    size_t n;
} s_map_t;

static uint64_t s_hash(const char *k)
{
    uint64_t h = 1469598103934665603u;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

static s_entry_t *s_map_find(const s_map_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = s_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].key)
            return NULL;
        if (!strcmp(m->e[i].key, key))
            return &m->e[i];
    }
}

static int s_map_grow(s_map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    s_entry_t *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->e[j].key)
            continue;
        size_t i = s_hash(m->e[j].key) & (cap - 1);
        while (e[i].key)
            i = (i + 1) & (cap - 1);
        e[i] = m->e[j];
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
    return 0;
}

/* Inserts or replaces; -1 on ENOMEM. */
static int s_map_put(s_map_t *m, const char *key, intptr_t val)
{
    s_entry_t *f = s_map_find(m, key);
    if (f) {
        f->val = val;
        return 0;
    }
    if ((m->n + 1) * 2 > m->cap && s_map_grow(m) < 0)
        return -1;
    char *k = strdup(key);
    if (!k)
        return -1;
    size_t i = s_hash(key) & (m->cap - 1);
    while (m->e[i].key)
        i = (i + 1) & (m->cap - 1);
    m->e[i].key = k;
    m->e[i].val = val;
    m->n++;
    return 0;
}

/* Removes key (backward-shift deletion keeps every probe chain intact). */
static void s_map_del(s_map_t *m, const char *key)
{
    s_entry_t *f = s_map_find(m, key);
    if (!f)
        return;
    size_t mask = m->cap - 1;
    size_t i = (size_t)(f - m->e);
    free(f->key);
    f->key = NULL;
    m->n--;
    for (size_t j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
        size_t home = s_hash(m->e[j].key) & mask;
        /* Move e[j] into the hole at i if its home is not in (i, j] cyclically. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        m->e[i] = m->e[j];
        m->e[j].key = NULL;
        i = j;
    }
}

static void s_map_free(s_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].key);
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}

/* ---- state ---------------------------------------------------------------- */

typedef struct {
    long line;
    char *event_id; /* owned */
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
} s_report_t;

typedef struct {
    /* options */
    const char *endpoint;
    const char *server_key, *key_file; /* CURVE when both are set */
    long window, timeout_ms, retries;
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
    void *monitor; /* handshake events of sock: a refused handshake is final */
    s_slot_t *slots;
    long *free_slots;
    long nfree;
    s_map_t inflight; /* event_id -> slot index */
    /* currencies of orders: order_id -> const sk_currency_t * (NULL = unknown) */
    s_map_t currencies;
    redisContext *redis;
    bool redis_failed;
    char redis_error[300];
    /* results */
    long accepted, duplicate, rejected, unacked, sent, acked;
    s_report_t *reports, *lost;
    size_t nreports, capreports, nlost, caplost;
    bool nomem;
    bool bad_ack_warned;
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
    free(s->bytes);
    memset(s, 0, sizeof *s);
}

/* Appends a report to *arr; copies the strings. Marks nomem on failure. */
static void s_report_add(s_send_t *st, s_report_t **arr, size_t *n, size_t *cap, long line,
                         const char *event_id, const char *code, const char *msg)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        s_report_t *a = realloc(*arr, nc * sizeof *a);
        if (!a) {
            st->nomem = true;
            return;
        }
        *arr = a;
        *cap = nc;
    }
    s_report_t *r = &(*arr)[(*n)++];
    r->line = line;
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

/* The currency Redis's order index knows for order_id, or NULL. Connects on
 * first use; a connection failure is reported once and every later lookup
 * answers NULL (those lines are then rejected with the reason). */
static const sk_currency_t *s_currency_from_redis(s_send_t *st, const char *order_id)
{
    if (st->redis_failed)
        return NULL;
    if (!st->redis) {
        sk_err_t err;
        sk_err_clear(&err);
        st->redis = sk_redis_connect_env(&err);
        if (!st->redis) {
            st->redis_failed = true;
            snprintf(st->redis_error, sizeof st->redis_error, "%s", err.msg);
            fprintf(stderr,
                    "skontoctl send: cannot look up the currency of orders not in the input: %s\n",
                    err.msg);
            return NULL;
        }
    }
    char key[SK_KEY_MAX];
    const char *argv[3] = {"HGET", sk_key_order_index(key, order_id), order_id};
    size_t lens[3] = {4, strlen(argv[1]), strlen(order_id)};
    redisReply *r = redisCommandArgv(st->redis, 3, argv, lens);
    if (!r) {
        st->redis_failed = true;
        snprintf(st->redis_error, sizeof st->redis_error, "Redis at %s: %s", sk_redis_url_env(),
                 st->redis->errstr);
        fprintf(stderr, "skontoctl send: cannot look up order currencies: %s\n", st->redis_error);
        return NULL;
    }
    const sk_currency_t *cur = NULL;
    if (r->type == REDIS_REPLY_STRING) {
        const char *tab = memchr(r->str, '\t', r->len);
        if (tab && (size_t)(tab - r->str) + 4 == r->len) {
            char code[4];
            memcpy(code, tab + 1, 3);
            code[3] = '\0';
            cur = sk_currency_find(code);
        }
    } else if (r->type == REDIS_REPLY_ERROR && !st->redis_failed) {
        st->redis_failed = true;
        snprintf(st->redis_error, sizeof st->redis_error, "Redis: %s", r->str);
        fprintf(stderr, "skontoctl send: cannot look up order currencies: %s\n", st->redis_error);
    }
    freeReplyObject(r);
    return cur;
}

static const char *s_lookup(void *arg, const char *order_id)
{
    s_send_t *st = arg;
    s_entry_t *e = s_map_find(&st->currencies, order_id);
    if (e)
        return e->val ? ((const sk_currency_t *)e->val)->code : NULL;
    const sk_currency_t *cur = s_currency_from_redis(st, order_id);
    /* Cache misses too: a file of payments for one unknown order costs one HGET. */
    if (s_map_put(&st->currencies, order_id, (intptr_t)cur) < 0)
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
    if (cur && s_map_put(&st->currencies, inv->order_id, (intptr_t)cur) < 0)
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
        sk_event_json_t *ev = sk_event_json_parse(st->buf, (size_t)n, s_lookup, st, &err);
        if (!ev) {
            char *id = s_line_event_id(st->buf, (size_t)n);
            s_reject(st, st->line_no, id, err.code, err.msg);
            free(id);
            continue;
        }
        const Skonto__V1__Envelope *env = sk_event_json_envelope(ev);
        s_note_order(st, env);
        s_slot_t *s = &st->next;
        memset(s, 0, sizeof *s);
        s->line = st->line_no;
        s->event_id = s_echo_id(env->event_id ? env->event_id : "",
                                env->event_id ? strlen(env->event_id) : 0);
        s->len = sk_event_json_pack(ev, &s->bytes);
        sk_event_json_destroy(&ev);
        if (!s->event_id || !s->bytes) {
            s_slot_clear(s);
            st->nomem = true;
            s_reject(st, st->line_no, NULL, "nomem", "out of memory");
            continue;
        }
        st->have_next = true;
    }
    return 0;
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
        if (s_map_find(&st->inflight, st->next.event_id))
            return 0;
        if (!s_transmit(st, &st->next))
            return 0;
        long i = st->free_slots[--st->nfree];
        st->slots[i] = st->next;
        st->slots[i].used = true;
        memset(&st->next, 0, sizeof st->next);
        st->have_next = false;
        if (s_map_put(&st->inflight, st->slots[i].event_id, i) < 0) {
            st->nomem = true;
            return -1;
        }
    }
    return 0;
}

static void s_release(s_send_t *st, long i)
{
    s_map_del(&st->inflight, st->slots[i].event_id);
    s_slot_clear(&st->slots[i]);
    st->free_slots[st->nfree++] = i;
}

static void s_on_ack(s_send_t *st, const uint8_t *data, size_t len)
{
    Skonto__V1__Ack *ack = skonto__v1__ack__unpack(NULL, len, data);
    if (!ack) {
        if (!st->bad_ack_warned)
            fprintf(stderr, "skontoctl send: ignoring a reply that is not an Ack (%zu bytes)\n",
                    len);
        st->bad_ack_warned = true;
        return;
    }
    /* An Ack for an id not in flight answers an earlier try that was already
     * answered (a resend crossed its Ack): nothing to do. */
    s_entry_t *e = ack->event_id ? s_map_find(&st->inflight, ack->event_id) : NULL;
    if (e) {
        long i = (long)e->val;
        s_slot_t *s = &st->slots[i];
        st->acked++;
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
            fprintf(stderr, "skontoctl send: receiving from %s: %s\n", st->endpoint,
                    zmq_strerror(errno));
            return -1;
        }
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
            st->unacked++;
            s_report_add(st, &st->lost, &st->nlost, &st->caplost, s->line, s->event_id, NULL, NULL);
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
        json_t *o = json_pack("{s:I, s:s}", "line", (json_int_t)r->line, "event_id",
                              r->event_id ? r->event_id : "");
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
    if (st->unacked)
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
    for (size_t i = 0; i < st->nlost; i++)
        printf("line %ld (event %s): unacknowledged\n", st->lost[i].line, st->lost[i].event_id);
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
    s_map_free(&st->inflight);
    s_map_free(&st->currencies);
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
    if (st->monitor)
        zmq_close(st->monitor);
    if (st->zctx)
        zmq_ctx_term(st->zctx);
    if (st->in && st->in != stdin)
        fclose(st->in);
}

/* ---- the verb -------------------------------------------------------------- */

/* Watches the socket's handshakes. libzmq does not reconnect after ingest
 * refused a handshake (a CURVE key it does not admit, or CURVE on one side
 * only): the DEALER then has no peer and would wait for ever, so that is
 * reported as a failure at once. */
static int s_open_monitor(s_send_t *st)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://sk-send-monitor-%p", st->sock);
    if (zmq_socket_monitor(st->sock, ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0)
        return -1;
    st->monitor = zmq_socket(st->zctx, ZMQ_PAIR);
    if (!st->monitor || zmq_connect(st->monitor, ep) < 0)
        return -1;
    return 0;
}

/* Reads the monitor; -1 (after one line on stderr) if a handshake was refused. */
static int s_check_monitor(s_send_t *st)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, st->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return 0;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&m) >= 6) {
            memcpy(&event, zmq_msg_data(&m), 2);
            memcpy(&value, (const char *)zmq_msg_data(&m) + 2, 4);
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, st->monitor, 0) < 0)
                more = 0;
            else
                more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            sk_cli_fail(VERB,
                        "ingest at %s refused this sender (authentication status %u): the CURVE "
                        "key is not registered, or its role may not send events; nothing more "
                        "was sent",
                        st->endpoint, (unsigned)value);
            return -1;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            sk_cli_fail(VERB,
                        "handshake with ingest at %s failed: %s; nothing more was sent",
                        st->endpoint,
                        st->server_key ? "wrong server key, or ingest does not use CURVE"
                                       : "ingest requires CURVE (set SKONTO_INGEST_SERVER_KEY "
                                         "and SKONTO_CURVE_KEY_FILE)");
            return -1;
        }
    }
}

static int s_run(s_send_t *st)
{
    st->zctx = zmq_ctx_new();
    st->sock = st->zctx ? zmq_socket(st->zctx, ZMQ_DEALER) : NULL;
    if (!st->sock)
        return sk_cli_fail(VERB, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    int zero = 0;
    /* The window bounds what is queued; a finite linger is moot once all is acknowledged. */
    if (zmq_setsockopt(st->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(st->sock, ZMQ_SNDHWM, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(st->sock, ZMQ_RCVHWM, &zero, sizeof zero) < 0)
        return sk_cli_fail(VERB, "cannot set socket options: %s", zmq_strerror(errno));
    if (st->server_key || st->key_file) {
        if (!st->server_key || !st->key_file)
            return sk_cli_usage_error(VERB, "CURVE needs both ingest's public key (--server-key or "
                                            "SKONTO_INGEST_SERVER_KEY) and this sender's secret key "
                                            "(--key or SKONTO_CURVE_KEY_FILE)");
        char server[SK_AUTH_Z85_LEN + 1];
        sk_keypair_t kp;
        sk_err_t err;
        if (sk_auth_key_arg(st->server_key, server, &err))
            return sk_cli_opt_error(VERB, "server-key", st->server_key, "%s", err.msg);
        if (sk_auth_keypair_load(st->key_file, &kp, &err))
            return sk_cli_opt_error(VERB, "key", st->key_file, "%s", err.msg);
        int rc = sk_auth_curve_client(st->sock, server, &kp, &err);
        memset(&kp, 0, sizeof kp);
        if (rc)
            return sk_cli_fail(VERB, "%s", err.msg);
    }
    if (s_open_monitor(st) < 0)
        return sk_cli_fail(VERB, "cannot monitor the socket: %s", zmq_strerror(errno));
    if (zmq_connect(st->sock, st->endpoint) < 0) {
        if (errno == EINVAL || errno == EPROTONOSUPPORT)
            return sk_cli_opt_error(VERB, "endpoint", st->endpoint,
                                    "not a ZeroMQ endpoint (want e.g. tcp://127.0.0.1:7750): %s",
                                    zmq_strerror(errno));
        return sk_cli_fail(VERB, "cannot connect to %s: %s", st->endpoint, zmq_strerror(errno));
    }

    st->slots = calloc((size_t)st->window, sizeof *st->slots);
    st->free_slots = calloc((size_t)st->window, sizeof *st->free_slots);
    if (!st->slots || !st->free_slots)
        return sk_cli_fail(VERB, "out of memory");
    for (long i = st->window - 1; i >= 0; i--)
        st->free_slots[st->nfree++] = i;

    int64_t t0 = s_now_ms(), last_retry = t0, last_progress = t0;
    long last_acked = 0;
    for (;;) {
        if (s_fill(st) < 0 || st->nomem)
            return st->nomem ? sk_cli_fail(VERB, "out of memory") : SK_EXIT_FAIL;
        if (st->eof && !st->have_next && st->nfree == st->window)
            break;
        zmq_pollitem_t items[2] = {{st->sock, 0, ZMQ_POLLIN, 0}, {st->monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 20) < 0 && errno != EINTR)
            return sk_cli_fail(VERB, "waiting for acknowledgements: %s", zmq_strerror(errno));
        if (s_drain(st) < 0 || s_check_monitor(st) < 0)
            return SK_EXIT_FAIL;
        int64_t now = s_now_ms();
        if (now - last_retry >= 50) {
            s_retry(st);
            last_retry = now;
        }
        if (st->progress && now - last_progress >= 1000)
            s_progress(st, t0, now, &last_acked, &last_progress);
    }
    if (st->progress)
        s_progress(st, t0, s_now_ms(), &last_acked, &last_progress);

    if (st->nreports)
        qsort(st->reports, st->nreports, sizeof *st->reports, s_by_line);
    if (st->nlost)
        qsort(st->lost, st->nlost, sizeof *st->lost, s_by_line);
    if (st->json) {
        if (sk_cli_json_print(VERB, s_json_result(st)) != SK_EXIT_OK)
            return SK_EXIT_FAIL;
    } else {
        s_print_result(st);
    }
    if (sk_cli_finish(VERB) != SK_EXIT_OK)
        return SK_EXIT_FAIL;
    return (st->rejected || st->unacked) ? SK_EXIT_FAIL : SK_EXIT_OK;
}

int sk_cmd_send(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    s_send_t st;
    memset(&st, 0, sizeof st);
    const char *env_ep = getenv("SKONTO_INGEST_ENDPOINT");
    st.endpoint = (env_ep && *env_ep) ? env_ep : "tcp://127.0.0.1:7750";
    const char *env_sk = getenv("SKONTO_INGEST_SERVER_KEY"), *env_kf = getenv("SKONTO_CURVE_KEY_FILE");
    st.server_key = (env_sk && *env_sk) ? env_sk : NULL;
    st.key_file = (env_kf && *env_kf) ? env_kf : NULL;
    st.window = 1000;
    st.timeout_ms = 5000;
    st.retries = 5;

    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    const char *file = NULL, *value;
    int o;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD) {
            if (file)
                return sk_cli_usage_error(VERB, "one input file only (got \"%s\" and \"%s\")", file,
                                          value);
            file = value;
            continue;
        }
        const char *name = s_opts[o].name;
        if (!strcmp(name, "endpoint")) {
            if (!*value)
                return sk_cli_opt_error(VERB, name, value, "must not be empty");
            st.endpoint = value;
        } else if (!strcmp(name, "window")) {
            if (sk_cli_parse_int(value, 1, 100000, &st.window) < 0)
                return sk_cli_opt_error(VERB, name, value, "want a whole number from 1 to 100000");
        } else if (!strcmp(name, "timeout-ms")) {
            if (sk_cli_parse_int(value, 1, 3600000, &st.timeout_ms) < 0)
                return sk_cli_opt_error(VERB, name, value, "want milliseconds from 1 to 3600000");
        } else if (!strcmp(name, "retries")) {
            if (sk_cli_parse_int(value, 0, 1000, &st.retries) < 0)
                return sk_cli_opt_error(VERB, name, value, "want a whole number from 0 to 1000");
        } else if (!strcmp(name, "progress")) {
            st.progress = true;
        } else if (!strcmp(name, "json")) {
            st.json = true;
        } else if (!strcmp(name, "server-key")) {
            st.server_key = *value ? value : NULL;
        } else if (!strcmp(name, "key")) {
            st.key_file = *value ? value : NULL;
        }
    }
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
    int rc = s_run(&st);
    s_free(&st);
    return rc;
}
