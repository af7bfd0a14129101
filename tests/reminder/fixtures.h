/* fixtures — the reminders and statements the golden tests and the mail
 * driver render: hand-worked invoices on terms 2/7,1/17,n/30 of 1,130.00
 * (discounts 22.60 and 11.30), so every figure in a golden file can be
 * checked by hand. Static, so each program stays one file plus this header. */
#ifndef SK_TEST_FIXTURES_H
#define SK_TEST_FIXTURES_H

#include "date.h"
#include "notice.h"

static inline sk_day_t reminder_fx_day(int y, int m, int d)
{
    return sk_date_from_ymd(y, m, d);
}

/* Invoice order_id of 1,130.00 cur: 2 % by 2026-11-09, 1 % by 11-19, net 12-02. */
static inline reminder_invoice_t reminder_fx_invoice(const char *order_id, const char *cur)
{
    reminder_invoice_t inv = {.order_id = order_id,
                               .currency = cur,
                               .amount = 113000,
                               .net_due = reminder_fx_day(2026, 12, 2),
                               .n_windows = 2};
    inv.windows[0] = (reminder_window_t){reminder_fx_day(2026, 11, 9), 20000, 2260, 110740};
    inv.windows[1] = (reminder_window_t){reminder_fx_day(2026, 11, 19), 10000, 1130, 111870};
    return inv;
}

static inline reminder_letter_t reminder_fx_reminder(const char *locale, const char *name, const char *cur)
{
    reminder_letter_t r = {
        .customer = {.id = "C-1", .name = name, .email = "c1@example.com", .locale = locale},
        .invoice = reminder_fx_invoice("SO-1001", cur)};
    return r;
}

/* Four open invoices on 2026-11-05: SO-2 (closes 11-09) and SO-3 (EUR, 11-11,
 * the 7th day) close soon, SO-4 on the 8th day (11-12) and SO-5 (no window
 * left) come later. Saved by paying the soon ones in time: 22.60 cur and
 * 15.00 EUR. */
static inline void reminder_fx_statement_invoices(reminder_invoice_t inv[4], const char *cur)
{
    inv[0] = reminder_fx_invoice("SO-4", cur);
    inv[0].windows[0].last_day = reminder_fx_day(2026, 11, 12);
    inv[1] = reminder_fx_invoice("SO-2", cur);
    inv[2] = (reminder_invoice_t){.order_id = "SO-5",
                                   .currency = cur,
                                   .amount = 50000,
                                   .net_due = reminder_fx_day(2026, 11, 30),
                                   .n_windows = 0};
    inv[3] = (reminder_invoice_t){.order_id = "SO-3",
                                   .currency = "EUR",
                                   .amount = 150000,
                                   .net_due = reminder_fx_day(2026, 12, 5),
                                   .n_windows = 1};
    inv[3].windows[0] = (reminder_window_t){reminder_fx_day(2026, 11, 11), 10000, 1500, 148500};
}

#endif
