/* cli_opts — option scanning, value parsers, `show ID` words (see cli_opts.h). */
#include "cli_opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

void sk_cli_scan_init(sk_cli_scan_t *sc, const char *verb, const sk_cli_opt_t *opts, int argc,
                      char **argv)
{
    memset(sc, 0, sizeof *sc);
    sc->verb = verb;
    sc->opts = opts;
    sc->argc = argc;
    sc->argv = argv;
    sc->next = 1;
}

int sk_cli_scan_opt(sk_cli_scan_t *sc, const char *hint, const char **value)
{
    int o = sk_cli_scan_next(sc, value);
    if (o != SK_CLI_WORD)
        return o;
    sk_cli_usage_error(sc->verb, "unexpected \"%s\" (%s)", *value, hint);
    return SK_CLI_BAD;
}

bool sk_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    }
    return false;
}

int sk_cli_scan_next(sk_cli_scan_t *sc, const char **value)
{
    char q[80];
    *value = NULL;
    for (;;) {
        if (sc->next >= sc->argc)
            return SK_CLI_END;
        const char *arg = sc->argv[sc->next++];
        if (sc->words_only || arg[0] != '-' || !strcmp(arg, "-")) {
            *value = arg;
            return SK_CLI_WORD;
        }
        if (!strcmp(arg, "--")) {
            sc->words_only = true;
            continue;
        }
        if (arg[1] != '-')
            return sk_cli_usage_error(sc->verb,
                                      "unknown option \"%s\" (options are long, like "
                                      "--json; try skontoctl %s --help)",
                                      sk_cli_shorten(arg, q, sizeof q), sc->verb),
                   SK_CLI_BAD;
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int idx = -1;
        for (int i = 0; i < SK_CLI_MAX_OPTS && sc->opts[i].name; i++)
            if (strlen(sc->opts[i].name) == len && !memcmp(sc->opts[i].name, name, len)) {
                idx = i;
                break;
            }
        if (idx < 0) {
            char shown[80];
            snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), name);
            return sk_cli_usage_error(sc->verb, "unknown option \"--%s\" (try skontoctl %s --help)",
                                      sk_cli_shorten(shown, q, sizeof q), sc->verb),
                   SK_CLI_BAD;
        }
        const sk_cli_opt_t *o = &sc->opts[idx];
        if (sc->seen[idx] && !o->repeatable)
            return sk_cli_usage_error(sc->verb, "--%s given twice (give it once)", o->name),
                   SK_CLI_BAD;
        sc->seen[idx]++;
        if (!o->has_value) {
            if (eq)
                return sk_cli_usage_error(sc->verb, "--%s takes no value (got \"%s\")", o->name,
                                          sk_cli_shorten(eq + 1, q, sizeof q)),
                       SK_CLI_BAD;
            return idx;
        }
        if (eq) {
            *value = eq + 1;
            return idx;
        }
        /* `--amount -5` passes "-5" as the value (and gets "must not be
         * negative"); `--terms --json` means the value was forgotten. */
        if (sc->next >= sc->argc || !strncmp(sc->argv[sc->next], "--", 2))
            return sk_cli_usage_error(sc->verb, "--%s needs a value (try skontoctl %s --help)",
                                      o->name, sc->verb),
                   SK_CLI_BAD;
        *value = sc->argv[sc->next++];
        return idx;
    }
}

/* ---- small parsers ------------------------------------------------------ */

int sk_cli_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    bool neg = false;
    if (*p == '-' && min < 0) {
        neg = true;
        p++;
    }
    if (!*p || strlen(p) > 18)
        return -1;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int sk_cli_read_file(const char *path, size_t max, char **buf, size_t *len, sk_err_t *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sk_err_set(err, "bad_file", "cannot open: %s", strerror(errno));
    char *data = malloc(max + 1);
    if (!data) {
        fclose(f);
        return sk_err_set(err, "bad_file", "cannot read: out of memory");
    }
    size_t n = fread(data, 1, max + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    if (fclose(f) != 0 && !read_errno)
        read_errno = errno;
    if (read_errno) {
        free(data);
        return sk_err_set(err, "bad_file", "cannot read: %s", strerror(read_errno));
    }
    if (n > max) {
        free(data);
        return sk_err_set(err, "bad_file", "larger than %zu bytes", max);
    }
    data[n] = '\0';
    *buf = data;
    *len = n;
    return 0;
}

bool sk_cli_id_ok(const char *id)
{
    return sk_event_check_id("id", id, strlen(id), true, NULL) == 0;
}

int sk_cli_show_word(const char *verb, const char *usage, const char **words, int *nwords,
                     const char *word)
{
    if (*nwords == 2)
        return sk_cli_usage_error(verb, "unexpected \"%s\" (usage: %s)", word, usage);
    words[(*nwords)++] = word;
    return SK_EXIT_OK;
}

int sk_cli_show_check(const char *verb, const char *usage, const char *const *words, int nwords)
{
    if (nwords == 0 || strcmp(words[0], "show")) {
        if (nwords)
            return sk_cli_usage_error(verb, "usage: %s", usage);
        return sk_cli_usage_error(verb, "usage: %s (skontoctl %s --help)", usage, verb);
    }
    /* "order" -> ORDER_ID, as the usage line names it */
    char id[32];
    size_t n = 0;
    for (; verb[n] && n + 4 < sizeof id; n++)
        id[n] = (char)toupper((unsigned char)verb[n]);
    memcpy(id + n, "_ID", 4);
    if (nwords < 2)
        return sk_cli_usage_error(verb, "which %s? usage: skontoctl %s show %s", verb, verb, id);
    /* ingest's rule for ids, so any id ingest accepted can be looked up */
    char field[48];
    sk_err_t err;
    snprintf(field, sizeof field, "%s id", verb);
    if (sk_event_check_id(field, words[1], strlen(words[1]), true, &err))
        return sk_cli_usage_error(verb, "%s", err.msg);
    return SK_EXIT_OK;
}
