/*
 * Unit tests for src/jira_snowflake.c: the 53-bit layout, and sequence
 * numbers borrowed from earlier seconds, with an injected clock and an
 * in-memory counter standing in for PostgreSQL.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_snowflake.h"
#include "tap.h"


#define MAX_COUNTERS  4096
#define REGION        7


typedef struct {
    time_t      now;
    int         fail;
    int         calls;
    int         region_seen;
    long long   now_seen;
    size_t      n;
    long long   stamp[MAX_COUNTERS];
    long long   value[MAX_COUNTERS];
} fake_t;


static time_t fake_clock(void *data);
static int fake_incr(void *data, int region, long long second,
    long long now, long long *value);
static long long fake_get(fake_t *f, long long second);
static void fake_set(fake_t *f, long long second, long long value);
static void setup(jira_snowflake_t *sf, fake_t *f, time_t now);
static long long expected(long long t, int region, int seq);
static void test_msb0(void);
static void test_layout(void);
static void test_limits(void);
static void test_first_ids(void);
static void test_borrowing(void);
static void test_window(void);
static void test_early_clock(void);
static void test_failures(void);
static void test_unique(void);


int
main(void)
{
    test_msb0();
    test_layout();
    test_limits();
    test_first_ids();
    test_borrowing();
    test_window();
    test_early_clock();
    test_failures();
    test_unique();

    return done_testing();
}


static time_t
fake_clock(void *data)
{
    fake_t  *f = data;

    return f->now;
}


/* Redis INCR on a key that is the second */

static int
fake_incr(void *data, int region, long long second, long long now,
    long long *value)
{
    fake_t  *f = data;

    f->calls++;
    f->region_seen = region;
    f->now_seen = now;

    if (f->fail) {
        return -1;
    }

    fake_set(f, second, fake_get(f, second) + 1);
    *value = fake_get(f, second);

    return 0;
}


static long long
fake_get(fake_t *f, long long second)
{
    size_t  i;

    for (i = 0; i < f->n; i++) {
        if (f->stamp[i] == second) {
            return f->value[i];
        }
    }

    return 0;
}


static void
fake_set(fake_t *f, long long second, long long value)
{
    size_t  i;

    for (i = 0; i < f->n; i++) {
        if (f->stamp[i] == second) {
            f->value[i] = value;
            return;
        }
    }

    if (f->n == MAX_COUNTERS) {
        abort();
    }

    f->stamp[f->n] = second;
    f->value[f->n] = value;
    f->n++;
}


static void
setup(jira_snowflake_t *sf, fake_t *f, time_t now)
{
    memset(f, 0, sizeof(fake_t));
    f->now = now;

    sf->clock = fake_clock;
    sf->incr = fake_incr;
    sf->data = f;
    sf->region = REGION;
}


/* the id written out by hand: version 16 at bit 48 */

static long long
expected(long long t, int region, int seq)
{
    return (16LL << 48) + (t << 16) + ((long long) region << 4) + seq;
}


static void
test_msb0(void)
{
    is_int(jira_snowflake_msb0(1, 5), 16, "msb_0_ordering(1, 5) == 16");
    is_int(jira_snowflake_msb0(2, 5), 8, "msb_0_ordering(2, 5) == 8");
    is_int(jira_snowflake_msb0(3, 5), 24, "msb_0_ordering(3, 5) == 24");
    is_int(jira_snowflake_msb0(16, 5), 1, "msb_0_ordering(16, 5) == 1");
    is_int(jira_snowflake_msb0(31, 5), 31, "msb_0_ordering(31, 5) == 31");
    is_int(jira_snowflake_msb0(0, 5), 0, "msb_0_ordering(0, 5) == 0");
    is_int(jira_snowflake_msb0(1, 1), 1, "msb_0_ordering(1, 1) == 1");
}


static void
test_layout(void)
{
    long long               id;
    jira_snowflake_parts_t  p, q;

    is_int(JIRA_SNOWFLAKE_VERSION_BITS + JIRA_SNOWFLAKE_TIME_BITS
           + JIRA_SNOWFLAKE_REGION_BITS + JIRA_SNOWFLAKE_SEQUENCE_BITS,
           53, "the segments add up to 53 bits");

    /* computed with Python: (16<<48)|(1000<<16)|(7<<4)|3 */
    p.version = 16;
    p.time = 1000;
    p.region = 7;
    p.sequence = 3;

    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_OK, "compose");
    is_int(id, 4503599692906611LL, "16 | 1000 s | region 7 | seq 3");

    jira_snowflake_split(id, &q);
    is_int(q.version, 16, "split: version");
    is_int(q.time, 1000, "split: time");
    is_int(q.region, 7, "split: region");
    is_int(q.sequence, 3, "split: sequence");

    /* every segment at its largest still fits in 53 bits */
    p.version = 31;
    p.time = 0xffffffffLL;
    p.region = 4095;
    p.sequence = 15;

    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_OK,
           "compose the largest");
    is_int(id, (1LL << 53) - 1, "the largest id is 2^53 - 1");

    /* (((16 << 32 | 0x12345678) << 12 | 4095) << 4 | 15) */
    p.version = 16;
    p.time = 0x12345678;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_OK,
           "compose mixed bits");
    is_int(id, 4523615625740287LL, "mixed bits in their places");

    jira_snowflake_split(id, &q);
    ok(q.version == 16 && q.time == 0x12345678 && q.region == 4095
       && q.sequence == 15, "split the mixed bits");
}


static void
test_limits(void)
{
    long long               id;
    jira_snowflake_parts_t  p, base;

    base.version = 16;
    base.time = 5;
    base.region = 0;
    base.sequence = 0;

    p = base;
    p.version = 32;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_VERSION,
           "version 32 does not fit 5 bits");

    p = base;
    p.time = 1LL << 32;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_TIME,
           "2^32 seconds do not fit");

    p = base;
    p.time = -1;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_TIME,
           "negative seconds do not fit");

    p = base;
    p.region = 4096;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_REGION,
           "region 4096 does not fit 12 bits");

    p = base;
    p.region = -1;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_REGION,
           "region -1 does not fit");

    p = base;
    p.sequence = 16;
    is_int(jira_snowflake_compose(&p, &id), JIRA_SNOWFLAKE_SEQUENCE,
           "sequence 16 does not fit 4 bits");

    is_str(jira_snowflake_strerror(JIRA_SNOWFLAKE_REGION),
           "Region ID exceed max bit value of 12", "Sentry's region text");
    is_str(jira_snowflake_strerror(JIRA_SNOWFLAKE_TIME),
           "Time difference exceed max bit value of 32",
           "Sentry's time text");
    is_str(jira_snowflake_strerror(JIRA_SNOWFLAKE_SEQUENCE),
           "Region sequence exceed max bit value of 4",
           "Sentry's sequence text");
    is_str(jira_snowflake_strerror(JIRA_SNOWFLAKE_EXHAUSTED),
           "No available ID", "Sentry's exhausted text");
    is_str(JIRA_SNOWFLAKE_RETRY_DETAIL,
           "Max allowed ID retry reached. Please try again in a second",
           "Sentry's retry detail");
}


static void
test_first_ids(void)
{
    int               i;
    fake_t            f;
    long long         id;
    jira_snowflake_t  sf;

    is_int(JIRA_SNOWFLAKE_EPOCH, 1659916800,
           "epoch: 2022-08-08 00:00:00 UTC");

    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH + 1000);

    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "first id");
    is_int(id, expected(1000, REGION, 0), "first id of a second: seq 0");
    is_int(id, 4503599692906608LL, "first id, written out");
    is_int(f.region_seen, REGION, "the counter is per region");
    is_int(f.now_seen, 1000, "the counter is told the current second");
    ok(id < (1LL << 53), "below 2^53: exact in a JavaScript number");

    for (i = 1; i < 16; i++) {
        is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK,
               "id %d of the second", i + 1);
        is_int(id, expected(1000, REGION, i), "seq %d", i);
    }

    /* the next second starts again at 0 */
    f.now++;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "next second");
    is_int(id, expected(1001, REGION, 0), "next second: seq 0");

    /* region 0, as in Sentry's monolith: (16 << 48) + (t << 16) */
    sf.region = 0;
    f.now = JIRA_SNOWFLAKE_EPOCH + 12345;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "region 0");
    is_int(id, (16LL << 48) + (12345LL << 16), "monolith first id");
}


static void
test_borrowing(void)
{
    int               i;
    fake_t            f;
    long long         id, second;
    jira_snowflake_t  sf;
    int               seq;

    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH + 5000);

    for (i = 0; i < 16; i++) {
        (void) jira_snowflake_next(&sf, &id);
    }

    is_int(fake_get(&f, 5000), 16, "16 ids used second 5000");

    /* the 17th borrows the second before */
    f.calls = 0;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "17th id");
    is_int(id, expected(4999, REGION, 0), "17th id: second 4999, seq 0");
    is_int(f.calls, 2, "17th id: two increments (5000, then 4999)");
    is_int(fake_get(&f, 5000), 17, "the full second counts on, as INCR");

    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "18th id");
    is_int(id, expected(4999, REGION, 1), "18th id: second 4999, seq 1");

    /* 4999 and 4998 full too: the next comes from 4997 */
    fake_set(&f, 4999, 16);
    fake_set(&f, 4998, 16);
    f.calls = 0;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "skip two");
    is_int(id, expected(4997, REGION, 0), "from second 4997");
    is_int(f.calls, 4, "four increments");

    /* the sequence on its own */
    is_int(jira_snowflake_sequence(&sf, 4997, &second, &seq),
           JIRA_SNOWFLAKE_OK, "sequence of 4997");
    ok(second == 4997 && seq == 1, "4997 gives seq 1");

    /* a borrowed id is smaller than the ids of its own second */
    ok(expected(4997, REGION, 15) < expected(5000, REGION, 0),
       "borrowed ids sort before the second's own");
}


static void
test_window(void)
{
    int               i;
    fake_t            f;
    long long         id, t;
    jira_snowflake_t  sf;

    t = 100000;
    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH + t);

    /* seconds t-298 .. t full: the last free one is t-299 */
    for (i = 0; i < 299; i++) {
        fake_set(&f, t - i, 16);
    }

    f.calls = 0;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK,
           "299 full seconds: still an id");
    is_int(id, expected(t - 299, REGION, 0), "from 299 seconds back");
    is_int(f.calls, 300, "300 increments");

    /* all 300 seconds of the window full: t-300 is never tried */
    fake_set(&f, t - 299, 16);
    fake_set(&f, t - 300, 0);
    f.calls = 0;

    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_EXHAUSTED,
           "300 full seconds: No available ID");
    is_int(f.calls, 300, "exactly 300 increments");
    is_int(fake_get(&f, t - 300), 0, "301 seconds back is never touched");

    /* a new second frees everything again */
    f.now++;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "next second");
    is_int(id, expected(t + 1, REGION, 0), "next second: seq 0");
}


static void
test_early_clock(void)
{
    int               i, n;
    fake_t            f;
    long long         id;
    jira_snowflake_t  sf;

    /* 2 s after the epoch the window is 2 seconds: 32 ids */
    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH + 2);

    for (i = 0, n = 0; i < 40; i++) {
        if (jira_snowflake_next(&sf, &id) == JIRA_SNOWFLAKE_OK) {
            n++;
        }
    }

    is_int(n, 32, "two seconds after the epoch: 32 ids");
    is_int(fake_get(&f, 0), 0, "second 0 is never used");

    /* at the epoch itself there is no window at all */
    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH);
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_EXHAUSTED,
           "at the epoch: No available ID");
    is_int(f.calls, 0, "at the epoch: no increments");

    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH - 3600);
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_EXHAUSTED,
           "a clock before the epoch: No available ID");
    is_int(f.calls, 0, "before the epoch: no increments");
}


static void
test_failures(void)
{
    fake_t            f;
    long long         id;
    jira_snowflake_t  sf;

    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH + 10);
    f.fail = 1;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_COUNTER,
           "a failing counter is reported");

    /* 2^32 seconds after the epoch (the year 2158) */
    setup(&sf, &f, (time_t) (JIRA_SNOWFLAKE_EPOCH + (1LL << 32)));
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_TIME,
           "seconds past 32 bits");

    setup(&sf, &f, JIRA_SNOWFLAKE_EPOCH + 10);
    sf.region = 4096;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_REGION,
           "region past 12 bits");

    /* the real clock: an id of now, in region 7 */
    setup(&sf, &f, 0);
    sf.clock = NULL;
    is_int(jira_snowflake_next(&sf, &id), JIRA_SNOWFLAKE_OK, "real clock");

    {
        jira_snowflake_parts_t  p;
        long long               now;

        jira_snowflake_split(id, &p);
        now = (long long) time(NULL) - JIRA_SNOWFLAKE_EPOCH;
        ok(p.time >= now - 1 && p.time <= now, "real clock: the seconds");
        ok(p.version == 16 && p.region == REGION && p.sequence == 0,
           "real clock: version, region, sequence");
    }
}


static void
test_unique(void)
{
    int               i, j, dup, order;
    fake_t           *f;
    long long        *ids;
    jira_snowflake_t  sf;

    f = malloc(sizeof(fake_t));
    ids = malloc(2000 * sizeof(long long));
    if (f == NULL || ids == NULL) {
        abort();
    }

    setup(&sf, f, JIRA_SNOWFLAKE_EPOCH + 86400);

    /* 20 ids a second for 100 seconds: borrowing keeps them distinct */
    for (i = 0; i < 2000; i++) {
        if (i % 20 == 0) {
            f->now++;
        }

        if (jira_snowflake_next(&sf, &ids[i]) != JIRA_SNOWFLAKE_OK) {
            ids[i] = -1;
        }
    }

    dup = 0;
    order = 0;

    for (i = 0; i < 2000; i++) {
        if (ids[i] < 0) {
            dup++;
            continue;
        }

        for (j = i + 1; j < 2000; j++) {
            if (ids[i] == ids[j]) {
                dup++;
            }
        }

        if (i % 20 < 16 && i % 20 > 0 && ids[i] <= ids[i - 1]) {
            order++;
        }
    }

    is_int(dup, 0, "2000 ids, no duplicate");
    is_int(order, 0, "ids of one second increase");

    free(ids);
    free(f);
}
