/* test_auth — common/io/sk_auth: key files, the registry, the ZAP handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "sk_auth.h"

static char s_dir[] = "/tmp/sk-test-auth-XXXXXX";

static void s_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", s_dir, name);
}

static void s_write(const char *name, const char *text)
{
    char p[256];
    s_path(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_keypair_files(void **state)
{
    (void)state;
    sk_keypair_t kp, back;
    sk_err_t err;
    char prefix[256], p[256], pub[SK_AUTH_Z85_LEN + 1];
    s_path(prefix, sizeof prefix, "k1");
    assert_int_equal(sk_auth_keypair_new(&kp, &err), 0);
    assert_int_equal(sk_auth_keypair_save(&kp, prefix, "test key", &err), 0);
    s_path(p, sizeof p, "k1.key");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* The public key is derived from the secret file alone. */
    assert_int_equal(sk_auth_keypair_load(p, &back, &err), 0);
    assert_string_equal(back.public_key, kp.public_key);
    s_path(p, sizeof p, "k1.pub");
    assert_int_equal(sk_auth_key_arg(p, pub, &err), 0);
    assert_string_equal(pub, kp.public_key);
    assert_int_equal(sk_auth_key_arg(kp.public_key, pub, &err), 0);
    /* Never overwritten. */
    assert_int_equal(sk_auth_keypair_save(&kp, prefix, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "exists"));
    /* A secret key others can read is refused. */
    s_path(p, sizeof p, "k1.key");
    chmod(p, 0644);
    assert_int_equal(sk_auth_keypair_load(p, &back, &err), -1);
    assert_non_null(strstr(err.msg, "chmod 600"));
    s_write("bad.key", "# nothing here but\nnot-a-key\n");
    s_path(p, sizeof p, "bad.key");
    assert_int_equal(sk_auth_key_read(p, pub, &err), -1);
    assert_non_null(strstr(err.msg, "not a Z85 CURVE key"));
}

static void test_registry(void **state)
{
    (void)state;
    sk_keypair_t a, b;
    sk_err_t err;
    assert_int_equal(sk_auth_keypair_new(&a, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&b, &err), 0);
    char text[512], p[256];
    snprintf(text, sizeof text, "# registry\n\n%s erp-1 erp\n  %s\taudit.bo auditor # note\n",
             a.public_key, b.public_key);
    s_write("reg", text);
    s_path(p, sizeof p, "reg");
    sk_registry_t *reg = sk_registry_load(p, &err);
    assert_non_null(reg);
    assert_int_equal(sk_registry_size(reg), 2);
    uint8_t key[32];
    zmq_z85_decode(key, b.public_key);
    const sk_principal_t *pr = sk_registry_find(reg, key);
    assert_non_null(pr);
    assert_string_equal(pr->user, "audit.bo");
    assert_int_equal(pr->role, SK_ROLE_AUDITOR);
    sk_registry_destroy(&reg);
    assert_null(reg);

    const char *k = a.public_key;
    char cases[5][256];
    snprintf(cases[0], sizeof cases[0], "%s erp-1 manager\n", k);
    snprintf(cases[1], sizeof cases[1], "%s erp-1\n", k);
    snprintf(cases[2], sizeof cases[2], "# c\n%s bad/user erp\n", k);
    snprintf(cases[3], sizeof cases[3], "%s x erp\n%s y erp\n", k, k);
    snprintf(cases[4], sizeof cases[4], "short x erp\n");
    static const char *const want[5] = {
        "reg:1: role \"manager\"", "reg:1: want <public-key-z85> <user-id> <role>",
        "reg:2: user id", "reg:2: key registered twice", "reg:1: not a Z85 CURVE public key"};
    for (size_t i = 0; i < 5; i++) {
        s_write("reg", cases[i]);
        assert_null(sk_registry_load(p, &err));
        if (!strstr(err.msg, want[i]))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, want[i]);
    }
}

static void test_endpoint_is_local(void **state)
{
    (void)state;
    assert_true(sk_auth_endpoint_is_local("tcp://127.0.0.1:7750"));
    assert_true(sk_auth_endpoint_is_local("tcp://127.1.2.3:1"));
    assert_true(sk_auth_endpoint_is_local("tcp://localhost:7750"));
    assert_true(sk_auth_endpoint_is_local("tcp://[::1]:7750"));
    assert_true(sk_auth_endpoint_is_local("ipc:///tmp/x.sock"));
    assert_false(sk_auth_endpoint_is_local("tcp://*:7750"));
    assert_false(sk_auth_endpoint_is_local("tcp://0.0.0.0:7750"));
    assert_false(sk_auth_endpoint_is_local("tcp://10.0.0.1:7750"));
    assert_false(sk_auth_endpoint_is_local("tcp://127.0.0.1.evil.com:7750"));
    assert_false(sk_auth_endpoint_is_local("tcp://eth0:7750"));
    assert_false(sk_auth_endpoint_is_local("ws://127.0.0.1:7750"));
}

/* A client with key pair kp connects to the CURVE server at ep and sends
 * "hi"; returns the client socket (the caller closes it). */
static void *s_exchange(void *ctx, const char *ep, const sk_keypair_t *server,
                        const sk_keypair_t *kp)
{
    sk_err_t err;
    void *cli = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(cli, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(sk_auth_curve_client(cli, server->public_key, kp, &err), 0);
    assert_int_equal(zmq_connect(cli, ep), 0);
    zmq_send(cli, "hi", 2, ZMQ_DONTWAIT);
    return cli;
}

static void test_zap_admits_by_role(void **state)
{
    (void)state;
    sk_keypair_t server, erp, aud, rogue;
    sk_err_t err;
    assert_int_equal(sk_auth_keypair_new(&server, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&erp, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&aud, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&rogue, &err), 0);
    char text[512], p[256];
    snprintf(text, sizeof text, "%s erp-1 erp\n%s aud auditor\n", erp.public_key, aud.public_key);
    s_write("reg2", text);
    s_path(p, sizeof p, "reg2");
    sk_registry_t *reg = sk_registry_load(p, &err);
    assert_non_null(reg);

    void *ctx = zmq_ctx_new();
    sk_zap_t *zap = sk_zap_new(ctx, reg, SK_ROLES_SENDERS, NULL, &err);
    assert_non_null(zap);
    void *srv = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(srv, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(sk_auth_curve_server(srv, server.secret_key, &err), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "ipc://%s/zap.sock", s_dir);
    assert_int_equal(zmq_bind(srv, ep), 0);

    const sk_keypair_t *who[3] = {&erp, &aud, &rogue};
    for (int i = 0; i < 3; i++) {
        void *cli = s_exchange(ctx, ep, &server, who[i]);
        zmq_pollitem_t it = {srv, 0, ZMQ_POLLIN, 0};
        int got = zmq_poll(&it, 1, i == 0 ? 3000 : 500);
        if (i == 0) {
            assert_int_equal(got, 1);
            zmq_msg_t id, body;
            zmq_msg_init(&id);
            zmq_msg_init(&body);
            assert_true(zmq_msg_recv(&id, srv, 0) >= 0);
            assert_true(zmq_msg_recv(&body, srv, 0) >= 0);
            const char *user = zmq_msg_gets(&body, "User-Id");
            assert_non_null(user);
            assert_string_equal(user, "erp-1");
            /* and the registered role, set by the handler (issue 9) */
            const char *role = zmq_msg_gets(&body, "Role");
            assert_non_null(role);
            assert_string_equal(role, "erp");
            zmq_msg_close(&id);
            zmq_msg_close(&body);
        } else {
            assert_int_equal(got, 0); /* refused by ZAP: nothing delivered */
        }
        zmq_close(cli);
    }
    zmq_close(srv);
    sk_zap_destroy(&zap);
    assert_null(zap);
    zmq_ctx_term(ctx);
}

/* The reports of sk_zap_report: one per refusal (key, address, reason), none
 * for an admitted client; a full queue drops reports, never a handshake. */
static void test_zap_reports_refusals(void **state)
{
    (void)state;
    sk_keypair_t server, erp, aud, rogue;
    sk_err_t err;
    assert_int_equal(sk_auth_keypair_new(&server, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&erp, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&aud, &err), 0);
    assert_int_equal(sk_auth_keypair_new(&rogue, &err), 0);
    char text[512], p[256];
    snprintf(text, sizeof text, "%s erp-1 erp\n%s aud auditor\n", erp.public_key, aud.public_key);
    s_write("reg3", text);
    s_path(p, sizeof p, "reg3");
    sk_registry_t *reg = sk_registry_load(p, &err);
    assert_non_null(reg);

    void *ctx = zmq_ctx_new();
    sk_zap_t *zap = sk_zap_new(ctx, reg, SK_ROLES_SENDERS, NULL, &err);
    assert_non_null(zap);
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    int zero = 0, one = 1;
    zmq_setsockopt(pull, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(pull, ZMQ_RCVHWM, &one, sizeof one);
    assert_int_equal(zmq_bind(pull, "inproc://test-zap-reports"), 0);
    assert_int_equal(sk_zap_report(zap, "inproc://test-zap-reports", 1, &err), 0);
    void *srv = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(srv, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(sk_auth_curve_server(srv, server.secret_key, &err), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "ipc://%s/zap3.sock", s_dir);
    assert_int_equal(zmq_bind(srv, ep), 0);

    const sk_keypair_t *who[2] = {&rogue, &aud};
    const char *why[2] = {SK_ZAP_UNREGISTERED, SK_ZAP_ROLE_REFUSED};
    for (int i = 0; i < 2; i++) {
        void *cli = s_exchange(ctx, ep, &server, who[i]);
        zmq_pollitem_t it = {pull, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&it, 1, 3000), 1);
        zmq_close(cli); /* no more attempts of this key */
        char f[3][64];
        int len[3];
        for (int k = 0; k < 3; k++) {
            len[k] = zmq_recv(pull, f[k], sizeof f[k] - 1, 0);
            assert_true(len[k] >= 0);
            f[k][len[k]] = '\0';
            int more = 0;
            size_t ml = sizeof more;
            zmq_getsockopt(pull, ZMQ_RCVMORE, &more, &ml);
            assert_int_equal(more, k < 2);
        }
        uint8_t key[32];
        zmq_z85_decode(key, who[i]->public_key);
        assert_int_equal(len[0], 32);
        assert_memory_equal(f[0], key, 32);
        assert_true(len[1] > 0); /* ipc: "localhost:UID:GID:PID" */
        assert_string_equal(f[2], why[i]);
        /* drain what a reconnect may have added */
        while (zmq_poll(&it, 1, 300) == 1)
            for (int more = 1; more;) {
                size_t ml = sizeof more;
                zmq_recv(pull, f[0], sizeof f[0], 0);
                zmq_getsockopt(pull, ZMQ_RCVMORE, &more, &ml);
            }
    }
    /* nobody reads the reports: six rogue connections fill the queue (1) and
     * are dropped, counted (inproc queues hold SNDHWM + RCVHWM), while an admitted client still
     * gets in */
    uint64_t dropped0 = sk_zap_reports_dropped(zap);
    void *r[6];
    for (int k = 0; k < 6; k++)
        r[k] = s_exchange(ctx, ep, &server, &rogue);
    for (int t = 0; t < 50 && sk_zap_reports_dropped(zap) < dropped0 + 2; t++)
        usleep(100 * 1000);
    assert_true(sk_zap_reports_dropped(zap) >= dropped0 + 2);
    for (int k = 0; k < 6; k++)
        zmq_close(r[k]);
    void *cli = s_exchange(ctx, ep, &server, &erp);
    zmq_pollitem_t it = {srv, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 3000), 1);
    zmq_close(cli);
    zmq_close(srv);
    zmq_close(pull);
    sk_zap_destroy(&zap);
    zmq_ctx_term(ctx);
}

static int s_setup(void **state)
{
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keypair_files),        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_endpoint_is_local),    cmocka_unit_test(test_zap_admits_by_role),
        cmocka_unit_test(test_zap_reports_refusals),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
