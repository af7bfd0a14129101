/* audit_follow — `skontoctl audit follow`: a subscriber of the audit
 * worker's live feed that never misses an entry, as in the ZeroMQ guide's
 * Clone pattern (chapter 5):
 *
 *   1. SUB to the feed first (topics "entry" and "checkpoint"), so that
 *      nothing published from now on can be missed unseen;
 *   2. ask the worker's ROUTER for FeedSnapshotRequest pages from --from
 *      until the log's size the worker reports;
 *   3. then take the updates: an entry whose seq is below the next one
 *      expected was already had (dropped), the next one is taken, a higher
 *      one means the PUB dropped some (its high-water mark) or the SUB joined
 *      late: ask the snapshot again from the next one expected. A checkpoint
 *      larger than what was taken says the same.
 *
 * Verification as it goes (docs/AUDIT.md): each entry's leaf hash is
 * recomputed from its bytes and must be the one sent, its AuditEvent.seq
 * must be its position; each checkpoint's signature is checked with the
 * public key and its root against the root of the entries taken at its size
 * (at once, or when that size is reached). The first failure stops follow
 * (exit 1) naming the entry. Every checkpoint that verified is appended to
 * --checkpoints FILE, the auditor's own copy, which `audit verify
 * --checkpoints` later uses to prove truncation or rollback.
 *
 * When --from is above 0 the entries before it are not seen, so roots of
 * checkpoints cannot be checked (only signatures): said once on stderr. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "audit_cli.h"
#include "cli_audit.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "sk_grow.h"
#include "sk_merkle.h"

#define VERB "audit follow"
#define S_FEED_MAX (2u << 20) /* a feed message at most */
#define S_PENDING_MAX 4096    /* checkpoints ahead of what was taken, kept to check later */

typedef struct {
    sk_checkpoint_verifier_t *key;
    bool json;
    uint64_t next; /* the next seq expected */
    uint64_t from; /* the first seq wanted */
    long count, printed;
    long until_size; /* -1: none */
    sk_hash_t *lh;   /* leaf hashes of entries from..next */
    size_t lh_cap;
    sk_merkle_t *tree; /* the same, when from is 0 */
    sk_checkpoint_t pending[S_PENDING_MAX];
    size_t npending;
    FILE *save; /* --checkpoints */
    char last_saved[SK_CHECKPOINT_MAX + 1];
    uint64_t checkpoints;
    bool stop, wrong;
} s_follow_t;

static void s_wrong(s_follow_t *f, const char *reason, int64_t entry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_wrong(s_follow_t *f, const char *reason, int64_t entry, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    printf("wrong reason=%s entry=%" PRId64 " checkpoint=-1: %s\n", reason, entry, msg);
    f->wrong = f->stop = true;
}

static void s_check_done(s_follow_t *f)
{
    if ((f->count > 0 && f->printed >= f->count) ||
        (f->until_size >= 0 && f->next >= (uint64_t)f->until_size))
        f->stop = true;
}

/* The root of the entries taken, at one of their sizes (size >= from). */
static void s_root_at(const s_follow_t *f, uint64_t size, sk_hash_t out)
{
    if (size == f->next)
        sk_merkle_root(f->tree, out);
    else
        sk_merkle_tree_hash(f->lh, size, out);
}

static void s_check_root(s_follow_t *f, const sk_checkpoint_t *cp)
{
    sk_hash_t root;
    s_root_at(f, cp->size, root);
    if (memcmp(root, cp->root, sizeof root))
        s_wrong(f, "root", cp->size ? (int64_t)cp->size - 1 : 0,
                "the first %" PRIu64 " entries do not give the root the checkpoint of size %" PRIu64
                " signed",
                cp->size, cp->size);
}

/* Takes one entry (seq == f->next). */
static void s_take(s_follow_t *f, uint64_t seq, const uint8_t *bytes, size_t len,
                   const uint8_t *leaf_hash, size_t hlen)
{
    sk_hash_t lh;
    sk_err_t err;
    if (sk_merkle_append(f->tree, bytes, len, lh, &err) != 0) {
        s_wrong(f, "internal", (int64_t)seq, "%s", err.msg);
        return;
    }
    if (hlen != 32 || memcmp(lh, leaf_hash, 32)) {
        s_wrong(f, "leaf_hash", (int64_t)seq,
                "entry %" PRIu64 "'s bytes do not give the leaf hash sent with them", seq);
        return;
    }
    Skonto__V1__AuditEvent *ev = skonto__v1__audit_event__unpack(NULL, len, bytes);
    if (ev && ev->seq != seq) {
        s_wrong(f, "sequence", (int64_t)seq, "entry at position %" PRIu64 " says seq %" PRIu64, seq,
                (uint64_t)ev->seq);
        skonto__v1__audit_event__free_unpacked(ev, NULL);
        return;
    }
    sk_hash_t *a = sk_grow(f->lh, f->next - f->from, &f->lh_cap, sizeof *a, 1024);
    if (!a) {
        s_wrong(f, "internal", (int64_t)seq, "out of memory");
        if (ev)
            skonto__v1__audit_event__free_unpacked(ev, NULL);
        return;
    }
    f->lh = a;
    memcpy(f->lh[f->next - f->from], lh, 32);
    f->next++;
    if (f->json) {
        json_t *o = sk_cli_event_json(seq, ev);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(o);
        }
    } else {
        sk_cli_event_print(stdout, seq, ev);
    }
    fflush(stdout);
    if (ev)
        skonto__v1__audit_event__free_unpacked(ev, NULL);
    f->printed++;
    /* checkpoints that were ahead and are now reached */
    if (f->from == 0)
        for (size_t i = 0; i < f->npending && !f->stop;) {
            if (f->pending[i].size == f->next) {
                s_check_root(f, &f->pending[i]);
                f->pending[i] = f->pending[--f->npending];
            } else {
                i++;
            }
        }
    if (!f->stop)
        s_check_done(f);
}

/* One checkpoint note (from the feed or a snapshot). Returns true when it
 * says the log is larger than what was taken (ask a snapshot). */
static bool s_checkpoint(s_follow_t *f, const char *note, size_t len)
{
    sk_checkpoint_t cp;
    sk_err_t err;
    if (!len)
        return false;
    if (sk_checkpoint_verify(f->key, note, len, &cp, &err) != 0) {
        fflush(stdout);
        printf("wrong reason=bad_checkpoint entry=-1 checkpoint=%" PRIu64 ": %s\n", f->checkpoints,
               err.msg);
        f->wrong = f->stop = true;
        return false;
    }
    f->checkpoints++;
    if (f->save &&
        (len > SK_CHECKPOINT_MAX || strncmp(f->last_saved, note, len) || f->last_saved[len])) {
        if (fwrite(note, 1, len, f->save) != len || fflush(f->save) != 0) {
            sk_cli_fail(VERB, "cannot write the checkpoints file: %s", strerror(errno));
            f->wrong = f->stop = true;
            return false;
        }
        if (len <= SK_CHECKPOINT_MAX) {
            memcpy(f->last_saved, note, len);
            f->last_saved[len] = '\0';
        }
    }
    if (f->from != 0)
        return cp.size > f->next;
    if (cp.size <= f->next) {
        s_check_root(f, &cp);
        return false;
    }
    if (f->npending < S_PENDING_MAX)
        f->pending[f->npending++] = cp;
    return true;
}

typedef struct {
    s_follow_t *f;
    Skonto__V1__AuditReply *reply;
} s_snap_t;

/* Asks snapshot pages from f->next until the log's size. An exit status. */
static int s_snapshot(s_follow_t *f, sk_cli_rpc_t *rpc)
{
    for (;;) {
        Skonto__V1__FeedSnapshotRequest s = SKONTO__V1__FEED_SNAPSHOT_REQUEST__INIT;
        s.from_seq = f->next;
        s.max = 1000;
        Skonto__V1__AuditRequest req = SKONTO__V1__AUDIT_REQUEST__INIT;
        req.body_case = SKONTO__V1__AUDIT_REQUEST__BODY_SNAPSHOT;
        req.snapshot = &s;
        Skonto__V1__AuditReply *r = NULL;
        int rc = sk_cli_audit_ask(VERB, rpc, &req, &r);
        if (rc != SK_EXIT_OK)
            return rc;
        if ((rc = sk_cli_audit_status(VERB, r)) != SK_EXIT_OK) {
            skonto__v1__audit_reply__free_unpacked(r, NULL);
            return rc;
        }
        size_t took = 0;
        for (size_t i = 0; i < r->n_entries && !f->stop; i++) {
            const Skonto__V1__FeedEntry *e = r->entries[i];
            if (e->seq < f->next)
                continue;
            if (e->seq > f->next) {
                s_wrong(f, "sequence", (int64_t)f->next,
                        "the snapshot skipped from %" PRIu64 " to %" PRIu64, f->next, e->seq);
                break;
            }
            s_take(f, e->seq, e->entry.data, e->entry.len, e->leaf_hash.data, e->leaf_hash.len);
            took++;
        }
        if (!f->stop && *r->checkpoint)
            s_checkpoint(f, r->checkpoint, strlen(r->checkpoint));
        uint64_t size = r->log_size;
        skonto__v1__audit_reply__free_unpacked(r, NULL);
        if (f->stop || f->next >= size || took == 0)
            return SK_EXIT_OK;
    }
}

/* One feed message (two frames). Sets *gap when a snapshot is due. */
static void s_feed(s_follow_t *f, void *sub, bool *gap)
{
    for (;;) {
        char topic[16];
        int n = zmq_recv(sub, topic, sizeof topic - 1, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        topic[n < (int)sizeof topic - 1 ? n : (int)sizeof topic - 1] = '\0';
        int more = 0;
        size_t ml = sizeof more;
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        Skonto__V1__AuditFeed *a =
            zmq_msg_size(&m) <= S_FEED_MAX
                ? skonto__v1__audit_feed__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m))
                : NULL;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) {
            zmq_msg_init(&m);
            more = zmq_msg_recv(&m, sub, 0) < 0 ? 0 : zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (!a)
            continue;
        if (!strcmp(topic, "entry")) {
            if (a->seq == f->next)
                s_take(f, a->seq, a->entry.data, a->entry.len, a->leaf_hash.data, a->leaf_hash.len);
            else if (a->seq > f->next)
                *gap = true;
        } else if (!strcmp(topic, "checkpoint")) {
            if (s_checkpoint(f, a->checkpoint, strlen(a->checkpoint)))
                *gap = true;
        }
        skonto__v1__audit_feed__free_unpacked(a, NULL);
        if (f->stop || *gap)
            return;
    }
}

int sk_cli_audit_follow(int argc, char **argv)
{
    static const sk_cli_opt_t opts[] = {
        {"from", true, false},  {"checkpoints", true, false}, {"until-size", true, false},
        {"count", true, false}, {"json", false, false},       {"pub", true, false},
        {"feed", true, false},  {"rcvhwm", true, false},      SK_CLI_PEER_OPTS,
        {NULL, false, false}};
    sk_cli_peer_t peer;
    sk_cli_peer_audit(&peer);
    const char *feed = getenv("SKONTO_AUDIT_FEED_ENDPOINT");
    if (!feed || !*feed)
        feed = "tcp://127.0.0.1:7771";
    s_follow_t *f = calloc(1, sizeof *f);
    if (!f)
        return sk_cli_fail(VERB, "out of memory");
    f->until_size = -1;
    const char *value, *pub = NULL, *save = NULL;
    long from = 0, hwm = 0;
    int o, rc = SK_EXIT_OK;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, opts, argc, argv);
    while (rc == SK_EXIT_OK && (o = sk_cli_scan_peer(&sc, &peer, NULL, "skontoctl audit --help",
                                                     &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD) {
            rc = SK_EXIT_USAGE;
            break;
        }
        const char *name = opts[o].name;
        if (!strcmp(name, "from")) {
            if (sk_cli_parse_int(value, 0, INT64_MAX, &from) < 0)
                rc = sk_cli_opt_error(VERB, name, value, "want a sequence number, 0 or more");
        } else if (!strcmp(name, "until-size")) {
            if (sk_cli_parse_int(value, 0, INT64_MAX, &f->until_size) < 0)
                rc = sk_cli_opt_error(VERB, name, value, "want a number of entries");
        } else if (!strcmp(name, "count")) {
            if (sk_cli_parse_int(value, 1, INT64_MAX, &f->count) < 0)
                rc = sk_cli_opt_error(VERB, name, value, "want a number of entries, 1 or more");
        } else if (!strcmp(name, "rcvhwm")) {
            if (sk_cli_parse_int(value, 0, 1000000, &hwm) < 0)
                rc = sk_cli_opt_error(VERB, name, value, "want 0 to 1000000");
        } else if (!strcmp(name, "checkpoints"))
            save = value;
        else if (!strcmp(name, "pub"))
            pub = value;
        else if (!strcmp(name, "feed"))
            feed = value;
        else
            f->json = true;
    }
    sk_cli_rpc_t *rpc = NULL;
    void *sub = NULL;
    if (rc == SK_EXIT_OK)
        f->key = sk_cli_audit_pub(VERB, pub, &rc);
    if (rc == SK_EXIT_OK && save && !(f->save = fopen(save, "a")))
        rc = sk_cli_opt_error(VERB, "checkpoints", save, "cannot append: %s", strerror(errno));
    if (rc == SK_EXIT_OK && !(f->tree = sk_merkle_new()))
        rc = sk_cli_fail(VERB, "out of memory");
    f->from = f->next = (uint64_t)from;
    if (rc == SK_EXIT_OK && from > 0)
        fprintf(stderr,
                "skontoctl %s: starting at %ld, so checkpoints' roots cannot be checked "
                "(only their signatures); audit verify checks everything\n",
                VERB, from);
    if (rc == SK_EXIT_OK)
        rpc = sk_cli_rpc_open(VERB, &peer, &rc);
    if (rc == SK_EXIT_OK) {
        /* 1. subscribe first */
        sub = zmq_socket(sk_cli_rpc_context(rpc), ZMQ_SUB);
        int zero = 0, h = (int)hwm;
        if (!sub || zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
            (hwm && zmq_setsockopt(sub, ZMQ_RCVHWM, &h, sizeof h) < 0) ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "entry", 5) < 0 ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "checkpoint", 10) < 0)
            rc = sk_cli_fail(VERB, "cannot set up the feed's socket: %s", zmq_strerror(errno));
        else if ((rc = sk_cli_peer_curve(&peer, VERB, sub)) == SK_EXIT_OK &&
                 zmq_connect(sub, feed) < 0)
            rc = sk_cli_opt_error(VERB, "feed", feed, "cannot connect: %s", zmq_strerror(errno));
    }
    s_check_done(f);
    /* 2. the snapshot, 3. the updates, a snapshot again on every gap */
    bool gap = true;
    while (rc == SK_EXIT_OK && !f->stop) {
        if (gap) {
            gap = false;
            rc = s_snapshot(f, rpc);
            continue;
        }
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 500) < 0 && errno != EINTR) {
            rc = sk_cli_fail(VERB, "waiting for the feed: %s", zmq_strerror(errno));
            break;
        }
        s_feed(f, sub, &gap);
    }
    if (rc == SK_EXIT_OK && f->wrong)
        rc = SK_EXIT_FAIL;
    if (rc == SK_EXIT_OK && sk_cli_finish(VERB) != SK_EXIT_OK)
        rc = SK_EXIT_FAIL;
    if (sub)
        zmq_close(sub);
    sk_cli_rpc_destroy(&rpc);
    if (f->save && fclose(f->save) != 0 && rc == SK_EXIT_OK)
        rc = sk_cli_fail(VERB, "cannot write the checkpoints file: %s", strerror(errno));
    sk_merkle_destroy(&f->tree);
    sk_checkpoint_verifier_destroy(&f->key);
    free(f->lh);
    free(f);
    return rc;
}
