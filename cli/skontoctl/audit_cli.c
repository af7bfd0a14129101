/* audit_cli — see audit_cli.h. */
#include "audit_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_msg.h"
#include "cli_opts.h"
#include "cli_output.h"
#include "sk_grow.h"

#define S_CHECKPOINTS_FILE_MAX (64u << 20)

sk_checkpoint_verifier_t *sk_cli_audit_pub(const char *verb, const char *pub, int *rc)
{
    const char *from = "--pub";
    if (!pub || !*pub) {
        pub = getenv("SKONTO_AUDIT_PUBLIC_KEY");
        from = "SKONTO_AUDIT_PUBLIC_KEY";
    }
    if (!pub || !*pub) {
        *rc = sk_cli_usage_error(verb, "which public key? give --pub KEY or set "
                                       "SKONTO_AUDIT_PUBLIC_KEY (the log's .pub file or its text)");
        return NULL;
    }
    sk_err_t err;
    sk_err_clear(&err);
    struct stat sb;
    sk_checkpoint_verifier_t *v = stat(pub, &sb) == 0
                                      ? sk_checkpoint_verifier_load(pub, &err)
                                      : sk_checkpoint_verifier_parse(pub, strlen(pub), &err);
    if (!v) {
        char q[72];
        *rc = sk_cli_usage_error(verb, "%s \"%s\": %s", from, sk_cli_shorten(pub, q, sizeof q),
                                 err.msg);
    }
    return v;
}

int sk_cli_notes_add(sk_cli_notes_t *ns, const char *text, size_t len)
{
    sk_audit_note_t *a = sk_grow(ns->notes, ns->n, &ns->cap, sizeof *a, 64);
    if (!a)
        return -1;
    ns->notes = a;
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    ns->notes[ns->n].text = copy;
    ns->notes[ns->n++].len = len;
    return 0;
}

void sk_cli_notes_free(sk_cli_notes_t *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free((char *)ns->notes[i].text);
    free(ns->notes);
    memset(ns, 0, sizeof *ns);
}

int sk_cli_notes_read(const char *verb, const char *path, sk_cli_notes_t *ns)
{
    char *buf;
    size_t len;
    sk_err_t err;
    sk_err_clear(&err);
    if (sk_cli_read_file(path, S_CHECKPOINTS_FILE_MAX, &buf, &len, &err) < 0)
        return sk_cli_opt_error(verb, "checkpoints", path, "%s", err.msg);
    int rc = SK_EXIT_OK;
    for (size_t off = 0; off < len;) {
        size_t nl;
        if (sk_checkpoint_split(buf + off, len - off, &nl, &err) != 0 || nl == 0) {
            rc = sk_cli_opt_error(verb, "checkpoints", path,
                                  "at byte %zu: %s (want signed notes one after another)", off,
                                  err.msg);
            break;
        }
        if (sk_cli_notes_add(ns, buf + off, nl) < 0) {
            rc = sk_cli_fail(verb, "out of memory");
            break;
        }
        off += nl;
    }
    free(buf);
    return rc;
}

void sk_cli_verdict_print(const sk_audit_result_t *res)
{
    if (!strcmp(res->reason, "ok")) {
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", res->root[i]);
        printf("ok size=%" PRIu64 " root=%s checkpoints=%" PRIu64 "\n", res->size, hex,
               res->checkpoints_verified);
    } else {
        printf("wrong reason=%s entry=%" PRId64 " checkpoint=%" PRId64 ": %s\n", res->reason,
               res->entry, res->checkpoint, res->msg);
    }
}

