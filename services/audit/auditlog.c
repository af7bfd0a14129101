/* auditlog — see auditlog.h. */
#include "auditlog.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "keys.h"
#include "sk_clock.h"
#include "sk_merkle.h"
#include "sk_redis.h"

extern const char AUDIT_APPEND_LUA[];

#define S_PAGE 1000 /* entries per XRANGE while loading */

struct _audit_log_t {
    const sk_checkpoint_signer_t *signer;
    void *pub;
    sk_merkle_t *tree;
    char sha[41];
    char note[SK_CHECKPOINT_MAX];
    uint64_t sealed;   /* the size the newest checkpoint signs */
    int64_t sealed_ms; /* when it was made (wall time) */
    audit_log_counts_t counts;
};

void audit_ops_add(audit_ops_t *ops, const char *op, const char *key, const void *a, size_t alen,
                   const void *b, size_t blen)
{
    if (ops->n == AUDIT_OPS_MAX)
        abort(); /* a programmer's mistake: every entry has a few writes */
    audit_op_t *o = &ops->op[ops->n++];
    o->op = op, o->key = key, o->a = a, o->b = b;
    o->alen = alen == SIZE_MAX ? strlen(a) : alen;
    o->blen = blen == SIZE_MAX ? strlen(b) : blen;
}

audit_log_t *audit_log_new(const sk_checkpoint_signer_t *signer, void *pub)
{
    audit_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->signer = signer, self->pub = pub;
    if (!(self->tree = sk_merkle_new()))
        audit_log_destroy(&self);
    return self;
}

void audit_log_destroy(audit_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sk_merkle_destroy(&(*self_p)->tree);
    free(*self_p);
    *self_p = NULL;
}

uint64_t audit_log_size(const audit_log_t *self)
{
    return sk_merkle_size(self->tree);
}

uint64_t audit_log_unsealed(const audit_log_t *self)
{
    return sk_merkle_size(self->tree) - self->sealed;
}

int64_t audit_log_last_checkpoint_ms(const audit_log_t *self)
{
    return self->sealed_ms;
}

const char *audit_log_checkpoint_note(const audit_log_t *self)
{
    return self->note;
}

const audit_log_counts_t *audit_log_counts(const audit_log_t *self)
{
    return &self->counts;
}

/* ---------------------------------------------------------------- the feed */

/* Two frames: topic, AuditFeed. PUB never blocks: a slow subscriber loses
 * messages at its high-water mark and catches up with a snapshot. */
static void s_publish(audit_log_t *self, const char *topic, const Skonto__V1__AuditFeed *f)
{
    if (!self->pub)
        return;
    size_t n = skonto__v1__audit_feed__get_packed_size(f);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return;
    skonto__v1__audit_feed__pack(f, buf);
    if (zmq_send(self->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(self->pub, buf, n, ZMQ_DONTWAIT) >= 0)
        self->counts.feed++;
    free(buf);
}

static void s_publish_entry(audit_log_t *self, uint64_t seq, const uint8_t *e, size_t len,
                            const sk_hash_t lh)
{
    Skonto__V1__AuditFeed f = SKONTO__V1__AUDIT_FEED__INIT;
    f.seq = seq;
    f.entry.data = (uint8_t *)e, f.entry.len = len;
    f.leaf_hash.data = (uint8_t *)lh, f.leaf_hash.len = SK_MERKLE_HASH_LEN;
    s_publish(self, "entry", &f);
}

/* ---------------------------------------------------------------- loading */

/* Checks one stored entry (stream id, fields) as position i and appends it. */
static int s_load_entry(audit_log_t *self, const redisReply *ent, uint64_t i, sk_err_t *err)
{
    char want_id[32];
    snprintf(want_id, sizeof want_id, "0-%" PRIu64, i + 1);
    if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
        ent->element[0]->type != REDIS_REPLY_STRING)
        return sk_err_set(err, "log_corrupt", "entry %" PRIu64 ": not a stream entry", i);
    const redisReply *seq = sk_redis_stream_field(ent->element[1], "seq"), *h = sk_redis_stream_field(ent->element[1], "h"),
                     *e = sk_redis_stream_field(ent->element[1], "e");
    if (!seq || !h || !e)
        return sk_err_set(err, "log_corrupt", "entry %" PRIu64 " (%s) lacks seq, h or e", i,
                          ent->element[0]->str);
    char seqs[24];
    snprintf(seqs, sizeof seqs, "%" PRIu64, i);
    if (strlen(seqs) != seq->len || memcmp(seqs, seq->str, seq->len))
        return sk_err_set(err, "log_corrupt",
                          "entry %" PRIu64 " carries sequence \"%.24s\": an entry was deleted, "
                          "reordered or repeated",
                          i, seq->str);
    if (strcmp(ent->element[0]->str, want_id))
        return sk_err_set(err, "log_corrupt", "entry %" PRIu64 " has stream id %.40s, not %s", i,
                          ent->element[0]->str, want_id);
    sk_hash_t lh;
    char hex[2 * SK_MERKLE_HASH_LEN + 1];
    sk_merkle_leaf_hash(e->str, e->len, lh);
    sodium_bin2hex(hex, sizeof hex, lh, sizeof lh);
    if (h->len != 2 * SK_MERKLE_HASH_LEN || memcmp(hex, h->str, h->len))
        return sk_err_set(err, "log_corrupt",
                          "entry %" PRIu64 ": its bytes do not give its stored leaf hash", i);
    return sk_merkle_append_hash(self->tree, lh, err);
}

/* Parses "<origin>\n<size>\n<root>\ntime-ms <t>\n..." far enough for a
 * re-signing: size and time. 0 or -1. */
static int s_note_values(const char *note, uint64_t *size, int64_t *time_ms)
{
    const char *l2 = strchr(note, '\n');
    const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    const char *l4 = l3 ? strchr(l3 + 1, '\n') : NULL;
    if (!l4 || strncmp(l4 + 1, "time-ms ", 8))
        return -1;
    char *end;
    unsigned long long s = strtoull(l2 + 1, &end, 10);
    if (end != l3)
        return -1;
    long long t = strtoll(l4 + 9, &end, 10);
    if (*end != '\n')
        return -1;
    *size = s, *time_ms = t;
    return 0;
}

/* The newest stored checkpoint into note (NUL-terminated), "" if none. */
static int s_newest_checkpoint(redisContext *c, char *note, size_t cap, uint64_t *size,
                               sk_err_t *err)
{
    redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT 1", SK_KEY_AUDIT_CHECKPOINTS);
    if (!r)
        return sk_err_set(err, "redis", "XREVRANGE %s: %s", SK_KEY_AUDIT_CHECKPOINTS, c->errstr);
    int rc = 0;
    *note = '\0';
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = sk_err_set(err, "redis", "XREVRANGE %s: %s", SK_KEY_AUDIT_CHECKPOINTS,
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else if (r->elements == 1) {
        const redisReply *ent = r->element[0];
        const redisReply *n = ent->type == REDIS_REPLY_ARRAY && ent->elements == 2
                                  ? sk_redis_stream_field(ent->element[1], "n")
                                  : NULL;
        int64_t t;
        if (!n || n->len >= cap || memchr(n->str, '\0', n->len)) {
            rc = sk_err_set(err, "log_corrupt", "the newest checkpoint is malformed");
        } else {
            memcpy(note, n->str, n->len);
            note[n->len] = '\0';
            if (s_note_values(note, size, &t))
                rc = sk_err_set(err, "log_corrupt", "the newest checkpoint is malformed");
        }
    }
    freeReplyObject(r);
    return rc;
}

/* True when note is what our key signs for (size, root, its time). */
static bool s_note_is_ours(const audit_log_t *self, const char *note, uint64_t size,
                           const sk_hash_t root)
{
    uint64_t s;
    int64_t t;
    char again[SK_CHECKPOINT_MAX];
    size_t len;
    sk_err_t err;
    return !s_note_values(note, &s, &t) && s == size &&
           !sk_checkpoint_sign(self->signer, size, root, t, again, sizeof again, &len, &err) &&
           len == strlen(note) && !memcmp(again, note, len);
}

int audit_log_load(audit_log_t *self, redisContext *c, sk_err_t *err)
{
    if (sk_redis_load_script(c, AUDIT_APPEND_LUA, self->sha, err))
        return -1;
    char note[SK_CHECKPOINT_MAX] = "";
    uint64_t cp_size = 0;
    if (s_newest_checkpoint(c, note, sizeof note, &cp_size, err))
        return -1;
    sk_merkle_t *fresh = sk_merkle_new();
    if (!fresh)
        return sk_err_set(err, "redis", "out of memory");
    sk_merkle_destroy(&self->tree);
    self->tree = fresh;
    sk_hash_t cp_root;
    bool cp_seen = false;
    if (*note && cp_size == 0) {
        sk_merkle_empty_root(cp_root);
        cp_seen = true;
    }
    char start[32] = "-";
    uint64_t i = 0;
    for (;;) {
        redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT %d", SK_KEY_AUDIT_LOG, start, S_PAGE);
        if (!r)
            return sk_err_set(err, "redis", "XRANGE %s: %s", SK_KEY_AUDIT_LOG, c->errstr);
        if (r->type != REDIS_REPLY_ARRAY) {
            sk_err_set(err, "redis", "XRANGE %s: %s", SK_KEY_AUDIT_LOG,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        size_t got = r->elements;
        for (size_t k = 0; k < got; k++, i++) {
            if (s_load_entry(self, r->element[k], i, err)) {
                freeReplyObject(r);
                return -1;
            }
            if (*note && i + 1 == cp_size) {
                sk_merkle_root(self->tree, cp_root);
                cp_seen = true;
            }
        }
        freeReplyObject(r);
        if (got < S_PAGE)
            break;
        snprintf(start, sizeof start, "(0-%" PRIu64, i);
    }
    if (!*note) {
        if (i > 0)
            return sk_err_set(err, "log_corrupt",
                              "the log holds %" PRIu64 " entries and %s no checkpoint: the "
                              "checkpoints were removed",
                              i, SK_KEY_AUDIT_CHECKPOINTS);
        /* a new log: seal the empty tree first (docs/AUDIT.md section 3) */
        return audit_log_checkpoint(self, c, err);
    }
    if (!cp_seen)
        return sk_err_set(err, "log_corrupt",
                          "the newest checkpoint signs %" PRIu64 " entries, the log holds %" PRIu64
                          ": it was truncated",
                          cp_size, i);
    if (!s_note_is_ours(self, note, cp_size, cp_root))
        return sk_err_set(err, "log_corrupt",
                          "the newest checkpoint (size %" PRIu64 ") is not what this key signs for "
                          "the log's first %" PRIu64 " entries: entries or the checkpoint were "
                          "changed",
                          cp_size, cp_size);
    memcpy(self->note, note, strlen(note) + 1);
    self->sealed = cp_size;
    self->sealed_ms = sk_now_ms();
    return 0;
}

/* ---------------------------------------------------------------- appending */

int audit_log_append(audit_log_t *self, redisContext *c, Skonto__V1__AuditEvent *ev,
                     const audit_ops_t *ops, uint64_t *seq, sk_err_t *err)
{
    uint64_t pos = sk_merkle_size(self->tree);
    ev->seq = pos;
    size_t len = skonto__v1__audit_event__get_packed_size(ev);
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return sk_err_set(err, "redis", "out of memory");
    skonto__v1__audit_event__pack(ev, bytes);
    sk_hash_t lh;
    char hex[2 * SK_MERKLE_HASH_LEN + 1], posbuf[24];
    sk_merkle_leaf_hash(bytes, len, lh);
    sodium_bin2hex(hex, sizeof hex, lh, sizeof lh);
    snprintf(posbuf, sizeof posbuf, "%" PRIu64, pos);

    /* EVALSHA sha numkeys log keys... pos seq hex bytes ops... */
    enum { S_ARGS = 4 + 2 * AUDIT_OPS_MAX + 4 + 4 * AUDIT_OPS_MAX };
    const char *argv[S_ARGS];
    size_t argl[S_ARGS];
    char nk[16], idx[AUDIT_OPS_MAX][16];
    int n = 0;
#define S_ARG(p, l) (argv[n] = (const char *)(p), argl[n++] = (l))
    S_ARG("EVALSHA", 7);
    S_ARG(self->sha, 40);
    snprintf(nk, sizeof nk, "%d", 1 + ops->n);
    S_ARG(nk, strlen(nk));
    S_ARG(SK_KEY_AUDIT_LOG, strlen(SK_KEY_AUDIT_LOG));
    for (int k = 0; k < ops->n; k++)
        S_ARG(ops->op[k].key, strlen(ops->op[k].key));
    S_ARG(posbuf, strlen(posbuf));
    S_ARG(posbuf, strlen(posbuf));
    S_ARG(hex, 2 * SK_MERKLE_HASH_LEN);
    S_ARG(bytes, len);
    for (int k = 0; k < ops->n; k++) {
        snprintf(idx[k], sizeof idx[k], "%d", k + 2);
        S_ARG(ops->op[k].op, strlen(ops->op[k].op));
        S_ARG(idx[k], strlen(idx[k]));
        S_ARG(ops->op[k].a, ops->op[k].alen);
        S_ARG(ops->op[k].b, ops->op[k].blen);
    }
#undef S_ARG
    redisReply *r = redisCommandArgv(c, n, argv, argl);
    int rc = 0;
    if (!r)
        rc = sk_err_set(err, "redis", "append: %s", c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        rc = sk_err_set(err, strncmp(r->str, "POSITION", 8) ? "redis" : "position", "append: %s",
                        r->str);
    else if (r->type != REDIS_REPLY_STRING)
        rc = sk_err_set(err, "redis", "append: unexpected reply");
    if (r)
        freeReplyObject(r);
    if (rc == 0 && sk_merkle_append_hash(self->tree, lh, err))
        rc = -1;
    if (rc == 0) {
        self->counts.entries++;
        *seq = pos;
        s_publish_entry(self, pos, bytes, len, lh);
    }
    free(bytes);
    return rc;
}

/* ---------------------------------------------------------------- checkpoints */

int audit_log_checkpoint(audit_log_t *self, redisContext *c, sk_err_t *err)
{
    uint64_t size = sk_merkle_size(self->tree);
    sk_hash_t root;
    sk_merkle_root(self->tree, root);
    char note[SK_CHECKPOINT_MAX], sizes[24], cap[24];
    size_t len;
    int64_t now = sk_now_ms();
    if (sk_checkpoint_sign(self->signer, size, root, now, note, sizeof note, &len, err))
        return -1;
    snprintf(sizes, sizeof sizes, "%" PRIu64, size);
    snprintf(cap, sizeof cap, "%d", AUDIT_CHECKPOINTS_KEPT);
    const char *argv[] = {
        "XADD", SK_KEY_AUDIT_CHECKPOINTS, "MAXLEN", "~", cap, "*", "size", sizes, "n", note};
    size_t argl[10];
    for (int k = 0; k < 10; k++)
        argl[k] = k == 9 ? len : strlen(argv[k]);
    redisReply *r = redisCommandArgv(c, 10, argv, argl);
    int rc = 0;
    if (!r)
        rc = sk_err_set(err, "redis", "XADD %s: %s", SK_KEY_AUDIT_CHECKPOINTS, c->errstr);
    else if (r->type != REDIS_REPLY_STRING)
        rc = sk_err_set(err, "redis", "XADD %s: %s", SK_KEY_AUDIT_CHECKPOINTS,
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r)
        freeReplyObject(r);
    if (rc)
        return -1;
    memcpy(self->note, note, len + 1);
    self->sealed = size;
    self->sealed_ms = now;
    self->counts.checkpoints++;
    Skonto__V1__AuditFeed f = SKONTO__V1__AUDIT_FEED__INIT;
    f.seq = size;
    f.checkpoint = self->note;
    s_publish(self, "checkpoint", &f);
    return 0;
}

/* ---------------------------------------------------------------- snapshots */

int audit_log_snapshot(audit_log_t *self, redisContext *c, uint64_t from, unsigned max,
                       Skonto__V1__AuditReply *reply, sk_err_t *err)
{
    (void)self;
    if (max == 0 || max > AUDIT_SNAPSHOT_MAX)
        max = AUDIT_SNAPSHOT_MAX;
    char start[32];
    snprintf(start, sizeof start, "0-%" PRIu64, from + 1);
    redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT %u", SK_KEY_AUDIT_LOG, start, max);
    if (!r)
        return sk_err_set(err, "redis", "XRANGE %s: %s", SK_KEY_AUDIT_LOG, c->errstr);
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = sk_err_set(err, "redis", "XRANGE %s: %s", SK_KEY_AUDIT_LOG,
                        r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    reply->entries = calloc(r->elements ? r->elements : 1, sizeof *reply->entries);
    if (!reply->entries) {
        rc = sk_err_set(err, "redis", "out of memory");
        goto out;
    }
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *ent = r->element[k];
        const redisReply *seq = NULL, *h = NULL, *e = NULL;
        if (ent->type == REDIS_REPLY_ARRAY && ent->elements == 2)
            seq = sk_redis_stream_field(ent->element[1], "seq"), h = sk_redis_stream_field(ent->element[1], "h"),
            e = sk_redis_stream_field(ent->element[1], "e");
        Skonto__V1__FeedEntry *fe = malloc(sizeof *fe);
        uint8_t *data = e ? malloc(e->len ? e->len : 1) : NULL;
        uint8_t *lh = malloc(SK_MERKLE_HASH_LEN);
        if (!fe || !data || !lh || !seq || !h || h->len != 2 * SK_MERKLE_HASH_LEN ||
            sodium_hex2bin(lh, SK_MERKLE_HASH_LEN, h->str, h->len, NULL, NULL, NULL)) {
            free(fe), free(data), free(lh);
            rc = sk_err_set(err, "redis", "the log's entry %" PRIu64 " cannot be read",
                            from + (uint64_t)k);
            goto out;
        }
        skonto__v1__feed_entry__init(fe);
        fe->seq = strtoull(seq->str, NULL, 10);
        memcpy(data, e->str, e->len);
        fe->entry.data = data, fe->entry.len = e->len;
        fe->leaf_hash.data = lh, fe->leaf_hash.len = SK_MERKLE_HASH_LEN;
        reply->entries[reply->n_entries++] = fe;
    }
out:
    freeReplyObject(r);
    return rc;
}

void audit_log_snapshot_free(Skonto__V1__AuditReply *reply)
{
    for (size_t k = 0; k < reply->n_entries; k++) {
        free(reply->entries[k]->entry.data);
        free(reply->entries[k]->leaf_hash.data);
        free(reply->entries[k]);
    }
    free(reply->entries);
    reply->entries = NULL;
    reply->n_entries = 0;
}
