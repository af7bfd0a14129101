/* sk_mailer — hands a built mail (sk_mime) to where it goes, one interface
 * and two ways:
 *
 *   maildir (SKONTO_MAILDIR, the default without SKONTO_SMTP_URL): the mail is
 *     written to DIR/tmp/NAME, fsync'd, renamed into DIR/new/NAME and the
 *     new/ directory fsync'd, so a reader never sees half a mail and a mail
 *     reported sent survives a crash. NAME is unique per the maildir spec
 *     (seconds.M<usec>P<pid>Q<count>.<host>); tmp/ new/ cur/ are created
 *     (0700) when missing. The file holds the exact bytes given (CRLF lines).
 *   SMTP with libcurl (SKONTO_SMTP_URL smtp://host:port or smtps://...;
 *     SKONTO_SMTP_USER, SKONTO_SMTP_PASSWORD_FILE; SKONTO_SMTP_STARTTLS=1
 *     requires STARTTLS, CURLUSESSL_ALL): one easy handle, so one connection is
 *     reused from mail to mail (the next starts at MAIL FROM); libcurl closes
 *     it after any error and the next send connects again.
 *
 * TLS (smtps://, or smtp:// with STARTTLS) always verifies the server's
 * certificate chain and that it names the URL's host (CURLOPT_SSL_VERIFYPEER
 * 1, VERIFYHOST 2, never turned off), against SKONTO_SMTP_CA_FILE (a PEM file
 * of CA certificates, CURLOPT_CAINFO) or, unset, the system's store. A
 * certificate that fails either check ends the connection before anything
 * but EHLO and STARTTLS went over it: no AUTH, no MAIL, no body.
 *
 * Every send ends in one of four outcomes, which is what the caller acts on:
 *   SENT       the server accepted the mail (250 after the data) / it is in new/
 *   RETRY      nothing was accepted and trying later may work: a 4xx answer, a
 *              refused or lost connection before the body was sent, a timeout,
 *              a disk error of the maildir
 *   PERMANENT  a 5xx answer before the body or to it: trying again will not
 *              help; detail holds the server's own text ("550 5.1.1 no such user")
 *   AMBIGUOUS  the connection failed after the whole body was sent and before
 *              the server's answer: the mail may have arrived. A retry may
 *              duplicate it, so it must carry the same Message-ID.
 * An SMTP login the server refuses (535) is RETRY, not PERMANENT: it is the
 * sender's configuration, not this mail or its address, that is wrong. So is
 * every failure to set up the session: STARTTLS required and not offered (or
 * refused, even with 5xx), a certificate that is not trusted or does not name
 * the host. These are RETRY with the reason in detail ("535 5.7.8 ...",
 * "the server offers no STARTTLS ..."): a 5xx there must not mark the
 * customer's address undeliverable, and the mail goes out once the operator
 * fixes the server or the settings. Nothing of the mail has been sent then.
 * The outcome of libcurl's error is read with CURLINFO_RESPONSE_CODE and the
 * server's last reply line, and only a reply that came after the body
 * settles a transfer that got that far (a stale 354 is not an answer,
 * curl issue 8356).
 *
 * Not thread-safe: one sk_mailer_t per sending thread. */
#ifndef SK_MAILER_H
#define SK_MAILER_H

#include <stdbool.h>
#include <stddef.h>

#include "sk_error.h"

typedef enum {
    SK_SEND_SENT = 0,
    SK_SEND_RETRY = 1,
    SK_SEND_PERMANENT = 2,
    SK_SEND_AMBIGUOUS = 3,
} sk_send_outcome_t;

typedef struct {
    sk_send_outcome_t outcome;
    long smtp_code;   /* the last SMTP reply code seen (0: none, maildir) */
    long connects;    /* connections this send opened: 0 when it reused one */
    char detail[256]; /* the server's reply line, or what failed */
} sk_send_result_t;

typedef struct {
    const char *maildir;            /* used when smtp_url is NULL */
    const char *smtp_url;           /* smtp://host:port or smtps://host:port */
    const char *smtp_user;          /* NULL: no AUTH */
    const char *smtp_password_file; /* the password is its first line */
    bool starttls;                  /* require STARTTLS (smtp:// only) */
    const char *smtp_ca_file;       /* PEM CA certificates to trust; NULL: the system's */
    long timeout_ms;                /* whole-send limit, SMTP only; 0: 60 s */
    const char *from;               /* the From mailbox (SKONTO_MAIL_FROM) */
    const char *reply_to;           /* the Reply-To mailbox or NULL (SKONTO_MAIL_REPLY_TO) */
} sk_mailer_opts_t;

/* Fills opts from SKONTO_SMTP_URL, SKONTO_SMTP_USER, SKONTO_SMTP_PASSWORD_FILE,
 * SKONTO_SMTP_STARTTLS, SKONTO_SMTP_CA_FILE (a readable file), SKONTO_MAILDIR (default_maildir when
 * unset), SKONTO_MAIL_FROM (default SK_MAIL_FROM_DEFAULT) and SKONTO_MAIL_REPLY_TO through
 * sk_config; From and Reply-To must each be one mailbox. -1 with err ("bad_config") naming a bad
 * variable. The strings point into the environment. */
int sk_mailer_opts_from_env(sk_mailer_opts_t *opts, const char *default_maildir, sk_err_t *err);

#define SK_MAIL_FROM_DEFAULT "Skonto <skonto@localhost>"

typedef struct sk_mailer sk_mailer_t;

/* NULL with err: "bad_config" (no maildir and no URL, a URL that is neither
 * smtp:// nor smtps://, an unreadable password file), "maildir" (the
 * directories cannot be created), "curl". */
sk_mailer_t *sk_mailer_new(const sk_mailer_opts_t *opts, sk_err_t *err);
void sk_mailer_destroy(sk_mailer_t **self_p);

/* Delivers mail[0..len) from envelope address `from` to `rcpt` (addr-specs,
 * sk_mime_addr_spec), filling *res; returns res->outcome. */
sk_send_outcome_t sk_mailer_send(sk_mailer_t *self, const char *from, const char *rcpt,
                                 const char *mail, size_t len, sk_send_result_t *res);

/* "sent", "retry", "permanent", "ambiguous". */
const char *sk_send_outcome_name(sk_send_outcome_t o);

#endif
