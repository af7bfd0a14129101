/* claim — event-id claims (see claim.h and claim.lua). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "keys.h"
#include "sk_fmt.h"
#include "sk_log.h"

/* A claim to finish in the next pipeline: mark it accepted ('a') or release
 * it ('r') if it still holds `expect`; or drop a stored record or an old
 * per-event marker ('u': HDEL field `expect` of shard `shard`'s stored
 * hash). An implicit 'a' is accepted by the watermark the same call raises:
 * nothing of it is sent. After a flush in which every claim call answered,
 * the stored record (shard, expect) of an 'a' with record_ok goes: every
 * event in that record is accepted in the same flush. */
typedef struct {
    char action;
    bool implicit;
    bool record_ok;
    int shard;     /* the customer's shard: of the stored record or marker */
    int eid_shard; /* 'a', 'r': the shard of the claim */
    char expect[INGEST_PENDING_MAX];
    char eid[SK_EVENT_ID_MAX + 1];
} ingest_finish_t;
#define INGEST_MAX_FINISH (2 * INGEST_BATCH)

struct _ingest_claims_t {
    const char *name;                /* SKONTO_WORKER_NAME */
    char owner[INGEST_OWNER_ID_MAX]; /* "<name>/<pid>/<start ms>": whose pending claims */
    int64_t owner_ms;                /* its <start ms> */
    int64_t retention_ms;            /* how long an event id is remembered */
    /* The watermark (claim.lua): per event-id shard, the ms up to which this
     * owner's claims are settled, to raise in the next call (0: nothing to
     * raise). A segment raises it only when every claim it took is settled
     * or queued to be; otherwise (a Redis error, an unsure outcome, a full
     * queue) the owner changes, so no later watermark covers that segment. */
    int64_t wm[SK_SHARDS];
    bool seg_open;   /* claims taken and their segment not finished yet */
    bool dirty;      /* a claim of the open segment may be in an unknown state */
    bool all_ok;     /* every claim call of the last read answered */
    bool in_flight;  /* claim calls appended whose replies were not all read */
    int64_t last_ms; /* the last segment's claim ms: they only go up */
    ingest_finish_t finbuf[2][INGEST_MAX_FINISH];
    ingest_finish_t *finish, *flushing; /* queued for the next pipeline / in it */
    int nfinish, nflushing;
    ingest_finish_t resolve[INGEST_BATCH]; /* dead ingests' claims met, to settle */
    int nresolve;
    uint8_t flush_cmd[SK_SHARDS]; /* bit 1: a claim script call, bit 2: an HDEL of markers */
    /* claim keys of the command being built: a shard's finishes and claims */
    char keys[INGEST_MAX_FINISH + INGEST_BATCH][SK_KEY_MAX];
    int64_t claim_ms;   /* wall time of the current segment's claims */
    int64_t claim_mono; /* ... and on the monotonic clock (lease check) */
};

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ingest_claims_t *ingest_claims_new(const char *name, int64_t retention_ms)
{
    ingest_claims_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->name = name;
    self->retention_ms = retention_ms;
    self->finish = self->finbuf[0];
    self->flushing = self->finbuf[1];
    /* Whose pending claims these are: a restarted ingest is another owner,
     * so its recovery settles what the dead one left. */
    self->owner_ms = sk_now_ms();
    snprintf(self->owner, sizeof self->owner, "%s/%d/%" PRId64, name, (int)getpid(),
             self->owner_ms);
    return self;
}

void ingest_claims_destroy(ingest_claims_t **self_p)
{
    free(*self_p);
    *self_p = NULL;
}

static void s_rotate(ingest_claims_t *self);

void ingest_claims_begin(ingest_claims_t *self)
{
    /* The last segment failed before its finish, or the replies of a flush
     * (releases, a watermark) were lost with the connection. */
    if (self->seg_open || self->in_flight)
        s_rotate(self);
    self->claim_mono = s_mono_ms();
    int64_t now = sk_now_ms();
    self->claim_ms = now > self->last_ms ? now : self->last_ms + 1;
    self->last_ms = self->claim_ms;
}

int64_t ingest_claims_age_ms(const ingest_claims_t *self)
{
    return s_mono_ms() - self->claim_mono;
}

/* ---------------------------------------------------------------- claim finishes */

/* Queues a finish for the next pipeline; when the queue is full the claim
 * stays pending and its event's resend settles it (ingest_claims_resolve):
 * false. */
static bool s_queue_finish(ingest_claims_t *self, char action, int shard, const char *expect,
                           const char *eid)
{
    if (self->nfinish == INGEST_MAX_FINISH) {
        sk_log("claim of event %s left pending for its resend to settle (finish queue full)", eid);
        return false;
    }
    ingest_finish_t *f = &self->finish[self->nfinish++];
    f->action = action;
    f->implicit = f->record_ok = false;
    f->eid_shard = action == 'u' ? -1 : sk_shard_of(eid);
    f->shard = shard;
    sk_text_t t = sk_text(f->expect, sizeof f->expect); /* per event: no printf */
    sk_text_str(&t, expect ? expect : "");
    t = sk_text(f->eid, sizeof f->eid);
    sk_text_str(&t, eid);
    return true;
}

/* Whether finish f is sent to the claim script (an implicit 'a' is not). */
static bool s_sent(const ingest_finish_t *f)
{
    return f->action == 'r' || (f->action == 'a' && !f->implicit);
}

/* A new owner: no watermark of the old one is raised any more, so a claim
 * of it left in an unknown state stays pending until it is settled on its
 * own (a resend, or a restart); its accepted claims queued to be covered by
 * the watermark are marked accepted one by one instead. */
static void s_rotate(ingest_claims_t *self)
{
    for (int k = 0; k < self->nfinish; k++)
        self->finish[k].implicit = false;
    memset(self->wm, 0, sizeof self->wm);
    int64_t now = sk_now_ms();
    self->owner_ms = now > self->owner_ms ? now : self->owner_ms + 1;
    snprintf(self->owner, sizeof self->owner, "%s/%d/%" PRId64, self->name, (int)getpid(),
             self->owner_ms);
    self->seg_open = self->dirty = self->in_flight = false;
    sk_log("claims: later batches are claimed as %s (the last one's outcome was not sure)",
           self->owner);
}

/* Someone else's pending claim met while claiming: a live ingest's in
 * flight, or a dead one's (older than the lease, or this worker's previous
 * run), which ingest_claims_resolve settles after the batch. */
static void s_claim_held(ingest_claims_t *self, const char *eid, const char *value);

void ingest_claims_pending(const ingest_claims_t *self, char *buf, size_t n)
{
    snprintf(buf, n, "p:%" PRId64 ":%s", self->claim_ms, self->owner);
}

/* The finish queue moves to self->flushing until the replies are read. */
int ingest_claims_append(ingest_claims_t *self, ingest_pipe_t *pipe, ingest_item_t *items, int a,
                         int b)
{
    ingest_finish_t *f = self->finish;
    self->finish = self->flushing;
    self->flushing = f;
    self->nflushing = self->nfinish;
    self->nfinish = 0;
    memset(self->flush_cmd, 0, sizeof self->flush_cmd);
    self->in_flight = true;
    char now_s[24], ttl_s[24], wm_s[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, self->claim_ms);
    snprintf(ttl_s, sizeof ttl_s, "%" PRId64, self->retention_ms);
    int ncmd = 0;
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        ingest_cmd_t c = ingest_pipe_cmd(pipe);
        char nk_s[16], nf_s[16], kstats[SK_KEY_MAX], ksettled[SK_KEY_MAX];
        int nf = 0, nk = 0;
        ingest_cmd_args(&c, "EVALSHA");
        ingest_cmd_args(&c, ingest_pipe_sha(pipe, INGEST_SCRIPT_CLAIM));
        ingest_cmd_args(&c, ""); /* numkeys, below */
        ingest_cmd_args(&c, sk_key_ingest_stats(kstats, sh));
        ingest_cmd_args(&c, sk_key_settled(ksettled, sh));
        for (int k = 0; k < self->nflushing; k++)
            if (s_sent(&f[k]) && f[k].eid_shard == sh)
                ingest_cmd_args(&c, sk_key_event_claim(self->keys[nf++], f[k].eid));
        for (int i = a; i < b; i++) {
            ingest_item_t *it = &items[i];
            if (it->state == INGEST_RECEIVED && it->eid_shard == sh) {
                ingest_item_to(it, INGEST_CLAIMING);
                ingest_cmd_args(&c, sk_key_event_claim(self->keys[nf + nk++], it->env->event_id));
            }
        }
        if (nk)
            self->seg_open = true;
        if (nf + nk || self->wm[sh]) {
            snprintf(nf_s, sizeof nf_s, "%d", nf);
            snprintf(wm_s, sizeof wm_s, "%" PRId64, self->wm[sh]);
            ingest_cmd_args(&c, now_s);
            ingest_cmd_args(&c, ttl_s);
            ingest_cmd_args(&c, self->owner);
            ingest_cmd_args(&c, nf_s);
            ingest_cmd_args(&c, self->wm[sh] ? wm_s : "");
            self->wm[sh] = 0;
            for (int k = 0; k < self->nflushing; k++) {
                if (!s_sent(&f[k]) || f[k].eid_shard != sh)
                    continue;
                ingest_cmd_arg(&c, f[k].action == 'a' ? "a" : "r", 1);
                ingest_cmd_args(&c, f[k].expect);
            }
            snprintf(nk_s, sizeof nk_s, "%d", 2 + nf + nk);
            c.argv[2] = nk_s, c.lens[2] = strlen(nk_s);
            if (ingest_pipe_append(pipe, &c))
                return -1;
            self->flush_cmd[sh] |= 1;
            ncmd++;
        }
        /* Stored records whose claims are accepted now: no longer needed. */
        c.argc = 0;
        char kstored[SK_KEY_MAX];
        ingest_cmd_args(&c, "HDEL");
        ingest_cmd_args(&c, sk_key_stored(kstored, sh));
        for (int k = 0; k < self->nflushing; k++)
            if (f[k].action == 'u' && f[k].shard == sh)
                ingest_cmd_args(&c, f[k].expect);
        if (c.argc > 2) {
            if (ingest_pipe_append(pipe, &c))
                return -1;
            self->flush_cmd[sh] |= 2;
            ncmd++;
        }
    }
    self->in_flight = ncmd > 0; /* until ingest_claims_read has every reply */
    return ncmd;
}

/* Whether the drop of a's stored record is queued already. */
static bool s_queued_drop(const ingest_claims_t *self, const ingest_finish_t *a)
{
    for (int k = 0; k < self->nfinish; k++) {
        const ingest_finish_t *u = &self->finish[k];
        if (u->action == 'u' && u->shard == a->shard && !strcmp(u->expect, a->expect))
            return true;
    }
    return false;
}

/* Reads the replies of ingest_claims_append: per item, its claim is ours, a
 * duplicate, or someone else's pending claim (no Ack now). The stored
 * records of the accepted claims are dropped after it (below). A failed call
 * leaves its finishes pending (a resend settles them) and its items without
 * an Ack. */

int ingest_claims_read(ingest_claims_t *self, ingest_pipe_t *pipe, ingest_item_t *items, int a,
                       int b)
{
    bool all_ok = true; /* every claim call answered */
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        if (self->flush_cmd[sh] & 1) {
            redisReply *r;
            if (ingest_pipe_get(pipe, &r))
                return -1;
            bool ok = r->type == REDIS_REPLY_ARRAY;
            ingest_pipe_note(pipe, r);
            if (!ok) {
                sk_log("redis: claim script of shard %d: %s", sh,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
                self->dirty = true; /* some of its claims may be taken */
            }
            size_t e = 0;
            for (int i = a; i < b; i++) {
                ingest_item_t *it = &items[i];
                if (it->state != INGEST_CLAIMING || it->eid_shard != sh)
                    continue;
                const redisReply *v = ok && e < r->elements ? r->element[e++] : NULL;
                if (v && v->type == REDIS_REPLY_INTEGER && v->integer == 1) {
                    ingest_item_to(it, INGEST_CLAIMED);
                } else if (v && v->type == REDIS_REPLY_INTEGER && v->integer == 0) {
                    ingest_item_to(it, INGEST_DUPLICATE);
                } else if (v && v->type == REDIS_REPLY_STRING) {
                    ingest_item_to(it, INGEST_BUSY);
                    s_claim_held(self, it->env->event_id, v->str);
                } else {
                    ingest_item_fail(it, pipe, "claim script", v ? v : r);
                    self->dirty = true;
                }
            }
            freeReplyObject(r);
            all_ok &= ok;
        }
        if ((self->flush_cmd[sh] & 2) && ingest_pipe_read_int(pipe, "HDEL of stored records"))
            return -1;
    }
    /* The stored records all of whose events are accepted now: dropped in
     * the next pipeline (never in this one: a record must not go before
     * every claim of it is accepted, and ingest_claims_resolve reads "no
     * record" as "not stored"). Not when a claim call failed: then its
     * claims may be pending still, and the records stay for a restart's
     * recovery to settle. */
    for (int k = 0; all_ok && k < self->nflushing; k++) {
        const ingest_finish_t *f = &self->flushing[k];
        if (f->action == 'a' && f->record_ok && f->shard >= 0 && !s_queued_drop(self, f))
            s_queue_finish(self, 'u', f->shard, f->expect, f->eid);
    }
    self->nflushing = 0;
    self->all_ok = all_ok;
    self->in_flight = false;
    return 0;
}

/* Settles the queued finishes now, in a pipeline of their own. */
int ingest_claims_flush(ingest_claims_t *self, ingest_pipe_t *pipe)
{
    if (ingest_pipe_ready(pipe))
        return -1;
    self->all_ok = true;
    int n = ingest_claims_append(self, pipe, NULL, 0, 0);
    return n < 0 || (n && ingest_claims_read(self, pipe, NULL, 0, 0)) ? -1 : 0;
}

/* ---------------------------------------------------------------- recovery */

/* One HSCAN page of hash `key`; *cursor is updated ("0" when done). The
 * reply (field, value, ...) is the caller's to free. */
static int s_hscan(ingest_pipe_t *pipe, const char *key, char cursor[32], redisReply **page)
{
    const char *argv[5] = {"HSCAN", key, cursor, "COUNT", "500"};
    redisReply *r;
    if (ingest_pipe_appendv(pipe, 5, argv) || ingest_pipe_get(pipe, &r))
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        sk_log("redis: HSCAN %s: %s", key,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    snprintf(cursor, 32, "%s", r->element[0]->str);
    *page = r->element[1];
    r->element[1] = NULL; /* keep the page, free the rest */
    freeReplyObject(r);
    return 0;
}

/* Event ids accepted before claims existed (sk:{sN}:seen, one hash per
 * customer shard) become accepted claims, then the hash goes. */
static int s_migrate_seen(ingest_claims_t *self, ingest_pipe_t *pipe)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%" PRId64, self->retention_ms);
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        char kseen[SK_KEY_MAX], cursor[32] = "0";
        sk_key_seen(kseen, sh);
        long moved = 0;
        do {
            redisReply *page;
            if (s_hscan(pipe, kseen, cursor, &page))
                return -1;
            int n = 0;
            for (size_t k = 0; k + 1 < page->elements; k += 2) {
                const redisReply *f = page->element[k];
                if (f->type != REDIS_REPLY_STRING || f->len > SK_EVENT_ID_MAX ||
                    memchr(f->str, 0, f->len))
                    continue;
                char key[SK_KEY_MAX];
                const char *argv[7] = {"SET", sk_key_event_claim(key, f->str), "a", "NX", "PX",
                                       ttl};
                if (ingest_pipe_appendv(pipe, 6, argv)) {
                    freeReplyObject(page);
                    return -1;
                }
                n++;
            }
            freeReplyObject(page);
            if (ingest_pipe_drain(pipe, n, "migrating seen event ids"))
                return -1;
            moved += n;
        } while (strcmp(cursor, "0") != 0);
        if (moved) {
            const char *argv[2] = {"DEL", kseen};
            if (ingest_pipe_appendv(pipe, 2, argv) || ingest_pipe_drain(pipe, 1, "DEL seen"))
                return -1;
            sk_log("migrated %ld accepted event ids of %s into event-id claims", moved, kseen);
        }
    }
    return 0;
}

/* Settles the claims of one field of a stored hash: a record's events (its
 * value "\n<id>\n<id>...\n") or an old per-event marker's (the field is the
 * id): a claim still pending is marked accepted, since its event was stored;
 * then, once that is done, the field goes. */
static int s_sweep_field(ingest_claims_t *self, ingest_pipe_t *pipe, int shard,
                         const redisReply *field, redisReply *value)
{
    const char *ids[INGEST_BATCH];
    int n = 0;
    if (value->type == REDIS_REPLY_STRING && value->len && value->str[0] == '\n') {
        for (char *p = value->str + 1, *q; n < INGEST_BATCH && (q = strchr(p, '\n')); p = q + 1) {
            *q = '\0';
            ids[n++] = p;
        }
    } else {
        ids[n++] = field->str;
    }
    for (int k = 0; k < n; k++) {
        char key[SK_KEY_MAX];
        const char *argv[2] = {"GET", sk_key_event_claim(key, ids[k])};
        if (ingest_pipe_appendv(pipe, 2, argv))
            return -1;
    }
    bool queued = true;
    for (int k = 0; k < n; k++) {
        redisReply *r;
        if (ingest_pipe_get(pipe, &r))
            return -1;
        if (r->type == REDIS_REPLY_STRING && !strncmp(r->str, "p:", 2))
            queued &= s_queue_finish(self, 'a', shard, r->str, ids[k]); /* stored: say so */
        freeReplyObject(r);
    }
    if (ingest_claims_flush(self, pipe))
        return -1;
    if (!queued || !self->all_ok)
        return -1; /* the field stays: the next recovery settles it */
    s_queue_finish(self, 'u', shard, field->str, n ? ids[0] : field->str);
    return ingest_claims_flush(self, pipe);
}

/* After a crash: the events of a stored record whose claims are still
 * pending were stored, so those claims are marked accepted, and the record
 * goes (see s_sweep_field). */
static int s_sweep_stored(ingest_claims_t *self, ingest_pipe_t *pipe)
{
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        char kstored[SK_KEY_MAX], cursor[32] = "0";
        sk_key_stored(kstored, sh);
        do {
            redisReply *page;
            if (s_hscan(pipe, kstored, cursor, &page))
                return -1;
            int rc = 0;
            for (size_t k = 0; rc == 0 && k + 1 < page->elements; k += 2)
                if (page->element[k]->type == REDIS_REPLY_STRING)
                    rc = s_sweep_field(self, pipe, sh, page->element[k], page->element[k + 1]);
            freeReplyObject(page);
            if (rc)
                return -1;
        } while (strcmp(cursor, "0") != 0);
    }
    return 0;
}

/* Whether a pending claim value "p:<ms>:<name>/<pid>/<start>" is this
 * worker's: of an earlier run (worker names are unique among running
 * workers, SKONTO_WORKER_NAME, so that run is dead), or of this run and left
 * pending when a Redis error made its outcome unsure (nothing of this run is
 * in flight between batches). Either can be settled at once instead of
 * after the lease. */
static bool s_own_name(const ingest_claims_t *self, const char *v)
{
    const char *p = strchr(v + 2, ':');
    size_t n = strlen(self->name);
    return p && !strncmp(p + 1, self->name, n) && p[1 + n] == '/';
}

static void s_claim_held(ingest_claims_t *self, const char *eid, const char *value)
{
    char clean[SK_EVENT_ID_MAX + 1];
    sk_utf8_sanitize(clean, sizeof clean, eid, strlen(eid));
    bool stale =
        !strncmp(value, "p:", 2) &&
        (strtoll(value + 2, NULL, 10) < sk_now_ms() - INGEST_LEASE_MS || s_own_name(self, value));
    if (!stale) {
        sk_log("event %s is being stored under another claim (%.120s): no Ack now, the "
               "client's retry gets the outcome",
               clean, value);
        return;
    }
    for (int k = 0; k < self->nresolve; k++)
        if (!strcmp(self->resolve[k].eid, eid))
            return;
    if (self->nresolve == INGEST_BATCH)
        return; /* the next resend asks again */
    ingest_finish_t *r = &self->resolve[self->nresolve++];
    snprintf(r->eid, sizeof r->eid, "%s", eid);
    snprintf(r->expect, sizeof r->expect, "%s", value);
    sk_log("event %s has a claim its ingest left pending (%.120s): settling it; no Ack "
           "now, the client's retry gets the outcome",
           clean, value);
}

int ingest_claims_resolve(ingest_claims_t *self, ingest_pipe_t *pipe)
{
    if (!self->nresolve)
        return 0;
    /* Per claim: is its event in any shard's stored record of its batch (the
     * field is the claim's pending value), or an old per-event marker? */
    for (int k = 0; k < self->nresolve; k++) {
        for (int sh = 0; sh < SK_SHARDS; sh++) {
            char key[SK_KEY_MAX];
            const char *hg[3] = {"HGET", sk_key_stored(key, sh), self->resolve[k].expect};
            const char *hx[3] = {"HEXISTS", key, self->resolve[k].eid};
            if (ingest_pipe_appendv(pipe, 3, hg) || ingest_pipe_appendv(pipe, 3, hx))
                return -1;
        }
    }
    for (int k = 0; k < self->nresolve; k++) {
        ingest_finish_t *r = &self->resolve[k];
        int stored_in = -1;
        char needle[SK_EVENT_ID_MAX + 3];
        snprintf(needle, sizeof needle, "\n%s\n", r->eid);
        for (int sh = 0; sh < SK_SHARDS; sh++) {
            redisReply *g, *x;
            if (ingest_pipe_get(pipe, &g))
                return -1;
            if (ingest_pipe_get(pipe, &x)) {
                freeReplyObject(g);
                return -1;
            }
            if ((g->type == REDIS_REPLY_STRING && strstr(g->str, needle)) ||
                (x->type == REDIS_REPLY_INTEGER && x->integer == 1))
                stored_in = sh;
            freeReplyObject(g);
            freeReplyObject(x);
        }
        char clean[SK_EVENT_ID_MAX + 1];
        sk_utf8_sanitize(clean, sizeof clean, r->eid, strlen(r->eid));
        sk_log("event %s %s: its claim is %s", clean,
               stored_in >= 0 ? "was stored" : "was never stored",
               stored_in >= 0 ? "marked accepted" : "released, a resend stores it");
        s_queue_finish(self, stored_in >= 0 ? 'a' : 'r', stored_in, r->expect, r->eid);
    }
    self->nresolve = 0;
    return ingest_claims_flush(self, pipe);
}

/* Watermarks of owners whose claims have all expired (the last one raised
 * longer than the retention ago) cover nothing any more: deleted, up to
 * S_PRUNE_MAX a shard per start (one per ingest run or change of owner). */
#define S_PRUNE_MAX 1000
static int s_prune_settled(ingest_claims_t *self, ingest_pipe_t *pipe)
{
    int64_t before = sk_now_ms() - self->retention_ms;
    for (int sh = 0; sh < SK_SHARDS; sh++) {
        char key[SK_KEY_MAX];
        const char *argv[2] = {"HGETALL", sk_key_settled(key, sh)};
        redisReply *r;
        if (ingest_pipe_appendv(pipe, 2, argv) || ingest_pipe_get(pipe, &r))
            return -1;
        ingest_cmd_t c = ingest_pipe_cmd(pipe);
        ingest_cmd_args(&c, "HDEL");
        ingest_cmd_args(&c, key);
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k + 1 < r->elements; k += 2)
            if (r->element[k + 1]->type == REDIS_REPLY_STRING &&
                strtoll(r->element[k + 1]->str, NULL, 10) < before && c.argc < 2 + S_PRUNE_MAX)
                ingest_cmd_arg(&c, r->element[k]->str, r->element[k]->len);
        int rc = c.argc > 2 ? (ingest_pipe_append(pipe, &c) ||
                               ingest_pipe_read_int(pipe, "HDEL of expired watermarks"))
                            : 0;
        freeReplyObject(r);
        if (rc)
            return -1;
    }
    return 0;
}

int ingest_claims_recover(ingest_claims_t *self, ingest_pipe_t *pipe)
{
    return ingest_pipe_ready(pipe) || s_migrate_seen(self, pipe) || s_sweep_stored(self, pipe) ||
                   s_prune_settled(self, pipe)
               ? -1
               : 0;
}
void ingest_claims_finish(ingest_claims_t *self, const ingest_item_t *items, int a, int b)
{
    char pend[INGEST_PENDING_MAX];
    ingest_claims_pending(self, pend, sizeof pend);
    bool clean = !self->dirty, held[SK_SHARDS] = {false};
    /* The releases first: the watermark may cover the segment only if every
     * claim of it that was not stored is released in the same call. */
    for (int i = a; i < b; i++) {
        const ingest_item_t *it = &items[i];
        if (!(it->holds & INGEST_HOLDS_CLAIM))
            continue;
        held[it->eid_shard] = true;
        if (it->state == INGEST_UNSURE)
            clean = false; /* stays pending: its resend settles it */
        else if (it->state != INGEST_ACCEPTED &&
                 !s_queue_finish(self, 'r', -1, pend, it->env->event_id))
            clean = false;
    }
    for (int i = a; i < b; i++) {
        const ingest_item_t *it = &items[i];
        if ((it->holds & INGEST_HOLDS_CLAIM) && it->state == INGEST_ACCEPTED &&
            s_queue_finish(self, 'a', it->shard, pend, it->env->event_id))
            self->finish[self->nfinish - 1].implicit = self->finish[self->nfinish - 1].record_ok =
                clean;
    }
    self->seg_open = false;
    if (!clean) {
        s_rotate(self);
        return;
    }
    for (int sh = 0; sh < SK_SHARDS; sh++)
        if (held[sh])
            self->wm[sh] = self->claim_ms;
}
