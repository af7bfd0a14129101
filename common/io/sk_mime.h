/* sk_mime — one customer mail as the bytes an SMTP server or a maildir takes,
 * built with GMime 3 (never by hand: line lengths, folding, RFC 2047 and
 * transfer encodings are where hand-built MIME breaks).
 *
 * The message is multipart/alternative with a text/plain and a text/html
 * part, both UTF-8, encoded for a 7-bit path (quoted-printable or base64,
 * GMime picks; g_mime_object_encode with GMIME_ENCODING_CONSTRAINT_7BIT), with
 * CRLF line ends throughout, no line over 998 octets, and headers folded at
 * 78 columns: the subject RFC 2047-encoded when it is not ASCII (GMime never
 * splits a UTF-8 character across encoded words). Headers: From, To, Reply-To
 * (when given), Subject, Date, the given Message-ID, List-Unsubscribe (mailto,
 * RFC 2369, when given), MIME-Version.
 *
 * Measured with GMime 3.2.13 (tests/io/test_mime.c): GMime splits encoded
 * words only at spaces, so a long run of Chinese without one becomes an
 * encoded word longer than RFC 2047's 75 characters (a header line of ~90,
 * far below the 998 every server takes): templates put a space around
 * numbers and dates, as zh-CN text often does. GMime's own *reader* drops
 * the words after a base64 word that ends in '=' padding (it joins adjacent
 * words before decoding); Python's email package and mail clients decode
 * word by word and read the whole subject.
 *
 * Invariants: nothing a caller passes reaches the output unencoded: a header
 * value with CR, LF or another control character, an address that is not
 * exactly one mailbox, a Message-ID that is not id-left@id-right, or a body
 * that is not valid UTF-8 is refused (err code "bad_mail"). Thread-safe
 * (GMime is initialised once). */
#ifndef SK_MIME_H
#define SK_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "sk_error.h"

typedef struct {
    const char *from;        /* "Skonto Billing <billing@example.com>" (SKONTO_MAIL_FROM) */
    const char *reply_to;    /* a mailbox, or NULL (SKONTO_MAIL_REPLY_TO) */
    const char *to;          /* the customer's address */
    const char *to_name;     /* their name (UTF-8), or NULL */
    const char *subject;     /* UTF-8 */
    const char *message_id;  /* "id-left@id-right", or "<id-left@id-right>" as
                              * sk_remind_message_id writes it */
    const char *unsubscribe; /* "mailto:..." for List-Unsubscribe, or NULL */
    int64_t date_unix;       /* the Date header, seconds since the epoch */
    const char *text;        /* UTF-8 text/plain body */
    const char *html;        /* UTF-8 text/html body */
} sk_mime_mail_t;

/* Builds m into a malloc'd buffer *out of *len bytes (also NUL-terminated;
 * the caller frees it). 0, or -1 with err. */
int sk_mime_build(const sk_mime_mail_t *m, char **out, size_t *len, sk_err_t *err);

/* The addr-spec of one mailbox ("Skonto <b@example.com>" -> "b@example.com")
 * into out (n bytes): the SMTP envelope address. 0, or -1 ("bad_mail"). */
int sk_mime_addr_spec(const char *mailbox, char *out, size_t n, sk_err_t *err);

#endif
