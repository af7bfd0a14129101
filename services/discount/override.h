/* override — the discount worker's side of an approved override (issue 9;
 * docs/AUDIT.md section 8): the OverrideOrder the audit worker queued in
 * sk:{audit}:ovq:N (field o), decoded and checked, and the AuditHandoff
 * messages (OverrideApplied, ScheduleChanged) the apply script hands to
 * sk:{sN}:auditq with the change they describe. No I/O here.
 *
 * An order is only trusted as far as it is checked: every string bounded
 * (ids 1..64 or 1..256 bytes, users 1..64), the customer in the queue's
 * shard, a revision >= 1, a known kind with the fields it needs (a tier
 * 0..7, an EXTEND's day "YYYY-MM-DD", a RATE's rate 1..999999 ppm, a GRANT's
 * payment 0..63). The hand-offs are built from those checked values (never
 * by re-packing what was received). */
#ifndef DISCOUNT_OVERRIDE_H
#define DISCOUNT_OVERRIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_rules.h"
#include "override_rules.h"

#define DISCOUNT_OVERRIDE_BYTES_MAX 4096 /* an OverrideOrder is ~200 bytes */
#define DISCOUNT_HANDOFF_MAX 8192

typedef struct {
    int shard;         /* the queue's: sk:{audit}:ovq:<shard> */
    char entry_id[48]; /* the queue entry's id */
    bool valid;        /* false: error says why (acknowledged without a change) */
    char error[320];
    char override_id[SK_OVERRIDE_ID_MAX + 1];
    char order_id[SK_ID_MAX + 1];
    char customer_id[SK_ID_MAX + 1];
    char requested_by[SK_OVERRIDE_USER_MAX + 1];
    char approved_by[SK_OVERRIDE_USER_MAX + 1];
    int64_t revision; /* the invoice revision it may be applied to */
    sk_override_change_t change;
} discount_override_t;

/* Decodes and checks a queue entry's field o (data NULL: the entry had none). */
void discount_override_decode(discount_override_t *o, int shard, const char *entry_id, size_t idlen,
                              const void *data, size_t len);

/* The AuditHandoff{applied} of o into buf: refusal "" when applied (r the
 * result, rev_after the invoice's new revision), else the refusal code (r
 * NULL; rev_after the invoice's revision now, 0 when there is none).
 * currency may be NULL. Returns its length, 0 if it does not fit. */
size_t discount_handoff_applied(const discount_override_t *o, const char *refusal,
                                const sk_override_result_t *r, int64_t rev_after,
                                const char *currency, int64_t at_ms, uint8_t *buf, size_t cap);

/* Whether a new version of an order changed what its schedule comes from:
 * terms, amount or baseline. */
bool discount_schedule_changed(const sk_invoice_t *old, const sk_invoice_t *nw);

/* The AuditHandoff{schedule_changed} of old -> nw, sent by `sender` (the
 * ZAP User-Id ingest stored with the event, "" unknown) in event event_id. */
size_t discount_handoff_schedule(const sk_invoice_t *old, const sk_invoice_t *nw,
                                 const char *sender, const char *event_id, uint8_t *buf,
                                 size_t cap);

/* An override as the invoice keeps it (sk_invoice_override_t). */
void discount_override_record(const discount_override_t *o, const sk_override_result_t *r,
                              uint32_t version, int64_t at_ms, sk_invoice_override_t *out);

#endif
