/* Tests of common/io/sk_mailer without a server: the maildir way (mails whole
 * in new/, nothing left in tmp/, unique names) and the SKONTO_* settings
 * refused with the variable named. SMTP is tested against a real server in
 * tests/e2e/test_remindmail.py. */
#include <dirent.h>
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

#include "sk_mailer.h"

static int s_count(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            if (n < max)
                snprintf(names[n], 256, "%s", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static void test_maildir(void **state)
{
    (void)state;
    char root[] = "/tmp/sk-maildir-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[300];
    snprintf(dir, sizeof dir, "%s/mail", root); /* created by the mailer */
    sk_mailer_opts_t o = {.maildir = dir};
    sk_err_t e = {0};
    sk_mailer_t *m = sk_mailer_new(&o, &e);
    assert_non_null(m);
    const char *mail = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
    sk_send_result_t r;
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            sk_mailer_send(m, "a@example.com", "b@example.com", mail, strlen(mail), &r),
            SK_SEND_SENT);
    assert_string_equal(sk_send_outcome_name(r.outcome), "sent");
    assert_int_equal(strncmp(r.detail, "new/", 4), 0);
    sk_mailer_destroy(&m);
    assert_null(m);

    char names[8][256], path[700];
    snprintf(path, sizeof path, "%s/tmp", dir);
    assert_int_equal(s_count(path, names, 8), 0);
    snprintf(path, sizeof path, "%s/cur", dir);
    assert_int_equal(s_count(path, names, 8), 0);
    snprintf(path, sizeof path, "%s/new", dir);
    assert_int_equal(s_count(path, names, 8), 3); /* three distinct names */
    for (int i = 0; i < 3; i++) {
        assert_non_null(strstr(names[i], ".M"));
        assert_non_null(strchr(names[i], 'P'));
        assert_null(strchr(names[i], ':'));
        char f[2400], got[128] = "";
        snprintf(f, sizeof f, "%s/new/%s", dir, names[i]);
        FILE *fp = fopen(f, "rb");
        assert_non_null(fp);
        size_t n = fread(got, 1, sizeof got - 1, fp);
        fclose(fp);
        got[n] = '\0';
        assert_string_equal(got, mail);
        struct stat st;
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 077, 0); /* mail is private to the worker's user */
        unlink(f);
    }
    const char *sub[] = {"tmp", "new", "cur"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
        rmdir(path);
    }
    rmdir(dir);
    rmdir(root);
}

/* A maildir that cannot be made is an error at start, not a lost mail later. */
static void test_maildir_unusable(void **state)
{
    (void)state;
    sk_mailer_opts_t o = {.maildir = "/proc/no-such-place/mail"};
    sk_err_t e = {0};
    assert_null(sk_mailer_new(&o, &e));
    assert_string_equal(e.code, "maildir");
    sk_mailer_opts_t none = {0};
    assert_null(sk_mailer_new(&none, &e));
    assert_string_equal(e.code, "bad_config");
}

static void test_settings(void **state)
{
    (void)state;
    sk_mailer_opts_t o;
    sk_err_t e = {0};
    unsetenv("SKONTO_SMTP_URL");
    unsetenv("SKONTO_MAILDIR");
    unsetenv("SKONTO_MAIL_FROM");
    unsetenv("SKONTO_MAIL_REPLY_TO");
    assert_int_equal(sk_mailer_opts_from_env(&o, "/var/mail/x", &e), 0);
    assert_null(o.smtp_url);
    assert_string_equal(o.maildir, "/var/mail/x");
    assert_string_equal(o.from, SK_MAIL_FROM_DEFAULT);
    assert_null(o.reply_to);
    assert_false(o.starttls);

    setenv("SKONTO_SMTP_URL", "smtp://127.0.0.1:2525", 1);
    setenv("SKONTO_SMTP_STARTTLS", "1", 1);
    setenv("SKONTO_MAIL_FROM", "Billing <billing@example.com>", 1);
    setenv("SKONTO_MAIL_REPLY_TO", "sales@example.com", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), 0);
    assert_string_equal(o.smtp_url, "smtp://127.0.0.1:2525");
    assert_true(o.starttls);
    assert_string_equal(o.reply_to, "sales@example.com");

    setenv("SKONTO_SMTP_URL", "http://example.com", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), -1);
    assert_string_equal(e.code, "bad_config");
    assert_non_null(strstr(e.msg, "SKONTO_SMTP_URL \"http://example.com\""));
    setenv("SKONTO_SMTP_URL", "smtps://relay:hunter2@127.0.0.1:465/", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "SKONTO_SMTP_PASSWORD_FILE"));
    assert_null(strstr(e.msg, "hunter2"));
    setenv("SKONTO_SMTP_URL", "smtp://127.0.0.1:2525", 1);
    setenv("SKONTO_SMTP_STARTTLS", "perhaps", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "SKONTO_SMTP_STARTTLS"));
    setenv("SKONTO_SMTP_STARTTLS", "0", 1);
    setenv("SKONTO_MAIL_FROM", "two@example.com, three@example.com", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "SKONTO_MAIL_FROM"));
    setenv("SKONTO_MAIL_FROM", "billing@example.com", 1);
    setenv("SKONTO_SMTP_PASSWORD_FILE", "/no/such/file", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "SKONTO_SMTP_PASSWORD_FILE"));
    unsetenv("SKONTO_SMTP_PASSWORD_FILE");
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), 0);
    assert_null(o.smtp_ca_file); /* unset: the system's store */
    setenv("SKONTO_SMTP_CA_FILE", "/no/such/ca.pem", 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), -1);
    assert_string_equal(e.code, "bad_config");
    assert_non_null(strstr(e.msg, "SKONTO_SMTP_CA_FILE"));
    assert_non_null(strstr(e.msg, "/no/such/ca.pem"));
    char ca[] = "/tmp/sk-ca-XXXXXX";
    int fd = mkstemp(ca);
    assert_true(fd >= 0);
    close(fd);
    setenv("SKONTO_SMTP_CA_FILE", ca, 1);
    assert_int_equal(sk_mailer_opts_from_env(&o, NULL, &e), 0);
    assert_string_equal(o.smtp_ca_file, ca);
    unsetenv("SKONTO_SMTP_CA_FILE");
    unlink(ca);
    unsetenv("SKONTO_SMTP_URL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maildir),
        cmocka_unit_test(test_maildir_unusable),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
