/* audit_cli — what `skontoctl audit verify` (audit.c) and `audit follow`
 * (audit_follow.c) share: the log's public key, sets of checkpoint notes
 * (the log's own, a saved file's) and the verdict line. */
#ifndef SK_AUDIT_CLI_H
#define SK_AUDIT_CLI_H

#include <stddef.h>

#include "sk_auditverify.h"
#include "sk_checkpoint.h"

/* The public key from --pub (a file, or the key text), else
 * $SKONTO_AUDIT_PUBLIC_KEY. NULL after a usage line (*rc its status). */
sk_checkpoint_verifier_t *sk_cli_audit_pub(const char *verb, const char *pub, int *rc);

/* Checkpoint notes, each an owned copy. */
typedef struct {
    sk_audit_note_t *notes;
    size_t n, cap;
} sk_cli_notes_t;

int sk_cli_notes_add(sk_cli_notes_t *ns, const char *text, size_t len); /* 0, -1 ENOMEM */
void sk_cli_notes_free(sk_cli_notes_t *ns);
/* Adds every note of a file of saved checkpoints; an exit status (said). */
int sk_cli_notes_read(const char *verb, const char *path, sk_cli_notes_t *ns);

/* "ok size=N root=HEX checkpoints=K" or "wrong reason=R entry=I checkpoint=C: msg". */
void sk_cli_verdict_print(const sk_audit_result_t *res);

/* `skontoctl audit follow` (argv[0] = "follow"). */
int sk_cli_audit_follow(int argc, char **argv);

#endif
