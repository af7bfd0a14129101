/* sk_mime — see sk_mime.h. */
#include "sk_mime.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#define S_CODE "bad_mail"
#define S_HEADER_MAX 998

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_init(void)
{
    g_mime_init();
}

/* A header value: present, at most S_HEADER_MAX bytes, valid UTF-8, and
 * without control characters (a CR or LF would inject headers). */
static int s_header_value(const char *what, const char *v, sk_err_t *err)
{
    if (!v || !*v)
        return sk_err_set(err, S_CODE, "%s is empty", what);
    size_t len = strlen(v);
    if (len > S_HEADER_MAX || !g_utf8_validate(v, (gssize)len, NULL))
        return sk_err_set(err, S_CODE, "%s is not UTF-8 text of at most %d bytes", what,
                          S_HEADER_MAX);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return sk_err_set(err, S_CODE, "%s holds a control character", what);
    return 0;
}

/* Parses text as exactly one mailbox (GMime's parser), or NULL with err. */
static InternetAddressList *s_one_mailbox(const char *what, const char *text, sk_err_t *err)
{
    if (s_header_value(what, text, err) != 0)
        return NULL;
    InternetAddressList *l = internet_address_list_parse(NULL, text);
    if (!l || internet_address_list_length(l) != 1 ||
        !INTERNET_ADDRESS_IS_MAILBOX(internet_address_list_get_address(l, 0))) {
        if (l)
            g_object_unref(l);
        char q[SK_ERR_QUOTE_MAX];
        sk_err_set(err, S_CODE, "%s \"%s\": want one address such as name@example.com", what,
                   sk_err_quote(text, strlen(text), q, sizeof q));
        return NULL;
    }
    InternetAddressMailbox *mb = INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(l, 0));
    const char *addr = internet_address_mailbox_get_addr(mb);
    if (!addr || !strchr(addr, '@') || addr[0] == '@' || addr[strlen(addr) - 1] == '@') {
        g_object_unref(l);
        char q[SK_ERR_QUOTE_MAX];
        sk_err_set(err, S_CODE, "%s \"%s\": want one address such as name@example.com", what,
                   sk_err_quote(text, strlen(text), q, sizeof q));
        return NULL;
    }
    return l;
}

int sk_mime_addr_spec(const char *mailbox, char *out, size_t n, sk_err_t *err)
{
    pthread_once(&s_once, s_init);
    InternetAddressList *l = s_one_mailbox("address", mailbox, err);
    if (!l)
        return -1;
    const char *addr = internet_address_mailbox_get_idn_addr(
        INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(l, 0)));
    int rc = 0;
    if ((size_t)snprintf(out, n, "%s", addr) >= n)
        rc = sk_err_set(err, S_CODE, "address longer than %zu bytes", n - 1);
    g_object_unref(l);
    return rc;
}

/* id-left "@" id-right of printable ASCII without brackets, spaces or a second '@'. */
static int s_message_id(const char *id, sk_err_t *err)
{
    size_t len = id ? strlen(id) : 0;
    if (len > 2 && id[0] == '<' && id[len - 1] == '>') { /* "<left@right>" as well */
        id++;
        len -= 2;
    }
    const char *at = id ? strchr(id, '@') : NULL;
    bool ok = len > 2 && len <= 250 && at && at != id && at[1] && !strchr(at + 1, '@');
    ok = ok && at < id + len - 1 && !memchr(at + 1, '@', (size_t)(id + len - at - 1));
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        ok = c > 0x20 && c < 0x7f && !strchr("<>()[]\\,;:\"", c);
    }
    if (!ok)
        return sk_err_set(err, S_CODE, "Message-ID: want left@right in printable ASCII");
    return 0;
}

static int s_body(const char *what, const char *body, sk_err_t *err)
{
    if (!body || !g_utf8_validate(body, -1, NULL))
        return sk_err_set(err, S_CODE, "%s body is not UTF-8 text", what);
    return 0;
}

static GMimeTextPart *s_part(const char *subtype, const char *body)
{
    GMimeTextPart *p = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(p, body); /* sets charset=utf-8 for non-ASCII */
    g_mime_text_part_set_charset(p, "utf-8");
    return p;
}

static int s_check(const sk_mime_mail_t *m, sk_err_t *err)
{
    if (s_header_value("Subject", m->subject, err) != 0 || s_message_id(m->message_id, err) != 0 ||
        s_body("text", m->text, err) != 0 || s_body("HTML", m->html, err) != 0)
        return -1;
    if (m->to_name && *m->to_name && s_header_value("recipient name", m->to_name, err) != 0)
        return -1;
    if (m->unsubscribe &&
        (s_header_value("List-Unsubscribe", m->unsubscribe, err) != 0 ||
         strncmp(m->unsubscribe, "mailto:", 7) != 0 || strpbrk(m->unsubscribe, "<> ")))
        return sk_err_set(err, S_CODE, "List-Unsubscribe: want a mailto: URL without <> or spaces");
    return 0;
}

int sk_mime_build(const sk_mime_mail_t *m, char **out, size_t *len, sk_err_t *err)
{
    pthread_once(&s_once, s_init);
    if (s_check(m, err) != 0)
        return -1;
    InternetAddressList *from = s_one_mailbox("From", m->from, err);
    InternetAddressList *to = from ? s_one_mailbox("To", m->to, err) : NULL;
    InternetAddressList *reply = NULL;
    if (to && m->reply_to && *m->reply_to)
        reply = s_one_mailbox("Reply-To", m->reply_to, err);
    int rc = -1;
    if (!from || !to || (m->reply_to && *m->reply_to && !reply))
        goto done;

    GMimeMessage *msg = g_mime_message_new(TRUE);
    internet_address_list_append(g_mime_message_get_from(msg), from);
    if (m->to_name && *m->to_name)
        internet_address_set_name(internet_address_list_get_address(to, 0), m->to_name);
    internet_address_list_append(g_mime_message_get_to(msg), to);
    if (reply)
        internet_address_list_append(g_mime_message_get_reply_to(msg), reply);
    g_mime_message_set_subject(msg, m->subject, "utf-8");
    /* sk_remind_message_id writes "<r.HEX@DOMAIN>": GMime adds the brackets itself */
    char id[256];
    size_t idlen = strlen(m->message_id);
    if (m->message_id[0] == '<')
        snprintf(id, sizeof id, "%.*s", (int)(idlen - 2), m->message_id + 1);
    else
        snprintf(id, sizeof id, "%s", m->message_id);
    g_mime_message_set_message_id(msg, id);
    GDateTime *date = g_date_time_new_from_unix_utc(m->date_unix);
    g_mime_message_set_date(msg, date);
    g_date_time_unref(date);
    if (m->unsubscribe) {
        char value[1024];
        snprintf(value, sizeof value, "<%s>", m->unsubscribe);
        g_mime_object_set_header(GMIME_OBJECT(msg), "List-Unsubscribe", value, NULL);
    }

    GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
    GMimeTextPart *text = s_part("plain", m->text);
    GMimeTextPart *html = s_part("html", m->html);
    g_mime_multipart_add(alt, GMIME_OBJECT(text));
    g_mime_multipart_add(alt, GMIME_OBJECT(html));
    g_object_unref(text);
    g_object_unref(html);
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(alt));
    g_object_unref(alt);
    /* non-ASCII text is 8bit as set: pick quoted-printable or base64 per part */
    g_mime_object_encode(GMIME_OBJECT(msg), GMIME_ENCODING_CONSTRAINT_7BIT);

    GMimeFormatOptions *fmt = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
    GMimeStream *stream = g_mime_stream_mem_new();
    ssize_t w = g_mime_object_write_to_stream(GMIME_OBJECT(msg), fmt, stream);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
    if (w < 0 || !bytes) {
        sk_err_set(err, S_CODE, "GMime could not write the message");
    } else if (!(*out = malloc(bytes->len + 1))) {
        sk_err_set(err, "no_memory", "out of memory");
    } else {
        memcpy(*out, bytes->data, bytes->len);
        (*out)[bytes->len] = '\0';
        *len = bytes->len;
        rc = 0;
    }
    g_object_unref(stream);
    g_mime_format_options_free(fmt);
    g_object_unref(msg);
done:
    if (from)
        g_object_unref(from);
    if (to)
        g_object_unref(to);
    if (reply)
        g_object_unref(reply);
    return rc;
}
