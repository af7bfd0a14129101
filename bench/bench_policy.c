/* bench_policy — issue 10's benchmark: `skontoctl report policy` over a
 * store of N invoices that went through the running system.
 *
 * Against the stack bench/run.sh starts (SKONTO_BENCH_PROGRAM=
 * skonto-bench-policy bench/run.sh BUILD [options]), through the public
 * interfaces only: C customers and N orders (shipped on the 300 days that
 * end 61 days ago, so every payment date has passed), then payments on the
 * pattern of i mod 10: 0-4 pay in the 1 % window (day 10), 5-6 pay cash in
 * the 2 % window (day 0), 7-8 pay at net (day 60), 9 stay open. Once the
 * discount workers have applied everything, it runs `skontoctl report policy
 * --json` (SKONTOCTL, else the skontoctl beside this program) and prints its
 * wall and CPU time (target: under a second with 1,000,000 invoices).
 *
 * Usage: skonto-bench-policy [--invoices N] [--customers C] [--window W]
 * Env: SKONTO_INGEST_ENDPOINT, SKONTO_REDIS_URL. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "bench_lib.h"
#include "date.h"
#include "keys.h"
#include "sk_redis.h"

#define TARGET_REPORT_S 1.0
#define DRAIN_TIMEOUT_S 900

static long s_arg(int argc, char **argv, int *i)
{
    char *end;
    if (*i + 1 >= argc)
        bench_die("an option needs a value");
    long v = strtol(argv[++*i], &end, 10);
    if (*end || v <= 0)
        bench_die("want a positive number");
    return v;
}

/* Waits until every events stream is empty: the discount workers applied
 * (and deleted) every entry. */
static void s_wait_applied(bench_t *b)
{
    char key[SK_KEY_MAX];
    uint64_t start = bench_now_ns();
    for (;;) {
        long long queued = 0;
        for (int s = 0; s < SK_SHARDS; s++)
            redisAppendCommand(b->redis, "XLEN %s", sk_key_events(key, s));
        for (int s = 0; s < SK_SHARDS; s++) {
            redisReply *r;
            if (redisGetReply(b->redis, (void **)&r) != REDIS_OK || r->type != REDIS_REPLY_INTEGER)
                bench_die("XLEN of the events streams failed");
            queued += r->integer;
            freeReplyObject(r);
        }
        if (queued == 0)
            return;
        if (bench_now_ns() - start > (uint64_t)DRAIN_TIMEOUT_S * 1000000000u)
            bench_die("the discount workers did not apply every event in time");
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
}

/* Runs skontoctl report policy --json with its output to /dev/null: wall
 * and CPU seconds (user + system of the child). */
static int s_time_report(const char *ctl, double *wall, double *cpu)
{
    fflush(stdout); /* else the child's freopen writes the buffer again */
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(ctl, ctl, "report", "policy", "--json", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *wall = (double)(bench_now_ns() - t0) / 1e9;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    long n = 1000000, customers = 20000, window = 20000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--invoices"))
            n = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--customers"))
            customers = s_arg(argc, argv, &i);
        else if (!strcmp(argv[i], "--window"))
            window = s_arg(argc, argv, &i);
        else {
            fprintf(stderr,
                    "usage: skonto-bench-policy [--invoices N] [--customers C] [--window W]\n");
            return 2;
        }
    }
    char ctl[4096];
    const char *env_ctl = getenv("SKONTOCTL");
    if (env_ctl && *env_ctl) {
        snprintf(ctl, sizeof ctl, "%s", env_ctl);
    } else {
        const char *slash = strrchr(argv[0], '/');
        snprintf(ctl, sizeof ctl, "%.*sskontoctl", slash ? (int)(slash - argv[0] + 1) : 0,
                 argv[0]);
    }
    bench_t b = {0};
    bench_connect(&b);

    /* Pre-built: customers, orders, payments. */
    sk_day_t today = (sk_day_t)(time(NULL) / 86400);
    uint64_t seq = 1;
    bench_buf_t *cust = bench_xmalloc(sizeof *cust * (size_t)customers);
    for (long i = 0; i < customers; i++)
        cust[i] = bench_customer_event(i, seq++);
    bench_buf_t *orders = bench_xmalloc(sizeof *orders * (size_t)n);
    bench_buf_t *pays = bench_xmalloc(sizeof *pays * (size_t)n);
    long npays = 0;
    static const int pay_day[10] = {10, 10, 10, 10, 10, 0, 0, 60, 60, -1};
    static const int pay_ppm[10] = {10000, 10000, 10000, 10000, 10000, 20000, 20000, 0, 0, 0};
    for (long i = 0; i < n; i++) {
        char ship[11], paid[11];
        sk_day_t d = today - 61 - (sk_day_t)(i % 300);
        sk_date_format(d, ship, sizeof ship);
        orders[i] = bench_order_event("p", i, customers, seq++, ship);
        int k = (int)(i % 10);
        if (pay_day[k] < 0)
            continue;
        int64_t amount = bench_order_amount(i);
        /* the payable at that rate: the discount is round(amount x rate), half up */
        int64_t disc = (amount * pay_ppm[k] + 500000) / 1000000;
        sk_date_format(d + pay_day[k], paid, sizeof paid);
        pays[npays++] = bench_payment_event("p", i, seq++, paid, amount - disc);
    }

    printf("Skonto policy report benchmark: %ld invoices over %ld customers, %ld paid\n", n,
           customers, npays);
    printf("  storing through ingest and the discount workers ... ");
    fflush(stdout);
    uint64_t t0 = bench_now_ns();
    bench_send_windowed(&b, cust, customers, window);
    bench_send_windowed(&b, orders, n, window);
    s_wait_applied(&b);
    bench_send_windowed(&b, pays, npays, window);
    s_wait_applied(&b);
    double store_s = (double)(bench_now_ns() - t0) / 1e9;
    printf("done in %.1f s (%.0f events/s)\n", store_s,
           (double)(customers + n + npays) / store_s);

    double wall[3], cpu[3];
    for (int r = 0; r < 3; r++)
        if (s_time_report(ctl, &wall[r], &cpu[r]) != 0)
            bench_die("skontoctl report policy failed (run it by hand to see why)");
    printf("\n%-52s %14s   %s\n", "figure", "measured", "target");
    for (int r = 0; r < 3; r++) {
        char what[64];
        snprintf(what, sizeof what, "(g) report policy --json, run %d, wall s", r + 1);
        printf("%-52s %14.3f   < %.0f s  %s\n", what, wall[r], TARGET_REPORT_S,
               wall[r] < TARGET_REPORT_S ? "met" : "SHORT");
        printf("%-52s %14.3f\n", "    of which skontoctl's CPU s", cpu[r]);
    }
    /* what it says: the first lines of the per terms x tier table */
    char cmd[4200], line[512];
    snprintf(cmd, sizeof cmd, "'%s' report policy", ctl);
    FILE *rp = popen(cmd, "r");
    for (int l = 0; rp && l < 8 && fgets(line, sizeof line, rp); l++)
        printf("    %s", line);
    if (rp)
        pclose(rp);
    if (b.rejected)
        printf("\nWARNING: %ld events were rejected; first: %s\n", b.rejected, b.first_reject);
    for (long i = 0; i < customers; i++)
        free(cust[i].data);
    for (long i = 0; i < n; i++)
        free(orders[i].data);
    for (long i = 0; i < npays; i++)
        free(pays[i].data);
    free(cust);
    free(orders);
    free(pays);
    bench_close(&b);
    return b.rejected ? 1 : 0;
}
