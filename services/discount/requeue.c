/* requeue — see requeue.h. */
#include "requeue.h"

#include "keys.h"

#define S_RECORDS_PER_CALL 100 /* invoices or customers per script call */
#define S_SHARD_KEYS 2         /* KEYS before the invoices': rdue, stmt */

void discount_requeue_reset(discount_requeue_t *x, int shard)
{
    x->shard = shard;
    x->nrec = 0;
    discount_argv_reset(&x->keys);
    discount_argv_reset(&x->args);
}

void discount_requeue_invoice(discount_requeue_t *x, const char *inv_key, int64_t rev,
                              const discount_remind_ops_t *ops, bool replace)
{
    discount_argv_addz(&x->keys, inv_key);
    discount_argv_addz(&x->args, "i");
    discount_argv_add_i64(&x->args, S_SHARD_KEYS + x->keys.argc);
    discount_argv_add_i64(&x->args, rev);
    discount_argv_add_i64(&x->args, (int64_t)(ops->ndrop + (replace ? ops->nadd : 0)));
    for (size_t j = 0; j < ops->ndrop; j++)
        discount_argv_addz(&x->args, ops->drop[j]);
    for (size_t j = 0; replace && j < ops->nadd; j++)
        discount_argv_addz(&x->args, ops->add[j].key);
    discount_argv_add_i64(&x->args, (int64_t)ops->nadd);
    for (size_t j = 0; j < ops->nadd; j++) {
        discount_argv_add_i64(&x->args, ops->add[j].due_ms);
        discount_argv_addz(&x->args, ops->add[j].key);
    }
    x->nrec++;
}

void discount_requeue_statement(discount_requeue_t *x, const char *cid, const char *key,
                                int64_t due_ms)
{
    discount_argv_addz(&x->args, "s");
    discount_argv_addz(&x->args, cid);
    discount_argv_addz(&x->args, key);
    discount_argv_add_i64(&x->args, due_ms);
    x->nrec++;
}

bool discount_requeue_full(const discount_requeue_t *x)
{
    return x->nrec >= S_RECORDS_PER_CALL ||
           x->args.used + 2 * DISCOUNT_REMIND_MAX * (SK_REMIND_KEY_MAX + 48) >
               DISCOUNT_ARGV_BYTES / 2 ||
           x->args.argc + 3 * DISCOUNT_REMIND_MAX + 8 > DISCOUNT_ARGV_MAX / 2;
}

int discount_requeue_flush(discount_requeue_t *x, sk_err_t *err)
{
    char key[SK_KEY_MAX];
    if (x->nrec == 0)
        return 0;
    discount_argv_t *c = &x->cmd;
    discount_argv_reset(c);
    discount_argv_addz(c, "EVALSHA");
    discount_argv_addz(c, x->sha);
    discount_argv_add_i64(c, S_SHARD_KEYS + x->keys.argc);
    discount_argv_addz(c, sk_key_remind_due(key, x->shard));
    discount_argv_addz(c, sk_key_statements(key, x->shard));
    discount_argv_append(c, &x->keys);
    discount_argv_addz(c, sk_key_remind_sent(key, x->shard)); /* ARGV 1, 2: only read */
    discount_argv_addz(c, sk_key_remind_proc(key, x->shard));
    discount_argv_append(c, &x->args);
    size_t len;
    const char *cmd = discount_argv_resp(c, &len);
    if (c->overflow)
        return sk_err_set(err, "redis", "requeue: a call is too large");
    if (redisAppendFormattedCommand(x->c, cmd, len) != REDIS_OK)
        return sk_err_set(err, "redis", "requeue: %s", x->c->errstr);
    void *rv = NULL;
    if (redisGetReply(x->c, &rv) != REDIS_OK || !rv)
        return sk_err_set(err, "redis", "requeue: %s", x->c->errstr);
    redisReply *r = rv;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        x->reminders += (long)r->element[0]->integer;
        x->statements += (long)r->element[1]->integer;
    } else {
        rc = sk_err_set(err, "redis", "requeue: %s",
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    discount_requeue_reset(x, x->shard);
    return rc;
}
