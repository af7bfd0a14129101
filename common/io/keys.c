#include "keys.h"

#include "sk_hash.h"
#include "sk_fmt.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int sk_shard_of(const char *id)
{
    return (int)(sk_fnv1a32(id) % SK_SHARDS);
}

/* "sk:{s<shard>}:<part>", then ":<id>" when id is given: the keys the
 * workers name several times per event, so written without printf. */
static char *s_key(char *buf, int shard, const char *part, const char *id)
{
    sk_text_t t = sk_text(buf, SK_KEY_MAX);
    sk_text_str(&t, "sk:{s");
    sk_text_int(&t, shard);
    sk_text_str(&t, "}:");
    sk_text_str(&t, part);
    if (id) {
        sk_text_char(&t, ':');
        sk_text_str(&t, id);
    }
    return buf;
}

#define SK_SHARD_KEY(fn, suffix)                                                                   \
    char *fn(char *buf, int shard)                                                                 \
    {                                                                                              \
        return s_key(buf, shard, suffix, NULL);                                                    \
    }
#define SK_ID_KEY(fn, part)                                                                        \
    char *fn(char *buf, int shard, const char *id)                                                 \
    {                                                                                              \
        return s_key(buf, shard, part, id);                                                        \
    }

SK_SHARD_KEY(sk_key_events, "events")
SK_SHARD_KEY(sk_key_seen, "seen")
SK_SHARD_KEY(sk_key_stored, "stored")
SK_SHARD_KEY(sk_key_settled, "settled")
SK_SHARD_KEY(sk_key_order_versions, "over")
SK_SHARD_KEY(sk_key_ingest_stats, "ingest")
SK_SHARD_KEY(sk_key_forecast_history, "fc:hist")
SK_SHARD_KEY(sk_key_forecast_net, "fc:net")
SK_SHARD_KEY(sk_key_takeup, "takeup")
SK_SHARD_KEY(sk_key_policy, "pol")
SK_SHARD_KEY(sk_key_policy_customers, "pcust")
SK_SHARD_KEY(sk_key_policy_salespeople, "psp")
SK_SHARD_KEY(sk_key_unapplied, "unapplied")
SK_SHARD_KEY(sk_key_remind_due, "rdue")
SK_SHARD_KEY(sk_key_remind_proc, "rproc")
SK_SHARD_KEY(sk_key_remind_sent, "rsent")
SK_SHARD_KEY(sk_key_remind_tries, "rtry")
SK_SHARD_KEY(sk_key_statements, "stmt")
SK_SHARD_KEY(sk_key_undeliverable, "undeliv")
SK_SHARD_KEY(sk_key_audit_handoff, "auditq")
SK_SHARD_KEY(sk_key_override_refused, "ovref")

char *sk_key_override_queue(char *buf, int shard)
{
    snprintf(buf, SK_KEY_MAX, "sk:{audit}:ovq:%d", shard);
    return buf;
}
SK_ID_KEY(sk_key_remind_log, "rlog")
SK_ID_KEY(sk_key_customer, "cust")
SK_ID_KEY(sk_key_history, "hist")
SK_ID_KEY(sk_key_customer_open, "copen")
SK_ID_KEY(sk_key_invoice, "inv")

int sk_order_index_format(char *buf, size_t n, const char *customer_id, const char *currency)
{
    int w = snprintf(buf, n, "%s\t%s", customer_id, currency);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int sk_order_index_parse(const char *v, size_t len, char *cust, size_t ncust, char cur[4])
{
    const char *tab = memchr(v, '\t', len);
    size_t clen = tab ? (size_t)(tab - v) : 0;
    if (!tab || clen == 0 || clen >= ncust || len - clen - 1 != 3)
        return -1;
    memcpy(cust, v, clen);
    cust[clen] = '\0';
    memcpy(cur, tab + 1, 3);
    cur[3] = '\0';
    return 0;
}

char *sk_key_order_index(char *buf, const char *order_id)
{
    snprintf(buf, SK_KEY_MAX, "sk:{o%d}:o2c", sk_shard_of(order_id));
    return buf;
}

char *sk_key_event_claim(char *buf, const char *event_id)
{
    snprintf(buf, SK_KEY_MAX, "sk:{s%d}:eid:%s", sk_shard_of(event_id), event_id);
    return buf;
}
