/* keygen — `skontoctl keygen --out PREFIX [--user U --role R]`: a new CURVE
 * key pair for an ERP, a person or the ingest server (docs/SECURITY.md).
 *
 * Writes PREFIX.key (the secret key, mode 0600) and PREFIX.pub (the public
 * key); never overwrites an existing key. stdout gets exactly one line: the
 * registry line to append to SKONTO_AUTHORIZED_KEYS when --user and --role
 * are given, else the public key alone, so scripts can redirect it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "sk_auth.h"

#define VERB "keygen"

static const sk_cli_opt_t s_opts[] = {
    {"out", true, false},
    {"user", true, false},
    {"role", true, false},
    {NULL, false, false},
};

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: skontoctl keygen --out PREFIX [--user U --role R]\n"
            "\n"
            "Generates a ZeroMQ CURVE key pair: PREFIX.key holds the secret key (mode 0600;\n"
            "keep it where only its owner can read it) and PREFIX.pub the public key.\n"
            "Existing files are never overwritten.\n"
            "\n"
            "With --user and --role, prints the line to add to the key registry\n"
            "(SKONTO_AUTHORIZED_KEYS) on stdout:\n"
            "  <public-key-z85> <user-id> <role>\n"
            "else prints the public key alone.\n"
            "\n"
            "roles: erp, operator (may send events to ingest), sales, sales_director,\n"
            "       finance_director, auditor\n"
            "user ids: 1 to %d characters of A-Z a-z 0-9 . _ @ -\n"
            "\n"
            "The ingest server's own pair is made the same way (without --user): give\n"
            "ingest PREFIX.key as SKONTO_INGEST_SECRET_KEY_FILE and senders PREFIX.pub as\n"
            "SKONTO_INGEST_SERVER_KEY. See docs/SECURITY.md.\n",
            SK_AUTH_USER_MAX);
}

int sk_cmd_keygen(int argc, char **argv)
{
    if (sk_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return SK_EXIT_OK;
    }
    const char *out = NULL, *user = NULL, *role = NULL, *value;
    sk_cli_scan_t sc;
    sk_cli_scan_init(&sc, VERB, s_opts, argc, argv);
    int o;
    while ((o = sk_cli_scan_next(&sc, &value)) != SK_CLI_END) {
        if (o == SK_CLI_BAD)
            return SK_EXIT_USAGE;
        if (o == SK_CLI_WORD)
            return sk_cli_usage_error(VERB, "unexpected argument \"%s\" (skontoctl keygen --help)",
                                      value);
        const char *name = s_opts[o].name;
        if (!strcmp(name, "out"))
            out = value;
        else if (!strcmp(name, "user"))
            user = value;
        else if (!strcmp(name, "role"))
            role = value;
    }
    if (!out || !*out)
        return sk_cli_usage_error(VERB, "where to? give --out PREFIX (writes PREFIX.key and "
                                        "PREFIX.pub)");
    if (!user != !role)
        return sk_cli_usage_error(VERB, "--user and --role go together");
    if (user && !sk_auth_user_valid(user))
        return sk_cli_opt_error(VERB, "user", user, "want 1 to %d of A-Z a-z 0-9 . _ @ -",
                                SK_AUTH_USER_MAX);
    if (role && sk_role_parse(role) == SK_ROLE_NONE)
        return sk_cli_opt_error(VERB, "role", role,
                                "want erp, operator, sales, sales_director, finance_director or "
                                "auditor");

    sk_keypair_t kp;
    sk_err_t err;
    char comment[160];
    if (user)
        snprintf(comment, sizeof comment, "skonto CURVE key of %s (%s)", user, role);
    else
        snprintf(comment, sizeof comment, "skonto CURVE key");
    if (sk_auth_keypair_new(&kp, &err) || sk_auth_keypair_save(&kp, out, comment, &err)) {
        memset(&kp, 0, sizeof kp);
        return sk_cli_fail(VERB, "%s", err.msg);
    }
    memset(kp.secret_key, 0, sizeof kp.secret_key);
    fprintf(stderr, "skontoctl keygen: wrote %s.key (secret, mode 0600) and %s.pub\n", out, out);
    if (user) {
        fprintf(stderr, "skontoctl keygen: add this line to the key registry "
                        "(SKONTO_AUTHORIZED_KEYS):\n");
        printf("%s %s %s\n", kp.public_key, user, role);
    } else {
        printf("%s\n", kp.public_key);
    }
    return sk_cli_finish(VERB);
}
