/* unknown — how often the audit log hears of an unknown CURVE key
 * (docs/AUDIT.md section 8, "Unknown keys").
 *
 * The ZAP handler refuses a key the registry does not know before a single
 * message arrives, and reports each refusal (sk_zap_report). Each could be
 * an entry of the log, but then anyone able to open a TCP connection could
 * fill it. So an attempt gets an entry only when its key had none for
 * `every` ms and fewer than AUDIT_UNKNOWN_PER_HOUR entries were written in
 * the last hour; every other attempt is counted, and the next entry of the
 * same key says how many ("and N more attempts since entry S"), the next
 * entry of any key how many attempts of keys that got no entry. Nothing
 * here does I/O; times are a monotonic clock's milliseconds.
 *
 * Bounded: at most AUDIT_UNKNOWN_KEYS_MAX keys are remembered; when full,
 * the key logged longest ago is forgotten (its count moves to the keys
 * without an entry), which lets it be logged again sooner, within the
 * hourly limit all the same. The counts live in memory: a restart forgets
 * them (at most one more entry per key and restart). */
#ifndef AUDIT_UNKNOWN_H
#define AUDIT_UNKNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_UNKNOWN_KEYS_MAX 1024
#define AUDIT_UNKNOWN_PER_HOUR 60
#define AUDIT_UNKNOWN_EVERY_DEFAULT_MS ((int64_t)3600 * 1000)

typedef struct _audit_unknown_t audit_unknown_t;

/* What an entry stands for: this attempt, key_more more of its key since
 * its previous entry (key_prev: at key_prev_seq), and other_more attempts
 * of keys that got no entry since the previous unknown-key entry
 * (other_prev: at other_prev_seq; else since start). */
typedef struct {
    uint64_t key_more, other_more;
    bool key_prev, other_prev;
    uint64_t key_prev_seq, other_prev_seq;
} audit_unknown_verdict_t;

audit_unknown_t *audit_unknown_new(int64_t every_ms);
void audit_unknown_destroy(audit_unknown_t **self_p);

/* One attempt of key at now_ms: true when it gets an entry (*v says what
 * the entry stands for; then call audit_unknown_logged), false when it is
 * only counted. */
bool audit_unknown_attempt(audit_unknown_t *self, const uint8_t key[32], int64_t now_ms,
                           audit_unknown_verdict_t *v);
/* The entry audit_unknown_attempt allowed was appended at seq (ok), or not
 * (the attempt is counted instead). */
void audit_unknown_logged(audit_unknown_t *self, const uint8_t key[32], int64_t now_ms, bool ok,
                          uint64_t seq);
/* n attempts the ZAP handler could not report (its queue was full). */
void audit_unknown_dropped(audit_unknown_t *self, uint64_t n);
/* Attempts counted and not given an entry of their own, since start. */
uint64_t audit_unknown_unlogged(const audit_unknown_t *self);

/* The entry's message: the key (Z85), the address, how many attempts it
 * stands for. */
void audit_unknown_message(char *buf, size_t n, const char *key_z85, const char *addr,
                           const audit_unknown_verdict_t *v);

#endif
