/* receive — frames into items (see receive.h). */
#include <errno.h>
#include <stdbool.h>
#include <zmq.h>

#include "receive.h"
#include "sk_log.h"

#define S_MAX_FRAMES 4 /* routing id + delimiter + body, and one to notice extras */

/* Receives one ROUTER message into it; 1 got one, 0 nothing waiting, -1 error. */
static int s_recv_router(void *router, ingest_item_t *it)
{
    zmq_msg_t f[S_MAX_FRAMES];
    bool extra = false;
    zmq_msg_init(&f[0]);
    if (zmq_msg_recv(&f[0], router, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&f[0]);
        if (e == EAGAIN || e == EINTR)
            return 0;
        sk_log("zmq_msg_recv ROUTER: %s", zmq_strerror(e));
        return -1;
    }
    int n = 1;
    bool more = zmq_msg_more(&f[0]);
    while (more) {
        /* The rest of a multipart message is already here: recv does not block. */
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, router, 0) < 0) {
            sk_log("zmq_msg_recv ROUTER: %s", zmq_strerror(zmq_errno()));
            zmq_msg_close(&m);
            for (int k = 0; k < n; k++)
                zmq_msg_close(&f[k]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < S_MAX_FRAMES) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &m);
        } else {
            extra = true; /* keep the last frame as the body, drop the ones between */
            zmq_msg_move(&f[n - 1], &m);
        }
        zmq_msg_close(&m);
    }
    ingest_item_init(it, 0);
    zmq_msg_move(&it->ident, &f[0]);
    if (n == 2 && !extra) {
        zmq_msg_move(&it->body, &f[1]); /* DEALER: the envelope */
    } else if (n == 3 && !extra && zmq_msg_size(&f[1]) == 0) {
        it->delim = true; /* REQ: empty delimiter, then the envelope */
        zmq_msg_move(&it->body, &f[2]);
    } else {
        it->delim = n >= 2 && zmq_msg_size(&f[1]) == 0;
        if (n >= 2)
            zmq_msg_move(&it->body, &f[n - 1]);
        ingest_item_to(it, INGEST_REJECTED);
        sk_err_set(&it->err, SK_REASON_BAD_ENVELOPE,
                   "want one frame (a skonto.v1.Envelope), optionally after an empty delimiter");
    }
    for (int k = 0; k < n; k++)
        zmq_msg_close(&f[k]);
    return 1;
}

/* Receives one PUB message (a single frame) from SUB socket origin-1 into it; 1, 0 or -1. */
static int s_recv_sub(void *sub, int origin, ingest_item_t *it)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&m);
        if (e == EAGAIN || e == EINTR)
            return 0;
        sk_log("zmq_msg_recv SUB: %s", zmq_strerror(e));
        return -1;
    }
    ingest_item_init(it, origin);
    zmq_msg_move(&it->body, &m);
    zmq_msg_close(&m);
    if (zmq_msg_more(&it->body)) {
        /* A multi-frame publication is not ours: drop the rest, keep the first. */
        int more = 1;
        while (more) {
            zmq_msg_t x;
            zmq_msg_init(&x);
            if (zmq_msg_recv(&x, sub, 0) < 0) {
                zmq_msg_close(&x);
                break;
            }
            more = zmq_msg_more(&x);
            zmq_msg_close(&x);
        }
        ingest_item_to(it, INGEST_REJECTED);
        sk_err_set(&it->err, SK_REASON_BAD_ENVELOPE,
                   "want one frame (a skonto.v1.Envelope) per publication");
    }
    return 1;
}

int ingest_receive(void *router, void *const *subs, int nsubs, ingest_sources_t *sources,
                   ingest_item_t *items, int max)
{
    int nitems = 0;
    bool any = true;
    while (any && nitems < max) {
        any = false;
        /* origin 0 is the ROUTER, origin i >= 1 the SUB socket i-1. */
        for (int origin = 0; origin <= nsubs && nitems < max; origin++) {
            /* A few at a time from each socket so that one busy feed cannot starve the others. */
            for (int burst = 0; burst < 32 && nitems < max; burst++) {
                ingest_item_t *it = &items[nitems];
                int rc =
                    origin ? s_recv_sub(subs[origin - 1], origin, it) : s_recv_router(router, it);
                if (rc <= 0)
                    break;
                ingest_item_decode(it);
                ingest_sources_track(sources, it);
                nitems++;
                any = true;
            }
        }
    }
    return nitems;
}
