/* Tests of sk_redis's RESP writer (sk_resp_array, sk_resp_bulk), which
 * ingest and discount use instead of hiredis' own formatting: the bytes are
 * the ones hiredis writes for the same arguments, and hiredis' reader parses
 * them back into the arguments, NUL bytes, CR LF and empty ones included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "sk_redis.h"

#define S_BIG (100 * 1024)

/* The arguments used below: a command, an empty one, bytes with NUL and CR
 * LF, and one of 100 KiB. */
static int s_args(const char **argv, size_t *lens, char *big)
{
    static const char bin[] = {'a', '\0', '\r', '\n', 'b'};
    memset(big, 'x', S_BIG);
    big[7] = '\0';
    argv[0] = "EVALSHA", lens[0] = 7;
    argv[1] = "", lens[1] = 0;
    argv[2] = bin, lens[2] = sizeof bin;
    argv[3] = big, lens[3] = S_BIG;
    argv[4] = "12", lens[4] = 2;
    return 5;
}

static size_t s_write(char *out, int argc, const char **argv, const size_t *lens)
{
    size_t n = sk_resp_array(out, (size_t)argc);
    for (int i = 0; i < argc; i++)
        n += sk_resp_bulk(out + n, argv[i], lens[i]);
    return n;
}

/* The arguments of s_args and their RESP (s_write), for each test. */
typedef struct {
    const char *argv[5];
    size_t lens[5];
    int argc;
    char *big, *out;
    size_t n;
} s_cmd_t;

static int s_setup(void **state)
{
    s_cmd_t *c = calloc(1, sizeof *c);
    if (!c || !(c->big = malloc(S_BIG)) || !(c->out = malloc(S_BIG + 6 * SK_RESP_HEAD)))
        return -1;
    c->argc = s_args(c->argv, c->lens, c->big);
    c->n = s_write(c->out, c->argc, c->argv, c->lens);
    *state = c;
    return 0;
}

static int s_teardown(void **state)
{
    s_cmd_t *c = *state;
    if (c) {
        free(c->big);
        free(c->out);
        free(c);
    }
    return 0;
}

static void test_resp_same_bytes_as_hiredis(void **state)
{
    s_cmd_t *c = *state; /* redisFormatCommandArgv takes a non-const argv */
    char *ref = NULL;
    long long rn = redisFormatCommandArgv(&ref, c->argc, c->argv, c->lens);
    assert_true(rn > 0);
    assert_int_equal(c->n, (size_t)rn);
    assert_memory_equal(c->out, ref, c->n);
    redisFreeCommand(ref);
}

static void test_resp_parsed_back(void **state)
{
    const s_cmd_t *c = *state;
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, c->out, c->n), REDIS_OK);
    void *v = NULL;
    assert_int_equal(redisReaderGetReply(rd, &v), REDIS_OK);
    const redisReply *r = v;
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) {
        assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
        assert_int_equal(r->element[i]->len, c->lens[i]);
        assert_memory_equal(r->element[i]->str, c->argv[i], c->lens[i]);
    }
    freeReplyObject(v);
    v = NULL;
    assert_int_equal(redisReaderGetReply(rd, &v), REDIS_OK);
    assert_null(v); /* nothing after the command */
    redisReaderFree(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resp_same_bytes_as_hiredis, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_resp_parsed_back, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
