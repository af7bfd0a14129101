/* event_json — JSON lines <-> skonto.v1.Envelope. See event_json.h.
 *
 * Each event type is described by a table of its fields (JSON name, kind,
 * required, offset into the protobuf struct), so the checks for unknown,
 * missing and mistyped fields are one loop, not six hand-written parsers.
 * Amounts are converted last, once the currency is known. */
#include "event_json.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "event.h"
#include "money.h"

typedef enum {
    K_STR,       /* any JSON string, carried as is */
    K_DATE,      /* string, strict YYYY-MM-DD, carried as is */
    K_AMOUNT,    /* decimal string -> int64 minor units of the event's currency */
    K_BOOL,      /* true / false */
    K_U32,       /* integer 0..UINT32_MAX */
    K_U64,       /* integer >= 0 */
    K_I64,       /* any integer */
    K_STATEMENT, /* "weekly" | "daily" | "none" -> enum */
    K_REMINDERS, /* "on" | "off" -> enum */
    K_CURRENCY,  /* known ISO 4217 code; scales the amounts */
    K_CUSTOMER,  /* inline customer object */
} s_kind_t;

#define S_NOWHERE ((size_t)-1) /* a field accepted but not carried in the message */

typedef struct {
    const char *name;
    s_kind_t kind;
    bool required;
    size_t offset; /* into the message struct, or S_NOWHERE */
} s_field_t;

#define F(type, member) offsetof(type, member)

/* The JSON names of the customer's enums, by value - 1 (0: not given). */
static const char *const s_statement_names[] = {"weekly", "daily", "none", NULL};
static const char *const s_reminders_names[] = {"on", "off", NULL};

static const s_field_t s_envelope_fields[] = {
    {"event_id", K_STR, true, F(Skonto__V1__Envelope, event_id)},
    {"source", K_STR, false, F(Skonto__V1__Envelope, source)},
    {"sequence", K_U64, false, F(Skonto__V1__Envelope, sequence)},
    {"occurred_at_ms", K_I64, false, F(Skonto__V1__Envelope, occurred_at_ms)},
};

static const s_field_t s_customer_fields[] = {
    {"customer_id", K_STR, true, F(Skonto__V1__CustomerUpsert, customer_id)},
    {"name", K_STR, false, F(Skonto__V1__CustomerUpsert, name)},
    {"email", K_STR, false, F(Skonto__V1__CustomerUpsert, email)},
    {"timezone", K_STR, false, F(Skonto__V1__CustomerUpsert, timezone)},
    {"locale", K_STR, false, F(Skonto__V1__CustomerUpsert, locale)},
    {"statement", K_STATEMENT, false, F(Skonto__V1__CustomerUpsert, statement)},
    {"terms", K_STR, false, F(Skonto__V1__CustomerUpsert, terms)},
    {"reminders", K_REMINDERS, false, F(Skonto__V1__CustomerUpsert, reminders)},
};

/* Inline customer of an order: customer_id defaults to the order's. */
static const s_field_t s_inline_customer_fields[] = {
    {"customer_id", K_STR, false, F(Skonto__V1__CustomerUpsert, customer_id)},
    {"name", K_STR, false, F(Skonto__V1__CustomerUpsert, name)},
    {"email", K_STR, false, F(Skonto__V1__CustomerUpsert, email)},
    {"timezone", K_STR, false, F(Skonto__V1__CustomerUpsert, timezone)},
    {"locale", K_STR, false, F(Skonto__V1__CustomerUpsert, locale)},
    {"statement", K_STATEMENT, false, F(Skonto__V1__CustomerUpsert, statement)},
    {"terms", K_STR, false, F(Skonto__V1__CustomerUpsert, terms)},
    {"reminders", K_REMINDERS, false, F(Skonto__V1__CustomerUpsert, reminders)},
};

static const s_field_t s_invoice_fields[] = {
    {"order_id", K_STR, true, F(Skonto__V1__Invoice, order_id)},
    {"customer_id", K_STR, true, F(Skonto__V1__Invoice, customer_id)},
    {"salesperson", K_STR, false, F(Skonto__V1__Invoice, salesperson)},
    {"currency", K_CURRENCY, true, F(Skonto__V1__Invoice, currency)},
    {"amount", K_AMOUNT, true, F(Skonto__V1__Invoice, amount)},
    {"tax", K_AMOUNT, false, F(Skonto__V1__Invoice, tax)},
    {"ship_date", K_DATE, true, F(Skonto__V1__Invoice, ship_date)},
    {"invoice_date", K_DATE, false, F(Skonto__V1__Invoice, invoice_date)},
    {"delivery_date", K_DATE, false, F(Skonto__V1__Invoice, delivery_date)},
    {"terms", K_STR, false, F(Skonto__V1__Invoice, terms)},
    {"version", K_U32, false, F(Skonto__V1__Invoice, version)},
    {"customer", K_CUSTOMER, false, F(Skonto__V1__Invoice, customer)},
};

static const s_field_t s_payment_fields[] = {
    {"order_id", K_STR, true, F(Skonto__V1__PaymentReceived, order_id)},
    {"paid_on", K_DATE, true, F(Skonto__V1__PaymentReceived, paid_on)},
    {"amount", K_AMOUNT, true, F(Skonto__V1__PaymentReceived, amount)},
    {"full", K_BOOL, false, F(Skonto__V1__PaymentReceived, full)},
    {"currency", K_CURRENCY, false, F(Skonto__V1__PaymentReceived, currency)},
    {"payment_id", K_STR, false, F(Skonto__V1__PaymentReceived, payment_id)},
};

static const s_field_t s_credit_fields[] = {
    {"order_id", K_STR, true, F(Skonto__V1__CreditNote, order_id)},
    {"issued_on", K_DATE, true, F(Skonto__V1__CreditNote, issued_on)},
    {"amount", K_AMOUNT, true, F(Skonto__V1__CreditNote, amount)},
    {"credit_note_id", K_STR, false, F(Skonto__V1__CreditNote, credit_note_id)},
    {"currency", K_CURRENCY, false, F(Skonto__V1__CreditNote, currency)},
};

static const s_field_t s_cancel_fields[] = {
    {"order_id", K_STR, true, F(Skonto__V1__OrderCancelled, order_id)},
    {"reason", K_STR, false, F(Skonto__V1__OrderCancelled, reason)},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* By body case; the type's name is sk_event_body_name(body_case). */
typedef struct {
    Skonto__V1__Envelope__BodyCase body_case;
    const s_field_t *fields;
    size_t nfields;
} s_type_t;

static const s_type_t s_types[] = {
    {SKONTO__V1__ENVELOPE__BODY_CUSTOMER, s_customer_fields, N(s_customer_fields)},
    {SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED, s_invoice_fields, N(s_invoice_fields)},
    {SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED, s_invoice_fields, N(s_invoice_fields)},
    {SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED, s_payment_fields, N(s_payment_fields)},
    {SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE, s_credit_fields, N(s_credit_fields)},
    {SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED, s_cancel_fields, N(s_cancel_fields)},
};

struct sk_event_json {
    json_t *root; /* every char * in the messages below points into this tree */
    Skonto__V1__Envelope env;
    union {
        Skonto__V1__CustomerUpsert customer;
        Skonto__V1__Invoice invoice;
        Skonto__V1__PaymentReceived payment;
        Skonto__V1__CreditNote credit;
        Skonto__V1__OrderCancelled cancel;
    } body;
    Skonto__V1__CustomerUpsert inline_customer;
};

static const char s_default_source[] = "skontoctl";

static const s_field_t *s_find(const s_field_t *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

static const char *s_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static int s_bad_field(sk_err_t *err, const char *ctx, const char *name, const char *want,
                       const json_t *v)
{
    return sk_err_set(err, "bad_field", "%s: field \"%s\" must be %s, not %s", ctx, name, want,
                      s_json_kind(v));
}

/* Stores one field that is not an amount (those wait for the currency). */
static int s_store(const char *ctx, const s_field_t *f, const json_t *v, void *msg, sk_err_t *err)
{
    char *p = f->offset == S_NOWHERE ? NULL : (char *)msg + f->offset;
    /* Only string-valued fields may be accepted but not stored (S_NOWHERE). */
    if (!p && f->kind != K_STR && f->kind != K_DATE && f->kind != K_AMOUNT &&
        f->kind != K_CURRENCY)
        return 0;
    switch (f->kind) {
    case K_STR:
    case K_DATE:
    case K_AMOUNT:
    case K_CURRENCY: {
        if (!json_is_string(v))
            return s_bad_field(err, ctx, f->name, "a string", v);
        const char *s = json_string_value(v);
        if (f->kind == K_DATE) {
            sk_day_t day;
            if (sk_date_parse(s, &day, err) != 0) {
                char pre[96];
                snprintf(pre, sizeof pre, "%s: %s", ctx, f->name);
                sk_err_prefix(err, pre);
                return -1;
            }
        } else if (f->kind == K_CURRENCY) {
            if (!sk_currency_find(s))
                return sk_err_set(err, "bad_currency",
                                  "%s: %s \"%.16s\" is not a known ISO 4217 code", ctx, f->name, s);
        }
        /* The JSON tree lives as long as self; protobuf-c only reads these. */
        if (p && f->kind != K_AMOUNT)
            *(char **)p = (char *)s;
        return 0;
    }
    case K_BOOL:
        if (!json_is_boolean(v))
            return s_bad_field(err, ctx, f->name, "true or false", v);
        *(protobuf_c_boolean *)p = json_is_true(v);
        return 0;
    case K_U32:
        if (!json_is_integer(v))
            return s_bad_field(err, ctx, f->name, "an integer", v);
        if (json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX)
            return sk_err_set(err, "bad_field", "%s: field \"%s\" must be between 0 and %u", ctx,
                              f->name, (unsigned)UINT32_MAX);
        *(uint32_t *)p = (uint32_t)json_integer_value(v);
        return 0;
    case K_U64:
        if (!json_is_integer(v))
            return s_bad_field(err, ctx, f->name, "an integer", v);
        if (json_integer_value(v) < 0)
            return sk_err_set(err, "bad_field", "%s: field \"%s\" must not be negative", ctx,
                              f->name);
        *(uint64_t *)p = (uint64_t)json_integer_value(v);
        return 0;
    case K_I64:
        if (!json_is_integer(v))
            return s_bad_field(err, ctx, f->name, "an integer", v);
        *(int64_t *)p = (int64_t)json_integer_value(v);
        return 0;
    case K_STATEMENT:
    case K_REMINDERS: {
        if (!json_is_string(v))
            return s_bad_field(err, ctx, f->name, "a string", v);
        const char *s = json_string_value(v);
        bool statement = f->kind == K_STATEMENT;
        const char *const *names = statement ? s_statement_names : s_reminders_names;
        for (int i = 0; names[i]; i++) {
            if (strcmp(s, names[i]) != 0)
                continue;
            if (statement)
                *(Skonto__V1__StatementFrequency *)p = (Skonto__V1__StatementFrequency)(i + 1);
            else
                *(Skonto__V1__Reminders *)p = (Skonto__V1__Reminders)(i + 1);
            return 0;
        }
        return sk_err_set(err, "bad_field", "%s: %s \"%.32s\" must be %s", ctx, f->name, s,
                          statement ? "weekly, daily or none" : "on or off");
    }
    case K_CUSTOMER: /* handled by s_fill: it needs the object's storage */
        return 0;
    }
    return 0;
}

/* Checks obj against a field table: no unknown key (keys in `also` are
 * allowed too), every required field present, every present field well typed
 * and stored into msg. Amounts are only type-checked here. */
static int s_fill(sk_event_json_t *self, const char *ctx, const json_t *obj,
                  const s_field_t *fields, size_t n, const s_field_t *also, size_t nalso, void *msg,
                  sk_err_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (s_find(fields, n, key) || (also && s_find(also, nalso, key)) ||
            (also && strcmp(key, "type") == 0))
            continue;
        return sk_err_set(err, "unknown_field", "%s: unknown field \"%.64s\"", ctx, key);
    }
    for (size_t i = 0; i < n; i++) {
        const s_field_t *f = &fields[i];
        v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) {
            if (f->required)
                return sk_err_set(err, "missing_field", "%s: missing required field \"%s\"", ctx,
                                  f->name);
            continue;
        }
        if (f->kind == K_CUSTOMER) {
            if (!json_is_object(v))
                return s_bad_field(err, ctx, f->name, "an object", v);
            Skonto__V1__CustomerUpsert *c = &self->inline_customer;
            skonto__v1__customer_upsert__init(c);
            if (s_fill(self, "customer", v, s_inline_customer_fields, N(s_inline_customer_fields),
                       NULL, 0, c, err) != 0) {
                sk_err_prefix(err, ctx);
                return -1;
            }
            *(Skonto__V1__CustomerUpsert **)((char *)msg + f->offset) = c;
            continue;
        }
        if (s_store(ctx, f, v, msg, err) != 0)
            return -1;
    }
    return 0;
}

static int s_amounts(const char *ctx, const json_t *obj, const s_field_t *fields, size_t n,
                     const sk_currency_t *cur, void *msg, sk_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        const s_field_t *f = &fields[i];
        if (f->kind != K_AMOUNT)
            continue;
        json_t *v = json_object_get(obj, f->name);
        if (!v || json_is_null(v))
            continue;
        int64_t minor;
        if (sk_money_parse(json_string_value(v), cur, &minor, err) != 0) {
            /* sk_money_parse's message already says 'amount "x"' */
            char pre[96];
            if (strcmp(f->name, "amount") == 0)
                snprintf(pre, sizeof pre, "%s", ctx);
            else
                snprintf(pre, sizeof pre, "%s: %s", ctx, f->name);
            sk_err_prefix(err, pre);
            return -1;
        }
        *(int64_t *)((char *)msg + f->offset) = minor;
    }
    return 0;
}

/* The currency the amounts of this event are in: the line's own "currency",
 * else the caller's lookup by order id. */
static const sk_currency_t *s_currency(const s_type_t *t, const json_t *obj,
                                       sk_currency_lookup_fn lookup, void *arg, sk_err_t *err)
{
    const json_t *v = json_object_get(obj, "currency");
    const char *explicit_code = json_is_string(v) ? json_string_value(v) : NULL;
    const char *order_id = json_string_value(json_object_get(obj, "order_id"));
    if (t->body_case == SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED ||
        t->body_case == SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED ||
        t->body_case == SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED ||
        t->body_case == SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE) {
        if (explicit_code)
            return sk_currency_find(explicit_code); /* checked by s_store */
    }
    const char *known = lookup && order_id ? lookup(arg, order_id) : NULL;
    if (!known) {
        sk_err_set(err, "bad_currency",
                   "%s: currency of order \"%.64s\" is unknown: send the order first or give "
                   "\"currency\"",
                   sk_event_body_name(t->body_case), order_id ? order_id : "");
        return NULL;
    }
    const sk_currency_t *cur = sk_currency_find(known);
    if (!cur)
        sk_err_set(err, "bad_currency", "%s: order \"%.64s\" has unknown currency \"%.16s\"",
                   sk_event_body_name(t->body_case), order_id ? order_id : "", known);
    return cur;
}


/* Messages quote peer text (keys, values, jansson's "near '...'"): keep them
 * one line of valid UTF-8 (JSON output and dead letters need that), so every
 * control character and every byte that is not part of a valid UTF-8
 * sequence (including one cut by truncation) becomes '?'. */
static void s_clean_msg(sk_err_t *err)
{
    if (!err)
        return;
    unsigned char *m = (unsigned char *)err->msg;
    size_t n = strlen(err->msg);
    for (size_t i = 0; i < n;) {
        size_t l = sk_utf8_char((const char *)m + i, n - i, NULL);
        if (l == 0 || (l == 1 && (m[i] < 0x20 || m[i] == 0x7f))) {
            m[i++] = '?';
            continue;
        }
        i += l;
    }
}

static sk_event_json_t *s_parse(const char *line, size_t len, sk_currency_lookup_fn lookup,
                                void *arg, sk_err_t *err);

sk_event_json_t *sk_event_json_parse(const char *line, size_t len, sk_currency_lookup_fn lookup,
                                     void *arg, sk_err_t *err)
{
    sk_event_json_t *self = s_parse(line, len, lookup, arg, err);
    if (!self)
        s_clean_msg(err);
    return self;
}

static sk_event_json_t *s_parse(const char *line, size_t len, sk_currency_lookup_fn lookup,
                                void *arg, sk_err_t *err)
{
    if (!line) {
        sk_err_set(err, "bad_json", "no input");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        sk_err_set(err, "bad_json", "invalid JSON at column %d: %.160s", jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        sk_err_set(err, "bad_json", "an event must be a JSON object, not %s", s_json_kind(root));
        json_decref(root);
        return NULL;
    }
    json_t *jt = json_object_get(root, "type");
    if (!jt || json_is_null(jt)) {
        sk_err_set(err, "missing_field", "event: missing required field \"type\"");
        json_decref(root);
        return NULL;
    }
    if (!json_is_string(jt)) {
        s_bad_field(err, "event", "type", "a string", jt);
        json_decref(root);
        return NULL;
    }
    const s_type_t *t = NULL;
    for (size_t i = 0; i < N(s_types); i++)
        if (strcmp(sk_event_body_name(s_types[i].body_case), json_string_value(jt)) == 0)
            t = &s_types[i];
    if (!t) {
        sk_err_set(err, "bad_type",
                   "unknown event type \"%.64s\" (expected customer, order_shipped, "
                   "invoice_issued, payment_received, credit_note or order_cancelled)",
                   json_string_value(jt));
        json_decref(root);
        return NULL;
    }

    sk_event_json_t *self = calloc(1, sizeof *self);
    if (!self) {
        sk_err_set(err, "nomem", "out of memory");
        json_decref(root);
        return NULL;
    }
    self->root = root;
    skonto__v1__envelope__init(&self->env);
    self->env.source = (char *)s_default_source;

    void *msg = &self->body;
    switch (t->body_case) {
    case SKONTO__V1__ENVELOPE__BODY_CUSTOMER:
        skonto__v1__customer_upsert__init(&self->body.customer);
        self->env.customer = &self->body.customer;
        break;
    case SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED:
        skonto__v1__invoice__init(&self->body.invoice);
        self->env.order_shipped = &self->body.invoice;
        break;
    case SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED:
        skonto__v1__invoice__init(&self->body.invoice);
        self->env.invoice_issued = &self->body.invoice;
        break;
    case SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED:
        skonto__v1__payment_received__init(&self->body.payment);
        self->env.payment_received = &self->body.payment;
        break;
    case SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE:
        skonto__v1__credit_note__init(&self->body.credit);
        self->env.credit_note = &self->body.credit;
        break;
    case SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED:
        skonto__v1__order_cancelled__init(&self->body.cancel);
        self->env.order_cancelled = &self->body.cancel;
        break;
    default:
        break;
    }
    self->env.body_case = t->body_case;

    /* Envelope fields first (event_id names the event in later messages),
     * then the body's; each table allows the other's keys. */
    const char *type = sk_event_body_name(t->body_case);
    if (s_fill(self, type, root, s_envelope_fields, N(s_envelope_fields), t->fields, t->nfields,
               &self->env, err) != 0 ||
        s_fill(self, type, root, t->fields, t->nfields, s_envelope_fields, N(s_envelope_fields),
               msg, err) != 0)
        goto fail;
    /* "source": "" means not given, like every empty string in the contract */
    if (!self->env.source || !self->env.source[0])
        self->env.source = (char *)s_default_source;

    bool has_amount = false;
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].kind == K_AMOUNT)
            has_amount = true;
    if (has_amount) {
        const sk_currency_t *cur = s_currency(t, root, lookup, arg, err);
        if (!cur || s_amounts(sk_event_body_name(t->body_case), root, t->fields, t->nfields, cur, msg, err) != 0)
            goto fail;
    }
    if (self->inline_customer.base.descriptor && self->inline_customer.customer_id[0] == '\0')
        self->inline_customer.customer_id = self->body.invoice.customer_id;
    return self;
fail:
    sk_event_json_destroy(&self);
    return NULL;
}

const Skonto__V1__Envelope *sk_event_json_envelope(const sk_event_json_t *self)
{
    return self ? &self->env : NULL;
}

size_t sk_event_json_pack(const sk_event_json_t *self, uint8_t **out)
{
    *out = NULL;
    if (!self)
        return 0;
    size_t n = skonto__v1__envelope__get_packed_size(&self->env);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    size_t w = skonto__v1__envelope__pack(&self->env, buf);
    if (w != n) {
        free(buf);
        return 0;
    }
    *out = buf;
    return n;
}

void sk_event_json_destroy(sk_event_json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->root);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------------ reverse */

/* A JSON string for s, with U+FFFD in place of every byte that is not valid UTF-8. */
static json_t *s_jstr(const char *s)
{
    if (!s)
        s = "";
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t n = strlen(s);
    char *buf = malloc(n * 3 + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = sk_utf8_char(s + i, n - i, NULL);
        if (l) {
            memcpy(buf + o, s + i, l);
            o += l;
            i += l;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    buf[o] = '\0';
    j = json_string(buf);
    free(buf);
    return j;
}

/* Adds key: value, stealing the value; false if anything failed. */
static bool s_set(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static bool s_set_str(json_t *obj, const char *key, const char *s, bool always)
{
    if (!always && (!s || !*s))
        return true;
    return s_set(obj, key, s_jstr(s));
}

static bool s_set_amount(json_t *obj, const char *key, int64_t minor, const char *code, bool always)
{
    if (!always && minor == 0)
        return true;
    const sk_currency_t *cur = code ? sk_currency_find(code) : NULL;
    if (!cur) {
        char k[48];
        snprintf(k, sizeof k, "%s_minor", key);
        return s_set(obj, k, json_integer((json_int_t)minor));
    }
    char buf[48];
    return s_set(obj, key, json_string(sk_money_format(minor, cur, buf, sizeof buf)));
}

/* An enum by its JSON name; 0 (not given) adds nothing; a value from a
 * newer sender shows as its number. */
static bool s_set_enum(json_t *o, const char *key, int v, const char *const *names)
{
    if (v == 0)
        return true;
    int n = 0;
    while (names[n])
        n++;
    return s_set(o, key, v > 0 && v <= n ? json_string(names[v - 1]) : json_integer(v));
}

static bool s_customer_json(json_t *o, const Skonto__V1__CustomerUpsert *c)
{
    bool ok = s_set_str(o, "customer_id", c->customer_id, true) &&
              s_set_str(o, "name", c->name, false) && s_set_str(o, "email", c->email, false) &&
              s_set_str(o, "timezone", c->timezone, false) &&
              s_set_str(o, "locale", c->locale, false);
    return ok && s_set_enum(o, "statement", (int)c->statement, s_statement_names) &&
           s_set_enum(o, "reminders", (int)c->reminders, s_reminders_names) &&
           s_set_str(o, "terms", c->terms, false);
}

json_t *sk_event_to_json(const Skonto__V1__Envelope *env)
{
    if (!env)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool ok = s_set(o, "type", json_string(sk_event_kind_name(env))) &&
              s_set_str(o, "event_id", env->event_id, true) &&
              s_set_str(o, "source", env->source, false);
    /* sequence is uint64; jansson's integers are signed 64-bit, so a larger
     * one (only a broken sender makes it) is shown as a string */
    if (ok && env->sequence)
        ok = env->sequence <= (uint64_t)INT64_MAX
                 ? s_set(o, "sequence", json_integer((json_int_t)env->sequence))
                 : s_set(o, "sequence", json_sprintf("%" PRIu64, env->sequence));
    if (ok && env->occurred_at_ms)
        ok = s_set(o, "occurred_at_ms", json_integer((json_int_t)env->occurred_at_ms));

    switch (env->body_case) {
    case SKONTO__V1__ENVELOPE__BODY_CUSTOMER:
        if (env->customer)
            ok = ok && s_customer_json(o, env->customer);
        break;
    case SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED:
    case SKONTO__V1__ENVELOPE__BODY_INVOICE_ISSUED: {
        const Skonto__V1__Invoice *v = env->body_case == SKONTO__V1__ENVELOPE__BODY_ORDER_SHIPPED
                                           ? env->order_shipped
                                           : env->invoice_issued;
        if (!v)
            break;
        ok = ok && s_set_str(o, "order_id", v->order_id, true) &&
             s_set_str(o, "customer_id", v->customer_id, true) &&
             s_set_str(o, "salesperson", v->salesperson, false) &&
             s_set_str(o, "currency", v->currency, true) &&
             s_set_amount(o, "amount", v->amount, v->currency, true) &&
             s_set_amount(o, "tax", v->tax, v->currency, false) &&
             s_set_str(o, "ship_date", v->ship_date, true) &&
             s_set_str(o, "invoice_date", v->invoice_date, false) &&
             s_set_str(o, "delivery_date", v->delivery_date, false) &&
             s_set_str(o, "terms", v->terms, false);
        if (ok && v->version)
            ok = s_set(o, "version", json_integer((json_int_t)v->version));
        if (ok && v->customer) {
            json_t *c = json_object();
            ok = c && s_customer_json(c, v->customer);
            if (ok)
                ok = s_set(o, "customer", c);
            else
                json_decref(c);
        }
        break;
    }
    case SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED: {
        const Skonto__V1__PaymentReceived *p = env->payment_received;
        if (!p)
            break;
        ok = ok && s_set_str(o, "order_id", p->order_id, true) &&
             s_set_str(o, "paid_on", p->paid_on, true) &&
             s_set_amount(o, "amount", p->amount, p->currency, true) &&
             s_set(o, "full", json_boolean(p->full)) &&
             s_set_str(o, "currency", p->currency, false) &&
             s_set_str(o, "payment_id", p->payment_id, false);
        break;
    }
    case SKONTO__V1__ENVELOPE__BODY_CREDIT_NOTE: {
        const Skonto__V1__CreditNote *c = env->credit_note;
        if (!c)
            break;
        ok = ok && s_set_str(o, "order_id", c->order_id, true) &&
             s_set_str(o, "issued_on", c->issued_on, true) &&
             s_set_amount(o, "amount", c->amount, c->currency, true) &&
             s_set_str(o, "currency", c->currency, false) &&
             s_set_str(o, "credit_note_id", c->credit_note_id, false);
        break;
    }
    case SKONTO__V1__ENVELOPE__BODY_ORDER_CANCELLED: {
        const Skonto__V1__OrderCancelled *c = env->order_cancelled;
        if (!c)
            break;
        ok = ok && s_set_str(o, "order_id", c->order_id, true) &&
             s_set_str(o, "reason", c->reason, false);
        break;
    }
    default:
        break;
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
