/* skonto-reminder — the reminder worker: fires what is due in the due queue
 * (docs/REMINDERS.md, "Reminder worker"), re-checks it against the stored
 * invoice and customer, renders the mail (notice.h), builds it (sk_mime),
 * sends it (sk_mailer) and records it.
 *
 * The loop, per turn:
 *   1. the clock's instant (sk_clock_tick: SKONTO_CLOCK);
 *   2. one claim per shard, the 16 calls pipelined (claim.lua): up to
 *      SKONTO_REMINDER_BATCH keys each, due ones and expired leases, each
 *      leased for SKONTO_REMINDER_LEASE_MS of Redis time;
 *   3. per key: the re-check (reasons in metrics.h, counted in
 *      skonto_reminder_skipped_total), then the mail, then one record.lua
 *      call with the claim's token: sent, drop, retry (backoff 1 s doubling
 *      up to SKONTO_REMINDER_RETRY_MAX_MS, the same Message-ID next time) or
 *      dead (a 5xx: a dead letter with the server's text, and the address
 *      into undeliv);
 *   4. at most once a second (wall time), one page of one shard's sent
 *      records (queue.h's reminder_queue_trim, shards in turn): those past
 *      SKONTO_SENT_RETENTION_DAYS whose key cannot come back are forgotten;
 *   5. nothing claimed: sleep S_IDLE_MS.
 * A key is started only in the first half of its lease, and an SMTP send is
 * bounded by a quarter of it (at most 60 s), so a key is settled before its
 * lease expires unless the worker stops or dies; then the lease expires and
 * any worker takes it again. That is the one place a mail can go out twice
 * (sent, then killed before record.lua ran), and the resend carries the
 * same Message-ID, derived from the key.
 *
 * Environment (through common/io/sk_config; a bad value stops the start,
 * exit 2): SKONTO_REDIS_URL, SKONTO_WORKER_NAME (default reminder-1),
 * SKONTO_REMINDER_LEASE_MS (default 120000; 1000 .. 86400000, or a duration
 * such as 2m), SKONTO_REMINDER_BATCH (keys per shard per claim, default 100,
 * 1 .. 1000), SKONTO_REMINDER_RETRY_MAX_MS (default 600000),
 * SKONTO_SENT_RETENTION_DAYS (default 400, 1 .. 3650), the
 * sk_remind settings (SKONTO_REMINDER_LEADS/HOUR, SKONTO_DEFAULT_TZ,
 * SKONTO_STATEMENT_WEEKDAY, SKONTO_MAIL_DOMAIN), the mail ones
 * (sk_mailer_opts_from_env: SKONTO_SMTP_*, SKONTO_MAILDIR default ./mail,
 * SKONTO_MAIL_FROM, SKONTO_MAIL_REPLY_TO), SKONTO_CLOCK, SKONTO_LOG_FORMAT,
 * SKONTO_METRICS_ADDR. Heartbeat each second (role "reminder": processed =
 * keys settled, errors = Redis errors, as every worker's; sent, skipped,
 * retried, dead_lettered). SIGTERM/SIGINT: finish the key being
 * sent, exit 0 (the rest of the claim expires and is taken again). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "gather.h"
#include "invoice_store.h"
#include "keys.h"
#include "metrics.h"
#include "notice.h"
#include "queue.h"
#include "sk_clock.h"
#include "sk_config.h"
#include "sk_heartbeat.h"
#include "sk_log.h"
#include "sk_mailer.h"
#include "sk_metrics.h"
#include "sk_mime.h"
#include "sk_redis.h"
#include "sk_remind.h"
#include "sk_signal.h"

#define S_IDLE_MS 200
#define S_RETRY_MIN_MS 1000
#define S_SMTP_TIMEOUT_MAX_MS 60000
#define S_ADDR_MAX 320
#define S_TRIM_EVERY_NS 1000000000ull
#define S_TRIM_WARN_NS (3600ull * S_TRIM_EVERY_NS)

typedef struct {
    redisContext *c;
    const char *name;
    sk_clock_t *clock;
    sk_heartbeat_t *hb;
    reminder_metrics_t *metrics;
    reminder_queue_t *queue;
    reminder_notice_t *notice;
    sk_mailer_t *mailer;
    sk_mailer_opts_t mopts;
    char from_addr[S_ADDR_MAX];
    char unsubscribe[S_ADDR_MAX + 32];
    sk_remind_settings_t set;
    int64_t lease_ms, retry_max_ms, retention_ms;
    int batch;
    /* retention: the shard whose sent records are read next, the HSCAN
     * cursor in it, the wall time of the last page */
    int trim_shard;
    unsigned long long trim_cursor;
    uint64_t trim_at_ns, trim_warned_ns;
    int64_t trim_unreadable; /* met since the last warning */
    int64_t sent, skipped, retried, dead;
    int64_t errors; /* Redis errors (skontoctl status's "errors") */
} s_worker_t;

/* What one claimed key is, while it is handled. */
typedef struct {
    const char *key;
    int shard;
    int64_t lease;
    sk_remind_key_parts_t parts;
    int64_t now;    /* the clock's instant of the turn */
    int64_t tries;  /* failed attempts so far (rtry) */
    bool ambiguous; /* one of them was ambiguous */
    char cid[SK_ID_MAX + 1];
    char next_key[SK_REMIND_KEY_MAX]; /* statement: the one after this */
    int64_t next_due;
    /* reminder: the invoice's plan at now in due order, for the chain
     * (queue.h; nplan 0 until the invoice and the customer's zone are read) */
    char inv_key[SK_KEY_MAX];
    int64_t inv_rev;
    const sk_reminder_t *plan;
    size_t nplan;
} s_item_t;

/* ---------------------------------------------------------------- Redis */

static bool s_redis_ok(s_worker_t *w)
{
    return w->c && !w->c->err;
}

/* Runs argc commands pipelined; replies into out[] (the caller frees them).
 * -1 when the connection failed. */
static int s_pipeline(s_worker_t *w, int n, const int *argc, const char **const *argv,
                      redisReply **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    for (int i = 0; i < n; i++)
        if (redisAppendCommandArgv(w->c, argc[i], argv[i], NULL) != REDIS_OK)
            return -1;
    for (int i = 0; i < n; i++)
        if (redisGetReply(w->c, (void **)&out[i]) != REDIS_OK) {
            for (int k = 0; k < i; k++) {
                freeReplyObject(out[k]);
                out[k] = NULL;
            }
            return -1;
        }
    return 0;
}

static void s_free_replies(redisReply **r, int n)
{
    for (int i = 0; i < n; i++)
        if (r[i])
            freeReplyObject(r[i]);
}

/* ---------------------------------------------------------------- settling */

static void s_settle(s_worker_t *w, s_item_t *it, reminder_settle_t *st)
{
    sk_err_t err;
    st->key = it->key;
    st->shard = it->shard;
    st->lease = it->lease;
    st->customer_id = it->cid;
    if (it->parts.kind == SK_REMIND_KIND_STATEMENT) {
        st->next_key = it->next_key;
        st->next_due_ms = it->next_due;
    } else if (it->nplan > 0) {
        st->inv_key = it->inv_key;
        st->inv_rev = it->inv_rev;
        st->plan = it->plan;
        st->nplan = it->nplan;
    }
    int rc = reminder_queue_settle(w->queue, w->c, st, &err);
    if (rc < 0) {
        reminder_metrics_redis_error(w->metrics);
        w->errors++;
        sk_log_error("%s: %s", it->key, err.msg);
    } else if (rc == 0) {
        reminder_metrics_lease_lost(w->metrics);
        sk_log_warn("%s: another worker took it over before it was recorded", it->key);
    }
}

static void s_skip(s_worker_t *w, s_item_t *it, reminder_skip_t why)
{
    reminder_settle_t st = {.action = REMINDER_SETTLE_DROP};
    reminder_metrics_skipped(w->metrics, why);
    w->skipped++;
    sk_log_at(SK_LOG_INFO, NULL, it->parts.kind == SK_REMIND_KIND_REMINDER ? it->parts.id : NULL,
              "%s not sent: %s", it->key, reminder_skip_name(why));
    s_settle(w, it, &st);
}

/* A dead letter {at_ms, source "reminder", reason_code, message, key,
 * customer_id, order_id (reminders), to}, then the key settled. */
static void s_dead(s_worker_t *w, s_item_t *it, const char *reason, const char *message,
                   const char *to, bool undeliverable)
{
    char msg[256];
    sk_utf8_sanitize(msg, sizeof msg, message, strlen(message));
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "at_ms", (json_int_t)sk_now_ms(), "source",
                          "reminder", "reason_code", reason, "message", msg, "key", it->key,
                          "customer_id", it->cid);
    if (o && it->parts.kind == SK_REMIND_KIND_REMINDER)
        json_object_set_new(o, "order_id", json_string(it->parts.id));
    if (o && to)
        json_object_set_new(o, "to", json_string(to));
    char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    sk_err_t err;
    if (!js || reminder_queue_dead_letter(w->queue, w->c, js, &err) != 0) {
        reminder_metrics_redis_error(w->metrics);
        w->errors++;
        sk_log_error("%s: dead letter not written: %s", it->key, js ? err.msg : "out of memory");
        free(js);
        return; /* left in rproc: its lease expires and it is tried again */
    }
    free(js);
    reminder_metrics_dead_lettered(w->metrics);
    w->dead++;
    sk_log_at(SK_LOG_ERROR, NULL, it->parts.kind == SK_REMIND_KIND_REMINDER ? it->parts.id : NULL,
              "%s: dead letter (%s): %s", it->key, reason, msg);
    reminder_settle_t st = {.action = undeliverable ? REMINDER_SETTLE_DEAD : REMINDER_SETTLE_DROP,
                            .address = to};
    s_settle(w, it, &st);
}

/* ---------------------------------------------------------------- the mail */

static json_t *s_window_json(const char *order_id, const char *currency, int tier,
                             const reminder_window_t *wd)
{
    char day[16];
    return json_pack("{s:s,s:i,s:s,s:i,s:I,s:I,s:s}", "order_id", order_id, "tier", tier,
                     "last_day", sk_date_format(wd->last_day, day, sizeof day), "rate_ppm",
                     (int)wd->rate_ppm, "discount", (json_int_t)wd->discount, "payable",
                     (json_int_t)wd->payable, "currency", currency);
}

/* The sent record (docs/REMINDERS.md, "The sent record"); windows is stolen. */
static char *s_record(const s_item_t *it, const char *to, const char *msgid, int64_t sent_ms,
                      int64_t scheduled_ms, json_t *windows)
{
    bool rem = it->parts.kind == SK_REMIND_KIND_REMINDER;
    json_t *o = json_pack("{s:s,s:s,s:s}", "key", it->key, "kind", rem ? "reminder" : "statement",
                          "customer_id", it->cid);
    if (o && rem)
        json_object_set_new(o, "order_id", json_string(it->parts.id));
    char *out = NULL;
    if (o && !json_object_set_new(o, "to", json_string(to)) &&
        !json_object_set_new(o, "message_id", json_string(msgid)) &&
        !json_object_set_new(o, "sent_ms", json_integer(sent_ms)) &&
        !json_object_set_new(o, "scheduled_ms", json_integer(scheduled_ms)) &&
        !json_object_set_new(o, "outcome",
                             json_string(it->ambiguous ? "ambiguous_resent" : "sent")) &&
        !json_object_set_new(o, "attempts", json_integer(it->tries + 1)) &&
        !json_object_set_new(o, "windows", windows))
        out = json_dumps(o, JSON_COMPACT);
    else if (!o)
        json_decref(windows);
    json_decref(o);
    return out;
}

/* Builds and sends one rendered mail, then settles the key by the outcome. */
static void s_send(s_worker_t *w, s_item_t *it, const reminder_profile_t *p,
                   const reminder_mail_t *m, int64_t scheduled_ms, json_t *windows)
{
    char msgid[SK_REMIND_MSGID_MAX], rcpt[S_ADDR_MAX];
    sk_err_t err;
    char *bytes = NULL;
    size_t len = 0;
    sk_mime_mail_t mail = {.from = w->mopts.from,
                           .reply_to = w->mopts.reply_to,
                           .to = p->email,
                           .to_name = *p->name ? p->name : NULL,
                           .subject = m->subject,
                           .message_id = msgid,
                           .unsubscribe = w->unsubscribe,
                           .date_unix = it->now / 1000,
                           .text = m->text,
                           .html = m->html};
    if (sk_remind_message_id(msgid, sizeof msgid, it->key, w->set.mail_domain) != 0 ||
        sk_mime_addr_spec(p->email, rcpt, sizeof rcpt, &err) != 0 ||
        sk_mime_build(&mail, &bytes, &len, &err) != 0) {
        json_decref(windows);
        s_dead(w, it, "bad_mail", err.msg, p->email, false);
        return;
    }
    sk_send_result_t res;
    sk_mailer_send(w->mailer, w->from_addr, rcpt, bytes, len, &res);
    free(bytes);
    const char *oid = it->parts.kind == SK_REMIND_KIND_REMINDER ? it->parts.id : NULL;
    if (res.outcome == SK_SEND_SENT) {
        char *rec = s_record(it, rcpt, msgid, it->now, scheduled_ms, windows);
        if (!rec) {
            sk_log_error("%s: out of memory for its sent record", it->key);
            return; /* its lease expires: resent with the same Message-ID */
        }
        reminder_settle_t st = {.action = REMINDER_SETTLE_SENT, .record = rec, .sent_ms = it->now};
        s_settle(w, it, &st);
        free(rec);
        reminder_metrics_sent(w->metrics, it->parts.kind == SK_REMIND_KIND_STATEMENT
                                              ? REMINDER_KIND_STATEMENT
                                              : REMINDER_KIND_REMINDER);
        w->sent++;
        sk_log_at(SK_LOG_INFO, NULL, oid, "sent %s to %s, Message-ID %s%s", it->key, rcpt, msgid,
                  it->ambiguous ? " (again: an earlier send was ambiguous)" : "");
        return;
    }
    json_decref(windows);
    if (res.outcome == SK_SEND_PERMANENT) {
        s_dead(w, it, "undeliverable", res.detail, rcpt, true);
        return;
    }
    /* retry, ambiguous: the same key again later, so the same Message-ID */
    int64_t backoff = S_RETRY_MIN_MS;
    for (int64_t k = 0; k < it->tries && backoff < w->retry_max_ms; k++)
        backoff *= 2;
    if (backoff > w->retry_max_ms)
        backoff = w->retry_max_ms;
    bool amb = res.outcome == SK_SEND_AMBIGUOUS;
    reminder_settle_t st = {
        .action = REMINDER_SETTLE_RETRY, .backoff_ms = backoff, .ambiguous = amb};
    s_settle(w, it, &st);
    reminder_metrics_retried(w->metrics);
    if (amb)
        reminder_metrics_ambiguous(w->metrics);
    w->retried++;
    sk_log_at(SK_LOG_WARN, NULL, oid, "%s: %s (%s), try %" PRId64 " again in %" PRId64 " ms",
              it->key, sk_send_outcome_name(res.outcome), res.detail, it->tries + 2, backoff);
}

/* The checks a reminder and a statement share: opted out, no address,
 * address refused before. true when one applies (and the key was dropped). */
static bool s_check_customer(s_worker_t *w, s_item_t *it, const reminder_profile_t *p,
                             const redisReply *undeliv)
{
    if (p->optout) {
        s_skip(w, it, REMINDER_SKIP_OPTED_OUT);
        return true;
    }
    if (!*p->email) {
        s_skip(w, it, REMINDER_SKIP_NO_ADDRESS);
        return true;
    }
    /* undeliverable until the customer's address changes */
    if (undeliv && undeliv->type == REDIS_REPLY_STRING && !strcmp(undeliv->str, p->email)) {
        s_skip(w, it, REMINDER_SKIP_UNDELIVERABLE);
        return true;
    }
    if (p->tz_fallback)
        sk_log_warn("customer %s: zone \"%s\" is not in the system's tz database; using %s", p->id,
                    p->tz_id, sk_tz_id(p->tz));
    return false;
}

/* ---------------------------------------------------------------- a reminder */

/* Whether a later lead of the key's window is due too: then this one is not
 * sent (one mail, not several), and the chain queues that later one (the
 * plan at now keeps, of the passed reminders of a window, the last). */
static bool s_collapsed(const s_worker_t *w, const s_item_t *it, const sk_tz_t *tz)
{
    for (size_t i = 0; i < w->set.nleads; i++) {
        int lead = w->set.leads[i];
        if (lead < it->parts.lead_days &&
            sk_tz_local_instant(tz, it->parts.last_day - lead, w->set.send_minute) <= it->now)
            return true;
    }
    return false;
}

/* The invoice's plan at now in due order (it->plan), for the chain. */
static void s_plan(s_worker_t *w, s_item_t *it, const sk_invoice_t *inv, const sk_tz_t *tz)
{
    static sk_reminder_t plan[SK_REMIND_PLAN_MAX];
    sk_day_t last[SK_TERMS_MAX_TIERS];
    sk_err_t err;
    size_t n = 0;
    int nt = inv->schedule.ntiers;
    for (int i = 0; i < nt && i < SK_TERMS_MAX_TIERS; i++)
        last[i] = inv->schedule.tiers[i].last_day;
    it->nplan = 0;
    if (nt < 0 || nt > SK_TERMS_MAX_TIERS ||
        sk_remind_plan(&w->set, it->parts.id, last, (size_t)nt, tz, it->now, plan,
                       SK_REMIND_PLAN_MAX, &n, &err) != 0)
        return;
    sk_remind_sort_due(plan, n);
    sk_key_invoice(it->inv_key, it->shard, it->parts.id);
    it->inv_rev = inv->rev;
    it->plan = plan;
    it->nplan = n;
}

static void s_reminder(s_worker_t *w, s_item_t *it, redisReply *inv_reply)
{
    static sk_invoice_t inv; /* big; one key at a time */
    sk_err_t err;
    const char *oid = it->parts.id;
    int rc = sk_invoice_from_reply(inv_reply, oid, &inv, &err);
    if (rc != 0 && !strcmp(err.code, "old_layout")) {
        char k[SK_KEY_MAX];
        rc = sk_invoice_read(w->c, sk_key_invoice(k, it->shard, oid), oid, &inv, &err);
    }
    if (rc != 0 && !strcmp(err.code, "no_invoice")) {
        s_skip(w, it, REMINDER_SKIP_NO_INVOICE);
        return;
    }
    if (rc != 0 && !strcmp(err.code, "redis")) {
        reminder_metrics_redis_error(w->metrics);
        w->errors++;
        sk_log_error("%s: %s", it->key, err.msg);
        return; /* its lease expires: tried again */
    }
    if (rc != 0) {
        it->cid[0] = '\0';
        s_dead(w, it, err.code, err.msg, NULL, false);
        return;
    }
    snprintf(it->cid, sizeof it->cid, "%s", inv.customer_id);
    if (inv.status == SK_INV_CANCELLED) {
        s_skip(w, it, REMINDER_SKIP_CANCELLED);
        return;
    }
    if (inv.status != SK_INV_OPEN || inv.balance <= 0) {
        s_skip(w, it, REMINDER_SKIP_PAID);
        return;
    }
    if (it->parts.tier >= inv.schedule.ntiers ||
        inv.schedule.tiers[it->parts.tier].last_day != it->parts.last_day) {
        s_skip(w, it, REMINDER_SKIP_SUPERSEDED);
        return;
    }

    char kc[SK_KEY_MAX], ku[SK_KEY_MAX];
    const char *a0[] = {"HGETALL", sk_key_customer(kc, it->shard, it->cid)};
    const char *a1[] = {"HGET", sk_key_undeliverable(ku, it->shard), it->cid};
    const char **argv[] = {a0, a1};
    int argc[] = {2, 3};
    redisReply *r[2];
    if (s_pipeline(w, 2, argc, argv, r) != 0)
        return;
    reminder_profile_t p;
    rc = reminder_profile_from_reply(r[0], it->cid, &w->set, &p, &err);
    redisReply *undeliv = r[1];
    const sk_tz_t *tz = rc == 0 ? p.tz : w->set.default_tz;
    s_plan(w, it, &inv, tz); /* whatever happens to this key, the next one follows */
    bool done = false;
    if (rc != 0) {
        s_dead(w, it, err.code, err.msg, NULL, false);
        done = true;
    } else if (!p.exists) {
        s_skip(w, it, REMINDER_SKIP_NO_ADDRESS);
        done = true;
    }
    if (!done && it->now >= sk_tz_day_start(tz, it->parts.last_day + 1)) {
        s_skip(w, it, REMINDER_SKIP_CLOSED);
        done = true;
    }
    if (!done && s_collapsed(w, it, tz)) {
        s_skip(w, it, REMINDER_SKIP_COLLAPSED);
        done = true;
    }
    if (!done)
        done = s_check_customer(w, it, &p, undeliv);
    s_free_replies(r, 2);
    if (done)
        return;

    sk_day_t today = sk_tz_local_day(tz, it->now, NULL);
    reminder_letter_t letter = {.customer = reminder_profile_customer(&p)};
    int tiers[SK_TERMS_MAX_TIERS];
    reminder_invoice_view(&inv, today, &letter.invoice, tiers);
    int j = 0;
    while (j < letter.invoice.n_windows && tiers[j] != it->parts.tier)
        j++;
    if (j == letter.invoice.n_windows) {
        s_skip(w, it, REMINDER_SKIP_CLOSED);
        return;
    }
    /* the window that closes first, then the ones after it */
    memmove(letter.invoice.windows, letter.invoice.windows + j,
            (size_t)(letter.invoice.n_windows - j) * sizeof letter.invoice.windows[0]);
    memmove(tiers, tiers + j, (size_t)(letter.invoice.n_windows - j) * sizeof tiers[0]);
    letter.invoice.n_windows -= j;

    reminder_mail_t m;
    if (reminder_notice_reminder(w->notice, &letter, &m, &err) != 0) {
        s_dead(w, it, err.code, err.msg, p.email, false);
        return;
    }
    json_t *wins = json_array();
    for (int i = 0; wins && i < letter.invoice.n_windows; i++)
        json_array_append_new(wins, s_window_json(oid, letter.invoice.currency, tiers[i],
                                                  &letter.invoice.windows[i]));
    int64_t scheduled =
        sk_tz_local_instant(tz, it->parts.last_day - it->parts.lead_days, w->set.send_minute);
    s_send(w, it, &p, &m, scheduled, wins ? wins : json_array());
    reminder_mail_free(&m);
}

/* ---------------------------------------------------------------- a statement */

/* The customer's next statement after now (it->next_key, "" for none). */
static void s_next_statement(s_worker_t *w, s_item_t *it, const reminder_profile_t *p)
{
    it->next_key[0] = '\0';
    int64_t next;
    if (p->exists && !p->optout &&
        sk_tz_statement_next(p->tz, p->cadence, w->set.statement_weekday, w->set.send_minute,
                             it->now, &next) &&
        sk_statement_key(it->next_key, sizeof it->next_key, it->cid, next) == 0)
        it->next_due = next;
    else
        it->next_key[0] = '\0';
}

static void s_statement(s_worker_t *w, s_item_t *it)
{
    sk_err_t err;
    snprintf(it->cid, sizeof it->cid, "%s", it->parts.id);
    reminder_gathered_t *g = reminder_statement_gather(w->c, it->cid, &w->set, it->now, &err);
    if (!g && !strcmp(err.code, "no_customer")) {
        s_skip(w, it, REMINDER_SKIP_NO_CUSTOMER);
        return;
    } /* stmt forgotten: next "" */
    if (!g && !strcmp(err.code, "redis")) {
        reminder_metrics_redis_error(w->metrics);
        w->errors++;
        sk_log_error("%s: %s", it->key, err.msg);
        return;
    }
    if (!g) {
        s_dead(w, it, err.code, err.msg, NULL, false);
        return;
    }
    const reminder_profile_t *p = reminder_gathered_profile(g);
    const reminder_statement_t *st = reminder_gathered_statement(g);
    s_next_statement(w, it, p);
    char ku[SK_KEY_MAX];
    const char *a[] = {"HGET", sk_key_undeliverable(ku, it->shard), it->cid};
    redisReply *undeliv = redisCommandArgv(w->c, 3, a, NULL);
    if (!undeliv) {
        reminder_gathered_destroy(&g);
        return;
    }
    bool done = false;
    if (p->optout) {
        it->next_key[0] = '\0';
        s_skip(w, it, REMINDER_SKIP_OPTED_OUT);
        done = true;
    }
    if (!done && !reminder_statement_has_window(st)) {
        s_skip(w, it, REMINDER_SKIP_NO_WINDOW); /* and advanced */
        done = true;
    }
    if (!done) {
        /* no address or refused before: not advanced, so the customer event
         * that fixes the address (which re-sets stmt) finds it pending */
        char keep[SK_REMIND_KEY_MAX];
        snprintf(keep, sizeof keep, "%s", it->next_key);
        it->next_key[0] = '\0';
        done = s_check_customer(w, it, p, undeliv);
        snprintf(it->next_key, sizeof it->next_key, "%s", keep);
    }
    freeReplyObject(undeliv);
    if (done) {
        reminder_gathered_destroy(&g);
        return;
    }
    reminder_mail_t m;
    if (reminder_notice_statement(w->notice, st, &m, &err) != 0) {
        s_dead(w, it, err.code, err.msg, p->email, false);
        reminder_gathered_destroy(&g);
        return;
    }
    json_t *wins = json_array();
    for (size_t i = 0; wins && i < st->n_invoices; i++) {
        const reminder_invoice_t *inv = &st->invoices[i];
        const int *tiers = reminder_gathered_tiers(g, i);
        for (int k = 0; k < inv->n_windows; k++)
            json_array_append_new(
                wins, s_window_json(inv->order_id, inv->currency, tiers[k], &inv->windows[k]));
    }
    s_send(w, it, p, &m, it->parts.scheduled_ms, wins ? wins : json_array());
    reminder_mail_free(&m);
    reminder_gathered_destroy(&g);
}

/* ---------------------------------------------------------------- one key */

static void s_handle(s_worker_t *w, int shard, int64_t lease, const char *key)
{
    s_item_t it = {.key = key, .shard = shard, .lease = lease, .now = sk_clock_now(w->clock)};
    if (sk_remind_key_parse(key, &it.parts) != 0) {
        it.parts.kind = SK_REMIND_KIND_REMINDER;
        it.parts.id = "";
        s_skip(w, &it, REMINDER_SKIP_BAD_KEY);
        return;
    }
    if (it.parts.kind == SK_REMIND_KIND_STATEMENT)
        snprintf(it.cid, sizeof it.cid, "%s", it.parts.id);
    char ks[SK_KEY_MAX], kt[SK_KEY_MAX], kp[SK_KEY_MAX], ki[SK_KEY_MAX], amb[SK_REMIND_KEY_MAX + 2];
    snprintf(amb, sizeof amb, "a|%s", key);
    const char *a0[] = {"HEXISTS", sk_key_remind_sent(ks, shard), key};
    const char *a1[] = {"HMGET", sk_key_remind_tries(kt, shard), key, amb};
    const char *a2[] = {"ZSCORE", sk_key_remind_proc(kp, shard), key};
    /* the invoice only for a reminder (a statement's id is its customer's) */
    const char *a3[] = {"GET", sk_key_invoice(ki, shard, it.parts.id)};
    const char **argv[] = {a0, a1, a2, a3};
    int argc[] = {3, 4, 3, 2};
    int n = it.parts.kind == SK_REMIND_KIND_REMINDER ? 4 : 3;
    redisReply *r[4] = {NULL, NULL, NULL, NULL};
    if (s_pipeline(w, n, argc, argv, r) != 0) {
        reminder_metrics_redis_error(w->metrics);
        w->errors++;
        return;
    }
    /* still ours? A worker paused past its lease (SIGSTOP, a long stall)
     * must not send what another worker has taken over since */
    if (r[2]->type != REDIS_REPLY_STRING || strtoll(r[2]->str, NULL, 10) != lease) {
        reminder_metrics_lease_lost(w->metrics);
        sk_log_warn("%s: its lease passed to another worker before it was sent", key);
        s_free_replies(r, n);
        return;
    }
    if (r[1]->type == REDIS_REPLY_ARRAY && r[1]->elements == 2) {
        if (r[1]->element[0]->type == REDIS_REPLY_STRING)
            it.tries = strtoll(r[1]->element[0]->str, NULL, 10);
        it.ambiguous = r[1]->element[1]->type == REDIS_REPLY_STRING;
    }
    if (it.tries < 0 || it.tries > 1000000)
        it.tries = 0;
    if (r[0]->type == REDIS_REPLY_INTEGER && r[0]->integer == 1)
        s_skip(w, &it, REMINDER_SKIP_ALREADY_SENT);
    else if (it.parts.kind == SK_REMIND_KIND_REMINDER)
        s_reminder(w, &it, r[3]);
    else
        s_statement(w, &it);
    s_free_replies(r, n);
}

/* ---------------------------------------------------------------- the loop */

static void s_heartbeat(s_worker_t *w)
{
    if (!sk_heartbeat_due(w->hb, sk_now_ms()))
        return;
    /* processed: keys settled (sent, not sent, dead-lettered), the column
     * skontoctl status shows for every worker */
    sk_heartbeat_count(w->hb, "processed", w->sent + w->skipped + w->dead);
    sk_heartbeat_count(w->hb, "errors", w->errors);
    sk_heartbeat_count(w->hb, "sent", w->sent);
    sk_heartbeat_count(w->hb, "skipped", w->skipped);
    sk_heartbeat_count(w->hb, "retried", w->retried);
    sk_heartbeat_count(w->hb, "dead_lettered", w->dead);
    sk_err_t err;
    if (sk_heartbeat_write(w->hb, w->c, &err) != 0)
        sk_log_warn("heartbeat: %s", err.msg);
}

static void s_sleep_ms(int ms)
{
    for (int slept = 0; slept < ms && !sk_signal_stopping(); slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int s_reconnect(s_worker_t *w)
{
    sk_err_t err;
    if (w->c)
        redisFree(w->c);
    w->c = sk_redis_connect_env(&err);
    if (!w->c || reminder_queue_reload(w->queue, w->c, &err) != 0) {
        sk_log_error("redis: %s", err.msg);
        if (w->c)
            redisFree(w->c);
        w->c = NULL;
        return -1;
    }
    sk_heartbeat_reset(w->hb);
    sk_log("connected to Redis again");
    return 0;
}

/* One page of sent records past their retention, at most once a second. */
static void s_trim(s_worker_t *w)
{
    uint64_t now = sk_metrics_now_ns();
    if (now - w->trim_at_ns < S_TRIM_EVERY_NS)
        return;
    w->trim_at_ns = now;
    size_t gone, unreadable;
    sk_err_t err;
    if (reminder_queue_trim(w->queue, w->c, w->trim_shard, &w->trim_cursor,
                            sk_clock_now(w->clock), w->retention_ms, &gone, &unreadable,
                            &err) != 0) {
        sk_log_error("%s", err.msg); /* "trim: ..." */
        w->errors++;
        reminder_metrics_redis_error(w->metrics);
        return;
    }
    reminder_metrics_forgotten(w->metrics, gone);
    /* a bad record is met again every pass: said at most once an hour */
    w->trim_unreadable += (int64_t)unreadable;
    if (w->trim_unreadable && (!w->trim_warned_ns || now - w->trim_warned_ns >= S_TRIM_WARN_NS)) {
        sk_log_warn("trim: %" PRId64 " sent records met since the last warning are not "
                    "readable records (kept; the last in shard %d)",
                    w->trim_unreadable, w->trim_shard);
        w->trim_unreadable = 0;
        w->trim_warned_ns = now;
    }
    if (w->trim_cursor == 0)
        w->trim_shard = (w->trim_shard + 1) % SK_SHARDS;
}

/* One turn: returns the number of keys claimed, -1 on a Redis failure. */
static long s_turn(s_worker_t *w)
{
    sk_err_t err;
    if (sk_clock_tick(w->clock, w->c, &err) != 0) {
        sk_log_error("clock: %s", err.msg);
        return -1;
    }
    reminder_claim_t claims[SK_SHARDS];
    size_t bad = 0;
    uint64_t t0 = sk_metrics_now_ns();
    if (reminder_queue_claim(w->queue, w->c, sk_clock_now(w->clock), w->lease_ms, w->batch, claims,
                             &bad, &err) != 0) {
        sk_log_error("%s", err.msg); /* "claim: ..." */
        return -1;
    }
    if (bad)
        sk_log_warn("%zu claimed members are not keys (left to expire)", bad);
    long total = 0;
    size_t due = 0, back = 0;
    for (int s = 0; s < SK_SHARDS; s++) {
        total += (long)claims[s].n;
        back += claims[s].n_back;
        due += claims[s].n - claims[s].n_back;
    }
    reminder_metrics_claimed(w->metrics, due, back);
    /* start a key only in the first half of the lease (see the top) */
    uint64_t half = (uint64_t)w->lease_ms * 1000000ull / 2;
    for (int s = 0; s < SK_SHARDS && s_redis_ok(w); s++)
        for (size_t i = 0; i < claims[s].n && s_redis_ok(w); i++) {
            if (sk_signal_stopping() || sk_metrics_now_ns() - t0 > half)
                goto out;
            s_handle(w, s, claims[s].lease, claims[s].keys[i]);
            reminder_metrics_loop(w->metrics, true);
            s_heartbeat(w);
        }
out:
    reminder_claims_clear(claims);
    if (s_redis_ok(w))
        s_trim(w);
    return s_redis_ok(w) ? total : -1;
}

static int s_config(s_worker_t *w, sk_err_t *err)
{
    int64_t batch, days;
    if (sk_config_string("SKONTO_WORKER_NAME", "reminder-1", SK_ID_MAX, &w->name, err) != 0 ||
        sk_config_duration_ms("SKONTO_REMINDER_LEASE_MS", 120000, 1000, 86400000, 1, &w->lease_ms,
                              err) != 0 ||
        sk_config_int("SKONTO_REMINDER_BATCH", 100, 1, REMINDER_QUEUE_BATCH_MAX, &batch, err) !=
            0 ||
        sk_config_duration_ms("SKONTO_REMINDER_RETRY_MAX_MS", 600000, S_RETRY_MIN_MS, 86400000, 1,
                              &w->retry_max_ms, err) != 0 ||
        sk_config_int("SKONTO_SENT_RETENTION_DAYS", 400, 1, 3650, &days, err) != 0 ||
        sk_remind_settings_load(&w->set, err) != 0 ||
        sk_mailer_opts_from_env(&w->mopts, "mail", err) != 0)
        return -1;
    w->batch = (int)batch;
    w->retention_ms = days * SK_MS_PER_DAY;
    w->mopts.timeout_ms =
        w->lease_ms / 4 < S_SMTP_TIMEOUT_MAX_MS ? w->lease_ms / 4 : S_SMTP_TIMEOUT_MAX_MS;
    if (sk_mime_addr_spec(w->mopts.from, w->from_addr, sizeof w->from_addr, err) != 0)
        return -1;
    snprintf(w->unsubscribe, sizeof w->unsubscribe, "mailto:%s?subject=unsubscribe", w->from_addr);
    return 0;
}

int main(void)
{
    static s_worker_t w;
    sk_err_t err;
    if (s_config(&w, &err) != 0) {
        fprintf(stderr, "skonto-reminder: %s\n", err.msg);
        return 2;
    }
    if (sk_log_init(w.name, &err) != 0 || sk_signal_install(&err) != 0 ||
        !(w.clock = sk_clock_new_env(&err)) || !(w.metrics = reminder_metrics_new(&err))) {
        fprintf(stderr, "skonto-reminder: %s\n", err.msg);
        sk_clock_destroy(&w.clock);
        return 2;
    }
    w.hb = sk_heartbeat_new(w.name, "reminder");
    if (*reminder_metrics_address(w.metrics))
        sk_heartbeat_text(w.hb, "metrics", reminder_metrics_address(w.metrics));
    int rc = 1;
    if (!(w.notice = reminder_notice_new(&err)) || !(w.mailer = sk_mailer_new(&w.mopts, &err)) ||
        !(w.c = sk_redis_connect_env(&err)) || !(w.queue = reminder_queue_new(w.c, &err))) {
        sk_log_error("start: %s", err.msg);
        goto done;
    }
    char clk[128];
    sk_log("started: %s, lease %" PRId64 " ms, batch %d per shard, sent records kept %" PRId64
           " days, clock %s%s%s",
           w.mopts.smtp_url ? w.mopts.smtp_url : w.mopts.maildir, w.lease_ms, w.batch,
           w.retention_ms / SK_MS_PER_DAY,
           sk_clock_describe(w.clock, clk, sizeof clk),
           *reminder_metrics_address(w.metrics) ? ", metrics on " : "",
           reminder_metrics_address(w.metrics));
    while (!sk_signal_stopping()) {
        long n = w.c ? s_turn(&w) : -1;
        if (n < 0) {
            reminder_metrics_redis_error(w.metrics);
            reminder_metrics_loop(w.metrics, false);
            s_sleep_ms(1000);
            if (!s_redis_ok(&w))
                s_reconnect(&w);
            continue;
        }
        reminder_metrics_loop(w.metrics, true);
        s_heartbeat(&w);
        if (n == 0)
            s_sleep_ms(S_IDLE_MS);
    }
    if (s_redis_ok(&w)) {
        sk_heartbeat_reset(w.hb);
        s_heartbeat(&w);
    }
    sk_log("stopping: %" PRId64 " sent, %" PRId64 " skipped, %" PRId64 " retried, %" PRId64
           " dead letters",
           w.sent, w.skipped, w.retried, w.dead);
    rc = 0;
done:
    if (w.c)
        redisFree(w.c);
    reminder_queue_destroy(&w.queue);
    sk_mailer_destroy(&w.mailer);
    reminder_notice_destroy(&w.notice);
    sk_heartbeat_destroy(&w.hb);
    reminder_metrics_destroy(&w.metrics);
    sk_clock_destroy(&w.clock);
    sk_tz_cache_clear();
    return rc;
}
