/* keys — every Redis key Skonto uses, in one place.
 *
 * State is split into SK_SHARDS shards. A customer, all of the customer's
 * invoices, the event stream that feeds them and the aggregates they update
 * live in the customer's shard, and every key of shard N carries the Redis
 * Cluster hash tag "{sN}" so that one Lua script can touch all of them
 * atomically, on one node today and on Redis Cluster later. The order ->
 * customer index is sharded by order id ("{oN}") so that a payment, which
 * names only the order, can find its customer's shard. System-wide keys
 * (heartbeats, dead letters, sequence gaps) use "{sys}".
 *
 * SK_SHARDS is part of the data layout: changing it needs a migration.
 * The README's "Redis layout" section documents every key. */
#ifndef SK_KEYS_H
#define SK_KEYS_H

#include <stddef.h>

#define SK_SHARDS 16
#define SK_KEY_MAX 320 /* ids are at most 256 bytes (SK_EVENT_ID_MAX), so every key fits */

/* Stable shard of an id (FNV-1a 32-bit of the bytes, modulo SK_SHARDS). */
int sk_shard_of(const char *id);

/* Shard-scoped keys: write into buf (SK_KEY_MAX bytes) and return buf. */
char *sk_key_events(char *buf, int shard);                 /* sk:{sN}:events      stream */
/* Before event-id claims (issue 6): every accepted id of the shard; ingest
 * migrates it into claims at start and deletes it. */
char *sk_key_seen(char *buf, int shard);                   /* sk:{sN}:seen        hash   */
/* Event-id claims, in the shard of the EVENT ID (N = sk_shard_of(event_id)),
 * not of the customer: one place per id for the whole system. The claim
 * value is "p:<ms>:<owner>", pending while ms is above the owner's
 * watermark in the shard's settled hash and accepted from then on, or "a"
 * (accepted, settled on its own); it expires after the id retention. */
char *sk_key_event_claim(char *buf, const char *event_id); /* sk:{sN}:eid:ID   string */
/* Events stored in the (customer's) shard whose claim is not yet marked
 * accepted: transient, removed when the claim is completed. */
char *sk_key_stored(char *buf, int shard);                 /* sk:{sN}:stored  hash   */
/* The claims' watermarks in the (event id's) shard: owner -> ms; every claim
 * "p:<ms'>:<owner>" with ms' <= ms is accepted (services/ingest/claim.lua). */
char *sk_key_settled(char *buf, int shard); /* sk:{sN}:settled hash   */
/* Per order of the shard: its highest accepted version, that version's
 * content hash and the number of its events stored so far (each stream entry
 * of an order carries its number as field q): order_id -> "VER:HASH:Q". */
char *sk_key_order_versions(char *buf, int shard);         /* sk:{sN}:over    hash   */
/* ingest's counters kept with what they count (summed over shards when read). */
char *sk_key_ingest_stats(char *buf, int shard);           /* sk:{sN}:ingest  hash   */
char *sk_key_customer(char *buf, int shard, const char *customer_id); /* sk:{sN}:cust:ID  hash */
char *sk_key_history(char *buf, int shard, const char *customer_id);  /* sk:{sN}:hist:ID  hash */
char *sk_key_customer_open(char *buf, int shard, const char *customer_id); /* sk:{sN}:copen:ID zset */
/* The stored invoice: "<rev>.<q>|" + packed InvoiceState (common/io/invoice.h);
 * a hash in the layout of before issue 7, until the discount worker migrates it. */
char *sk_key_invoice(char *buf, int shard, const char *order_id);     /* sk:{sN}:inv:ID   string */
#define SK_KEY_INVOICE_PATTERN "sk:{s*}:inv:*" /* every invoice key (SCAN MATCH) */
char *sk_key_forecast_history(char *buf, int shard);       /* sk:{sN}:fc:hist     hash   */
char *sk_key_forecast_net(char *buf, int shard);           /* sk:{sN}:fc:net      hash   */
char *sk_key_takeup(char *buf, int shard);                 /* sk:{sN}:takeup      hash   */
/* The policy report's counters (issue 10; common/invoice_rules.h,
 * sk_invoice_policy, names the fields), written by the discount worker's
 * apply step with the state they count. */
char *sk_key_policy(char *buf, int shard);                 /* sk:{sN}:pol         hash   */
char *sk_key_policy_customers(char *buf, int shard);       /* sk:{sN}:pcust       hash   */
char *sk_key_policy_salespeople(char *buf, int shard);     /* sk:{sN}:psp         hash   */
/* Events acknowledged without being recorded (paid invoice, other currency,
 * ...): list of JSON objects, newest first. */
char *sk_key_unapplied(char *buf, int shard);              /* sk:{sN}:unapplied   list   */
/* Reminders and statements (issue 8; docs/REMINDERS.md says who writes what).
 * Members are sk_remind_key / sk_statement_key strings (common/io/sk_remind.h),
 * in the CUSTOMER's shard. */
char *sk_key_remind_due(char *buf, int shard);   /* sk:{sN}:rdue    zset  key -> due instant ms (clock time) */
char *sk_key_remind_proc(char *buf, int shard);  /* sk:{sN}:rproc   zset  key -> lease expiry ms (Redis TIME) */
char *sk_key_remind_sent(char *buf, int shard);  /* sk:{sN}:rsent   hash  key -> JSON sent record */
char *sk_key_remind_tries(char *buf, int shard); /* sk:{sN}:rtry    hash  key -> failed attempts so far */
char *sk_key_remind_log(char *buf, int shard, const char *customer_id); /* sk:{sN}:rlog:ID zset key -> sent ms */
char *sk_key_statements(char *buf, int shard);   /* sk:{sN}:stmt    hash  customer id -> its pending statement key */
char *sk_key_undeliverable(char *buf, int shard); /* sk:{sN}:undeliv hash customer id -> address a 5xx refused */
/* Order index, sharded by order id: sk:{oN}:o2c hash order_id -> "customer_id\tcurrency". */
char *sk_key_order_index(char *buf, const char *order_id);
/* The order index's value, written and read only here: "customer_id\tCUR".
 * format: into buf (capacity n); -1 if it does not fit. parse: a stored
 * value of len bytes into the customer id (cust, capacity ncust) and the
 * currency code (cur); -1 if it is malformed or does not fit. */
int sk_order_index_format(char *buf, size_t n, const char *customer_id, const char *currency);
int sk_order_index_parse(const char *v, size_t len, char *cust, size_t ncust, char cur[4]);
/* System keys. */
#define SK_KEY_HEARTBEATS "sk:{sys}:hb"   /* hash worker -> JSON heartbeat */
#define SK_KEY_DEADLETTERS "sk:{sys}:dlq" /* list of JSON dead letters, newest first */
#define SK_KEY_SEQUENCES "sk:{sys}:seq"   /* hash source -> last sequence seen on PUB */
#define SK_KEY_GAPS "sk:{sys}:gaps"       /* hash source -> missing sequence numbers */
#define SK_KEY_INGEST_STATS "sk:{sys}:ingest" /* hash: rejected, dlq_bytes (and counters of before issue 6) */
#define SK_KEY_CLOCK "sk:{sys}:clock" /* string: simulated time, ms since the epoch (SKONTO_CLOCK=redis) */
/* string: the invoice layout every invoice has been migrated to ("2": packed,
 * issue 7); absent until a discount worker has finished a migration pass. */
#define SK_KEY_LAYOUT "sk:{sys}:layout"
/* string "1" once the discount worker has queued the reminders and statements
 * of everything stored before the due queue existed (issue 8). */
#define SK_KEY_REMIND_BACKFILL "sk:{sys}:rbackfill"
/* string SK_POLICY_REBUILT_VERSION once the discount worker has rebuilt the
 * policy counters (sk:{sN}:pol, sk:{sN}:pcust, sk:{sN}:psp) from the stored
 * invoices (issue 10); any other value (absent, or "1": a rebuild from before
 * sk:{sN}:psp existed) makes the next discount worker to start rebuild them,
 * and an operator deletes it to ask for that. The version goes up whenever
 * sk_invoice_policy counts a field it did not count before. */
#define SK_KEY_POLICY_REBUILT "sk:{sys}:pbackfill"
#define SK_POLICY_REBUILT_VERSION "2"
/* The audit log and overrides (issue 9; docs/AUDIT.md, "The worker"): one
 * slot, "{audit}", written only by the audit worker's user, so that one Lua
 * call records a decision, its log entry and its hand-off together. */
#define SK_KEY_AUDIT_LOG "sk:{audit}:log"         /* stream: seq (decimal), h (64 hex), e (AuditEvent bytes) */
#define SK_KEY_AUDIT_CHECKPOINTS "sk:{audit}:cp"  /* stream: size (decimal), n (the signed note) */
#define SK_KEY_AUDIT_OVERRIDES "sk:{audit}:ovr"   /* hash override id -> OverrideRecord bytes */
#define SK_KEY_AUDIT_REQUEST_IDS "sk:{audit}:ovrid" /* hash "<user>\t<request_id>" -> override id */
#define SK_KEY_AUDIT_PENDING "sk:{audit}:ovopen"  /* zset override id -> expires_at ms (pending ones) */
#define SK_KEY_AUDIT_NEXT_ID "sk:{audit}:ovnext"  /* string: INCR gives the next override number */
#define SK_KEY_AUDIT_HANDOFF_POS "sk:{audit}:qpos" /* hash shard -> id of the last auditq entry logged */
/* Approved overrides for the discount worker of customer shard N:
 * sk:{audit}:ovq:N stream, field o = OverrideOrder bytes (in the audit slot,
 * so the decision writes it atomically; group SK_GROUP_DISCOUNT). */
char *sk_key_override_queue(char *buf, int shard);
/* What the discount worker hands to the log, in the customer's shard:
 * sk:{sN}:auditq stream, field a = AuditHandoff bytes. */
char *sk_key_audit_handoff(char *buf, int shard);
/* The overrides the discount worker refused to apply (stale, or a rule's
 * refusal), in the customer's shard: hash override id -> refusal code,
 * written with the refusal's hand-off so that an order redelivered after a
 * crash is not handed off twice (an applied one is known by its invoice). */
char *sk_key_override_refused(char *buf, int shard); /* sk:{sN}:ovref hash */
#define SK_GROUP_DISCOUNT "discount"      /* consumer group on every events stream */

#endif
