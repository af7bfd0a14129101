/* sk_metrics: the Prometheus text a scraper reads, byte for byte, and
 * counts that stay exact while another thread renders; the address rule of
 * SKONTO_METRICS_ADDR (sk_metrics_http); counters by event kind. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_metrics.h"
#include "sk_metrics_event.h"
#include "sk_metrics_http.h"

static void s_assert_render(sk_metrics_t *m, const char *want)
{
    size_t len = 0;
    char *text = sk_metrics_render(m, &len);
    assert_non_null(text);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
}

static void test_counter_and_gauge_text(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    sk_counter_t *acc = sk_metrics_counter(m, "skonto_test_events_total",
                                           "Events \\ handled\nby outcome \"quoted\"",
                                           (const char *[]){"outcome", "accepted", NULL}, &err);
    sk_counter_t *rej = sk_metrics_counter(m, "skonto_test_events_total",
                                           "Events \\ handled\nby outcome \"quoted\"",
                                           (const char *[]){"outcome", "rejected", NULL}, &err);
    sk_gauge_t *depth = sk_metrics_gauge(m, "skonto_test_depth", "Items waiting", NULL, &err);
    /* Registered after the gauge, but written with its family. */
    sk_counter_t *odd = sk_metrics_counter(m, "skonto_test_events_total",
                                           "Events \\ handled\nby outcome \"quoted\"",
                                           (const char *[]){"outcome", "a\\b\"c\nd", NULL}, &err);
    assert_non_null(acc);
    assert_non_null(rej);
    assert_non_null(depth);
    assert_non_null(odd);
    sk_counter_add(acc, 41);
    sk_counter_inc(acc);
    sk_counter_inc(odd);
    sk_gauge_set(depth, 7);
    sk_gauge_add(depth, -10);
    s_assert_render(m,
                    "# HELP skonto_test_events_total Events \\\\ handled\\nby outcome \"quoted\"\n"
                    "# TYPE skonto_test_events_total counter\n"
                    "skonto_test_events_total{outcome=\"accepted\"} 42\n"
                    "skonto_test_events_total{outcome=\"rejected\"} 0\n"
                    "skonto_test_events_total{outcome=\"a\\\\b\\\"c\\nd\"} 1\n"
                    "# HELP skonto_test_depth Items waiting\n"
                    "# TYPE skonto_test_depth gauge\n"
                    "skonto_test_depth -3\n");
    /* The same series again is the same handle. */
    assert_ptr_equal(sk_metrics_counter(m, "skonto_test_events_total",
                                        "Events \\ handled\nby outcome \"quoted\"",
                                        (const char *[]){"outcome", "accepted", NULL}, &err),
                     acc);
    sk_metrics_destroy(&m);
    assert_null(m);
}

static void test_histogram_text(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    const uint64_t bounds[] = {500000, 1000000, 2500000000}; /* 0.5 ms, 1 ms, 2.5 s */
    sk_histogram_t *h = sk_metrics_histogram(m, "skonto_test_latency_seconds", "Latency",
                                             (const char *[]){"kind", "x", NULL}, bounds, 3, &err);
    assert_non_null(h);
    sk_histogram_observe_ns(h, 400000);     /* 0.4 ms: first bucket */
    sk_histogram_observe_ns(h, 500000);     /* on the bound: le is inclusive */
    sk_histogram_observe_ns(h, 2000000);    /* 2 ms: third */
    sk_histogram_observe_ns(h, 3000000001); /* over every bound: +Inf only */
    assert_int_equal(sk_histogram_count(h), 4);
    s_assert_render(m, "# HELP skonto_test_latency_seconds Latency\n"
                       "# TYPE skonto_test_latency_seconds histogram\n"
                       "skonto_test_latency_seconds_bucket{kind=\"x\",le=\"0.0005\"} 2\n"
                       "skonto_test_latency_seconds_bucket{kind=\"x\",le=\"0.001\"} 2\n"
                       "skonto_test_latency_seconds_bucket{kind=\"x\",le=\"2.5\"} 3\n"
                       "skonto_test_latency_seconds_bucket{kind=\"x\",le=\"+Inf\"} 4\n"
                       "skonto_test_latency_seconds_sum{kind=\"x\"} 3.002900001\n"
                       "skonto_test_latency_seconds_count{kind=\"x\"} 4\n");
    sk_metrics_destroy(&m);
}

static void test_default_buckets_without_labels(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    sk_histogram_t *h = sk_metrics_histogram(m, "skonto_test_seconds", "Ack", NULL, NULL, 0, &err);
    assert_non_null(h);
    sk_histogram_observe_ns(h, 1000000000); /* exactly 1 s */
    char *text = sk_metrics_render(m, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "skonto_test_seconds_bucket{le=\"0.0001\"} 0\n"));
    assert_non_null(strstr(text, "skonto_test_seconds_bucket{le=\"0.5\"} 0\n"));
    assert_non_null(strstr(text, "skonto_test_seconds_bucket{le=\"1.0\"} 1\n"));
    assert_non_null(strstr(text, "skonto_test_seconds_bucket{le=\"10.0\"} 1\n"));
    assert_non_null(strstr(text, "skonto_test_seconds_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "skonto_test_seconds_sum 1.0\nskonto_test_seconds_count 1\n"));
    free(text);
    sk_metrics_destroy(&m);
}

static void test_registration_errors(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    assert_null(sk_metrics_counter(m, "skonto_events", "no _total", NULL, &err));
    assert_string_equal(err.code, "bad_metric");
    assert_null(sk_metrics_counter(m, "9bad_total", "digit first", NULL, &err));
    assert_null(sk_metrics_counter(m, "bad-name_total", "dash", NULL, &err));
    assert_null(sk_metrics_gauge(m, "skonto_g", "reserved label",
                                 (const char *[]){"__x", "1", NULL}, &err));
    assert_null(sk_metrics_gauge(m, "skonto_g", "label twice",
                                 (const char *[]){"a", "1", "a", "2", NULL}, &err));
    assert_null(sk_metrics_histogram(m, "skonto_h_seconds", "le is the bucket's",
                                     (const char *[]){"le", "1", NULL}, NULL, 0, &err));
    const uint64_t down[] = {2, 1};
    assert_null(sk_metrics_histogram(m, "skonto_h_seconds", "bounds", NULL, down, 2, &err));
    assert_non_null(sk_metrics_gauge(m, "skonto_g", "a gauge", NULL, &err));
    /* One name, one type, one help, one set of label names. */
    assert_null(sk_metrics_counter(m, "skonto_g", "a gauge", NULL, &err));
    assert_null(sk_metrics_gauge(m, "skonto_g", "another help", NULL, &err));
    assert_null(sk_metrics_gauge(m, "skonto_g", "a gauge", (const char *[]){"k", "v", NULL}, &err));
    assert_non_null(strstr(err.msg, "skonto_g"));
    /* Nothing half-registered is written. */
    s_assert_render(m, "# HELP skonto_g a gauge\n# TYPE skonto_g gauge\nskonto_g 0\n");
    /* NULL handles count nothing and do not crash. */
    sk_counter_inc(NULL);
    sk_gauge_set(NULL, 1);
    sk_histogram_observe_ns(NULL, 1);
    sk_metrics_destroy(&m);
}

/* ---------------------------------------------------------------- threads */

#define S_THREADS 4
#define S_PER_THREAD 200000

typedef struct {
    sk_counter_t *c;
    sk_histogram_t *h;
} s_targets_t;

static void *s_hammer(void *arg)
{
    s_targets_t *t = arg;
    for (int i = 0; i < S_PER_THREAD; i++) {
        sk_counter_inc(t->c);
        sk_histogram_observe_ns(t->h, (uint64_t)(i % 3) * 1000000);
    }
    return NULL;
}

/* Increments from several threads while another renders: no count lost. */
static void test_concurrent_increments_are_exact(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    s_targets_t t = {sk_metrics_counter(m, "skonto_t_total", "t", NULL, &err),
                     sk_metrics_histogram(m, "skonto_t_seconds", "t", NULL, NULL, 0, &err)};
    assert_non_null(t.c);
    assert_non_null(t.h);
    pthread_t th[S_THREADS];
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, s_hammer, &t), 0);
    for (int i = 0; i < 50; i++)
        free(sk_metrics_render(m, NULL));
    for (int i = 0; i < S_THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(sk_counter_value(t.c), S_THREADS * S_PER_THREAD);
    assert_int_equal(sk_histogram_count(t.h), S_THREADS * S_PER_THREAD);
    char *text = sk_metrics_render(m, NULL);
    assert_non_null(strstr(text, "skonto_t_total 800000\n"));
    assert_non_null(strstr(text, "skonto_t_seconds_count 800000\n"));
    free(text);
    sk_metrics_destroy(&m);
}

/* ---------------------------------------------------------------- address */

static void test_address_rule(void **state)
{
    (void)state;
    struct sockaddr_storage sa;
    socklen_t len;
    sk_err_t err;
    char host[64];
    /* No host: loopback, never every interface. */
    assert_int_equal(sk_metrics_addr_parse(":9464", &sa, &len, &err), 0);
    assert_int_equal(sa.ss_family, AF_INET);
    inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof host);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 9464);
    /* A host named explicitly is taken as is. */
    assert_int_equal(sk_metrics_addr_parse("0.0.0.0:80", &sa, &len, &err), 0);
    inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof host);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(sk_metrics_addr_parse("[::1]:0", &sa, &len, &err), 0);
    assert_int_equal(sa.ss_family, AF_INET6);
    const char *bad[] = {"",
                         "9464",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:65536",
                         "127.0.0.1:12x",
                         "::1:9464",
                         "[::1]9464",
                         "no-such-host.invalid:9464"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sk_metrics_addr_parse(bad[i], &sa, &len, &err), -1);
        assert_string_equal(err.code, "bad_config");
    }
}

/* Bound on port 0, the server says which port it got; a bad
 * SKONTO_METRICS_ADDR is an error naming the variable. */
static int s_register_one(sk_metrics_t *m, void *arg, sk_err_t *err)
{
    (void)arg;
    return sk_metrics_counter(m, "skonto_one_total", "one", NULL, err) ? 0 : -1;
}

static int s_register_bad(sk_metrics_t *m, void *arg, sk_err_t *err)
{
    (void)arg;
    return sk_metrics_counter(m, "skonto_bad", "no _total", NULL, err) ? 0 : -1;
}

static void test_server_address_and_env(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    sk_metrics_http_t *http = sk_metrics_http_new(m, "127.0.0.1:0", &err);
    assert_non_null(http);
    const char *a = sk_metrics_http_address(http);
    assert_int_equal(strncmp(a, "127.0.0.1:", 10), 0);
    assert_true(atoi(a + 10) > 0);
    sk_metrics_http_destroy(&http);
    assert_null(http);

    /* A worker's: its own registry, served where SKONTO_METRICS_ADDR says. */
    setenv("SKONTO_METRICS_ADDR", "localhost", 1);
    assert_null(sk_metrics_http_worker(s_register_one, NULL, &err));
    assert_int_equal(strncmp(err.msg, "SKONTO_METRICS_ADDR: localhost: want host:port", 46), 0);
    setenv("SKONTO_METRICS_ADDR", "127.0.0.1:0", 1);
    http = sk_metrics_http_worker(s_register_one, NULL, &err);
    assert_non_null(http);
    assert_true(atoi(sk_metrics_http_address(http) + 10) > 0);
    sk_metrics_http_destroy(&http);
    unsetenv("SKONTO_METRICS_ADDR");
    http = sk_metrics_http_worker(s_register_one, NULL, &err);
    assert_non_null(http);
    assert_string_equal(sk_metrics_http_address(http), ""); /* unset: nothing served */
    char *text = sk_metrics_render(sk_metrics_http_registry(http), NULL);
    assert_string_equal(text, "# HELP skonto_one_total one\n# TYPE skonto_one_total counter\n"
                              "skonto_one_total 0\n");
    free(text);
    sk_metrics_http_destroy(&http);
    /* what the worker's registration says wrong is the error */
    assert_null(sk_metrics_http_worker(s_register_bad, NULL, &err));
    assert_string_equal(err.code, "bad_metric");
    sk_metrics_destroy(&m);
}

/* ---------------------------------------------------------------- by kind */

static void test_event_counters_by_kind(void **state)
{
    (void)state;
    sk_metrics_t *m = sk_metrics_new();
    sk_err_t err;
    sk_event_counters_t *ec = sk_event_counters_new(m, "skonto_t_events_total", "by kind",
                                                    (const char *[]){"ok", "bad", NULL}, &err);
    assert_non_null(ec);
    Skonto__V1__Envelope env = SKONTO__V1__ENVELOPE__INIT;
    env.body_case = SKONTO__V1__ENVELOPE__BODY_PAYMENT_RECEIVED;
    sk_event_counters_inc(ec, &env, 0);
    sk_event_counters_inc(ec, &env, 0);
    sk_event_counters_inc(ec, NULL, 1); /* undecodable */
    sk_event_counters_inc(ec, &env, 2); /* no such outcome: ignored */
    char *text = sk_metrics_render(m, NULL);
    assert_non_null(
        strstr(text, "skonto_t_events_total{kind=\"payment_received\",outcome=\"ok\"} 2\n"));
    assert_non_null(strstr(text, "skonto_t_events_total{kind=\"unknown\",outcome=\"bad\"} 1\n"));
    /* every kind is there from the start */
    assert_non_null(
        strstr(text, "skonto_t_events_total{kind=\"order_shipped\",outcome=\"ok\"} 0\n"));
    assert_non_null(
        strstr(text, "skonto_t_events_total{kind=\"order_cancelled\",outcome=\"bad\"} 0\n"));
    free(text);
    sk_event_counters_destroy(&ec);
    sk_metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge_text),
        cmocka_unit_test(test_histogram_text),
        cmocka_unit_test(test_default_buckets_without_labels),
        cmocka_unit_test(test_registration_errors),
        cmocka_unit_test(test_concurrent_increments_are_exact),
        cmocka_unit_test(test_address_rule),
        cmocka_unit_test(test_server_address_and_env),
        cmocka_unit_test(test_event_counters_by_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
