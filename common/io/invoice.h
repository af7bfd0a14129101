/* invoice — the invoice state kept in Redis (`sk:{sN}:inv:<oid>`), as a struct.
 *
 * The discount worker writes it; skontoctl reads it. sk_invoice_from_fields
 * parses the field/value pairs of an HGETALL (see docs/DATAFLOW.md for the
 * field list) and rejects anything malformed rather than guessing. */
#ifndef SK_INVOICE_H
#define SK_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schedule.h"
#include "settlement.h"
#include "sk_error.h"

#define SK_ID_MAX 64
#define SK_INVOICE_MAX_PAYMENTS 64

typedef enum { SK_INV_OPEN = 0, SK_INV_PAID = 1, SK_INV_CANCELLED = 2 } sk_invoice_status_t;

typedef struct {
    char order_id[SK_ID_MAX + 1];
    char customer_id[SK_ID_MAX + 1];
    char salesperson[SK_ID_MAX + 1];
    char terms[SK_TERMS_MAX_LEN];
    sk_day_t invoice_date;  /* -1 if not given */
    sk_day_t delivery_date; /* -1 if not given */
    sk_schedule_t schedule; /* currency, amount, tax, baseline, net due, tiers */
    int64_t balance;
    int npayments;
    sk_applied_t payments[SK_INVOICE_MAX_PAYMENTS];
    bool payment_full[SK_INVOICE_MAX_PAYMENTS];
    int64_t discount_total, unearned_total, credit_total;
    sk_invoice_status_t status;
    uint32_t version;
    int64_t rev;
} sk_invoice_t;

/* Parses HGETALL pairs (fields[i], values[i], lengths given). */
int sk_invoice_from_fields(sk_invoice_t *inv, const char *order_id, size_t n, const char **fields,
                           const char **values, const size_t *value_lens, sk_err_t *err);

/* Renders the fields of inv for HSET: calls emit(field, value) per field. */
typedef void (*sk_invoice_emit_fn)(void *arg, const char *field, const char *value);
void sk_invoice_to_fields(const sk_invoice_t *inv, sk_invoice_emit_fn emit, void *arg);

const char *sk_invoice_status_name(sk_invoice_status_t st);

#endif
