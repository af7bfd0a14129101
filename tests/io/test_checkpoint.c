/* Tests of common/io/sk_checkpoint: a checkpoint signed with a known key is
 * byte for byte the note PyNaCl computes from docs/AUDIT.md (an independent
 * implementation), it verifies with the public key alone, any other byte is
 * refused, and the secret key file is refused when others may read it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_checkpoint.h"

#define NAME "skonto.example/audit"
/* seed 00 01 .. 1f; computed with PyNaCl from the spec, not with this code */
#define SKEY "PRIVATE+KEY+" NAME "+506164a3+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
#define VKEY NAME "+506164a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
#define ROOT8 "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
#define NOTE8                                                                                      \
    NAME "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime-ms 1764547200000\n\n"            \
         "\xe2\x80\x94 " NAME " UGFko3tdu5d+F8DcTeAX6W+keAC33T3dvmE/ccH9bZJJ8/y9r6HjgPbT4X3wSId9"  \
         "vi20JofIyJHiFdiW90smnlIpcw0=\n"

static char dir[64];

static int s_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sk_cp_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_path(char *buf, size_t n, const char *file)
{
    snprintf(buf, n, "%s/%s", dir, file);
}

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void s_root8(sk_hash_t root)
{
    const char *hex = ROOT8;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        root[i] = (uint8_t)v;
    }
}

static void test_known_key_signs_the_spec_bytes(void **state)
{
    (void)state;
    char sk_path[128];
    s_path(sk_path, sizeof sk_path, "known.key");
    s_write(sk_path, SKEY, 0600);
    sk_err_t err;
    sk_checkpoint_signer_t *s = sk_checkpoint_signer_load(sk_path, &err);
    assert_non_null(s);
    assert_string_equal(sk_checkpoint_signer_name(s), NAME);
    sk_hash_t root;
    s_root8(root);
    char note[SK_CHECKPOINT_MAX];
    size_t len;
    assert_int_equal(sk_checkpoint_sign(s, 8, root, 1764547200000, note, sizeof note, &len, &err),
                     0);
    assert_string_equal(note, NOTE8);
    assert_int_equal(len, strlen(NOTE8));
    sk_checkpoint_signer_destroy(&s);
    assert_null(s);

    sk_checkpoint_verifier_t *v = sk_checkpoint_verifier_parse(VKEY, strlen(VKEY), &err);
    assert_non_null(v);
    sk_checkpoint_t cp;
    assert_int_equal(sk_checkpoint_verify(v, NOTE8, strlen(NOTE8), &cp, &err), 0);
    assert_string_equal(cp.origin, NAME);
    assert_int_equal(cp.size, 8);
    assert_int_equal(cp.time_ms, 1764547200000);
    assert_memory_equal(cp.root, root, 32);
    sk_checkpoint_verifier_destroy(&v);
}

/* Every single byte changed, dropped or added is refused: one spelling only. */
static void test_any_other_byte_is_refused(void **state)
{
    (void)state;
    sk_err_t err;
    sk_checkpoint_verifier_t *v = sk_checkpoint_verifier_parse(VKEY, strlen(VKEY), &err);
    assert_non_null(v);
    const char *good = NOTE8;
    size_t n = strlen(good);
    char buf[SK_CHECKPOINT_MAX + 2];
    sk_checkpoint_t cp;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, good, n);
        buf[i] ^= 0x01;
        assert_int_equal(sk_checkpoint_verify(v, buf, n, &cp, &err), -1);
        /* dropped byte */
        memcpy(buf, good, i);
        memcpy(buf + i, good + i + 1, n - i - 1);
        assert_int_equal(sk_checkpoint_verify(v, buf, n - 1, &cp, &err), -1);
    }
    memcpy(buf, good, n);
    buf[n] = '\n';
    assert_int_equal(sk_checkpoint_verify(v, buf, n + 1, &cp, &err), -1);
    assert_string_equal(err.code, "bad_checkpoint");
    /* the same values spelled otherwise: a leading zero, CRLF */
    const char *other[] = {
        NAME "\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime-ms 1764547200000\n\n",
        NAME "\r\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime-ms 1764547200000\n\n",
    };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(sk_checkpoint_verify(v, other[i], strlen(other[i]), &cp, &err), -1);
        assert_string_equal(err.code, "bad_checkpoint");
    }
    /* a changed size with the signature left in place is a bad signature */
    memcpy(buf, good, n);
    buf[strlen(NAME) + 1] = '9';
    assert_int_equal(sk_checkpoint_verify(v, buf, n, &cp, &err), -1);
    assert_string_equal(err.code, "bad_signature");
    sk_checkpoint_verifier_destroy(&v);
}

static void test_keygen_and_modes(void **state)
{
    (void)state;
    char sk_path[128], pk_path[128], other_sk[128], other_pk[128];
    s_path(sk_path, sizeof sk_path, "audit.key");
    s_path(pk_path, sizeof pk_path, "audit.pub");
    s_path(other_sk, sizeof other_sk, "other.key");
    s_path(other_pk, sizeof other_pk, "other.pub");
    sk_err_t err;
    assert_int_equal(sk_checkpoint_keygen("skonto.test/audit", sk_path, pk_path, &err), 0);
    struct stat st;
    assert_int_equal(stat(sk_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* never over an existing key */
    assert_int_equal(sk_checkpoint_keygen("skonto.test/audit", sk_path, pk_path, &err), -1);
    assert_int_equal(sk_checkpoint_keygen("bad name", other_sk, other_pk, &err), -1);
    assert_string_equal(err.code, "bad_key_name");
    assert_int_equal(sk_checkpoint_keygen("skonto.test/audit", other_sk, other_pk, &err), 0);

    sk_checkpoint_signer_t *s = sk_checkpoint_signer_load(sk_path, &err);
    assert_non_null(s);
    sk_checkpoint_verifier_t *v = sk_checkpoint_verifier_load(pk_path, &err);
    assert_non_null(v);
    sk_checkpoint_verifier_t *w = sk_checkpoint_verifier_load(other_pk, &err);
    assert_non_null(w);
    sk_hash_t root;
    sk_merkle_empty_root(root);
    char note[SK_CHECKPOINT_MAX];
    size_t len;
    /* an empty log is checkpointed too (truncation through unsealed epochs) */
    assert_int_equal(sk_checkpoint_sign(s, 0, root, 5, note, sizeof note, &len, &err), 0);
    sk_checkpoint_t cp;
    assert_int_equal(sk_checkpoint_verify(v, note, len, &cp, &err), 0);
    assert_int_equal(cp.size, 0);
    /* same name, another key: refused by its key hash */
    assert_int_equal(sk_checkpoint_verify(w, note, len, &cp, &err), -1);
    assert_string_equal(err.code, "bad_checkpoint");
    sk_checkpoint_signer_destroy(&s);

    /* group- or world-readable: refused, and the message quotes no key bytes */
    char text[512];
    FILE *f = fopen(sk_path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_int_equal(chmod(sk_path, 0640), 0);
    s = sk_checkpoint_signer_load(sk_path, &err);
    assert_null(s);
    assert_string_equal(err.code, "bad_key_file");
    assert_non_null(strstr(err.msg, "0640"));
    /* PRIVATE+KEY+NAME+HASH+BASE64: the name has no '+', the base64 may */
    char *plus = text;
    for (int i = 0; i < 4; i++)
        plus = strchr(plus, '+') + 1;
    const char *secret_b64 = plus;
    assert_null(strstr(err.msg, "PRIVATE"));
    char head[12];
    memcpy(head, secret_b64, 11);
    head[11] = '\0';
    assert_null(strstr(err.msg, head));
    /* a damaged key file (its hash no longer matches) */
    assert_int_equal(chmod(sk_path, 0600), 0);
    plus[-2] = plus[-2] == '0' ? '1' : '0'; /* the key hash's last digit */
    s_write(sk_path, text, 0600);
    assert_null(sk_checkpoint_signer_load(sk_path, &err));
    assert_string_equal(err.code, "bad_key_file");
    char missing[128];
    s_path(missing, sizeof missing, "missing.key");
    assert_null(sk_checkpoint_signer_load(missing, &err));
    assert_string_equal(err.code, "bad_key_file");
    sk_checkpoint_verifier_destroy(&v);
    sk_checkpoint_verifier_destroy(&w);
}

static void test_split_saved_notes(void **state)
{
    (void)state;
    char two[2 * SK_CHECKPOINT_MAX];
    snprintf(two, sizeof two, "%s%s", NOTE8, NOTE8);
    size_t n, len = strlen(two);
    assert_int_equal(sk_checkpoint_split(two, len, &n, NULL), 0);
    assert_int_equal(n, strlen(NOTE8));
    assert_int_equal(sk_checkpoint_split(two + n, len - n, &n, NULL), 0);
    assert_int_equal(n, strlen(NOTE8));
    assert_int_equal(sk_checkpoint_split("", 0, &n, NULL), 0);
    assert_int_equal(n, 0);
    sk_err_t err;
    assert_int_equal(sk_checkpoint_split(NOTE8, strlen(NOTE8) - 1, &n, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_key_signs_the_spec_bytes),
        cmocka_unit_test(test_any_other_byte_is_refused),
        cmocka_unit_test(test_keygen_and_modes),
        cmocka_unit_test(test_split_saved_notes),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
