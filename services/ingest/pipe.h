/* pipe — ingest's Redis connection: the pipeline every step appends to, and
 * the three Lua scripts (claim.lua, accept.lua, dlq.lua, embedded at build
 * time; each says its KEYS and ARGV at its top).
 *
 * Round trips decide ingest's throughput, so a step appends all its commands
 * (in RESP, sk_resp_*, with redisAppendFormattedCommand), then reads the
 * replies in the same order; a step with several large calls sends each as
 * soon as it is built (ingest_pipe_flush), so Redis runs it while the next
 * is built. A
 * command's arguments are built in one scratch array owned here (large
 * enough for an accept call covering a whole batch), through an
 * ingest_cmd_t; the arguments must live until the command is appended
 * (they are copied then).
 *
 * Invariants: after -1 from any call the connection is unusable (hiredis
 * cannot reuse a context that reported an error): the owner drops it and
 * reconnects. A NOSCRIPT error seen anywhere marks the scripts for reloading
 * before the next write (ingest_pipe_ready). */
#ifndef INGEST_PIPE_H
#define INGEST_PIPE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _ingest_pipe_t ingest_pipe_t;

typedef enum { INGEST_SCRIPT_CLAIM, INGEST_SCRIPT_ACCEPT, INGEST_SCRIPT_DLQ } ingest_script_t;

/* A command being built in the pipe's scratch arguments. */
typedef struct {
    const char **argv;
    size_t *lens;
    int argc;
} ingest_cmd_t;

ingest_pipe_t *ingest_pipe_new(void);
void ingest_pipe_destroy(ingest_pipe_t **self_p);

/* Connects to SKONTO_REDIS_URL and loads the scripts. 0 or -1 (logged). */
int ingest_pipe_connect(ingest_pipe_t *self);
void ingest_pipe_drop(ingest_pipe_t *self);
bool ingest_pipe_connected(const ingest_pipe_t *self);

/* Reloads the scripts if a NOSCRIPT was seen. 0 or -1. */
int ingest_pipe_ready(ingest_pipe_t *self);
const char *ingest_pipe_sha(const ingest_pipe_t *self, ingest_script_t script);
/* Notes an error reply: NOSCRIPT marks the scripts for reloading. */
void ingest_pipe_note(ingest_pipe_t *self, const redisReply *r);

/* An empty command over the scratch arguments (one command at a time). */
ingest_cmd_t ingest_pipe_cmd(ingest_pipe_t *self);
void ingest_cmd_arg(ingest_cmd_t *c, const char *p, size_t n);
void ingest_cmd_args(ingest_cmd_t *c, const char *p);
/* Sets argument k (reserved earlier, e.g. numkeys) to the C string p. */
void ingest_cmd_set(ingest_cmd_t *c, int k, const char *p);

int ingest_pipe_append(ingest_pipe_t *self, const ingest_cmd_t *c);
/* Sends what is appended so far (blocking until it is written). 0 or -1. */
int ingest_pipe_flush(ingest_pipe_t *self);
/* Appends a command of at most 8 arguments that are C strings. */
int ingest_pipe_appendv(ingest_pipe_t *self, int argc, const char **argv);
/* The next reply (the caller frees it); -1 when the connection is lost.
 * The first one after commands were appended sends them, then runs the
 * idle hook (if any) while Redis works on them, then waits. */
int ingest_pipe_get(ingest_pipe_t *self, redisReply **out);
/* What to do while a pipeline is on its way (NULL: nothing). */
void ingest_pipe_set_idle(ingest_pipe_t *self, void (*fn)(void *), void *arg);
/* Reads one reply that should be an integer; anything else is logged as
 * `what` and the batch goes on. -1 only when the connection is lost. */
int ingest_pipe_read_int(ingest_pipe_t *self, const char *what);
/* Reads n replies and fails if any is an error. */
int ingest_pipe_drain(ingest_pipe_t *self, int n, const char *what);

#endif
