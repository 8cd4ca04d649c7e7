/*
 * Snowflake ids (reference: sentry-behaviour.md §5.4, Sentry's
 * src/sentry/utils/snowflake.py).
 */

#include <stdio.h>
#include <stdlib.h>

#include "jira_snowflake.h"


#define JIRA_SNOWFLAKE_SEQUENCES  (1 << JIRA_SNOWFLAKE_SEQUENCE_BITS)


static time_t jira_snowflake_time(void *data);
static int jira_snowflake_fits(long long value, unsigned bits);
static int jira_snowflake_store_incr(void *data, int region,
    long long second, long long now, long long *value);


/*
 * INCR: the counter of one second of one region.  The row stays locked
 * until the caller's transaction ends, so concurrent saves take turns;
 * seconds are always taken newest first, so two saves cannot wait for
 * each other in a circle.
 */
static const jira_stmt_t  jira_snowflake_incr_stmt = {
    "jira_snowflake_incr",
    "INSERT INTO snowflake_sequence AS s (region, stamp, value)"
    " VALUES ($1::integer, $2::bigint, 1)"
    " ON CONFLICT (region, stamp) DO UPDATE SET value = s.value + 1"
    " RETURNING s.value"
};

/*
 * EXPIRE: counters older than the borrowing window are never read
 * again.  Rows another save holds are left for the next new second, so
 * this never waits.
 */
static const jira_stmt_t  jira_snowflake_expire_stmt = {
    "jira_snowflake_expire",
    "DELETE FROM snowflake_sequence"
    " WHERE (region, stamp) IN"
    "       (SELECT region, stamp FROM snowflake_sequence"
    "         WHERE region = $1::integer"
    "           AND stamp <= $2::bigint - $3::bigint"
    "           FOR UPDATE SKIP LOCKED)"
};


unsigned
jira_snowflake_msb0(unsigned value, unsigned width)
{
    unsigned  i, r;

    r = 0;

    for (i = 0; i < width; i++) {
        r = (r << 1) | ((value >> i) & 1);
    }

    return r;
}


static int
jira_snowflake_fits(long long value, unsigned bits)
{
    /* Python's "value >> length != 0", which negative values fail too */
    return value >= 0 && (value >> bits) == 0;
}


jira_snowflake_rc_e
jira_snowflake_compose(const jira_snowflake_parts_t *p, long long *id)
{
    long long  v;

    if (!jira_snowflake_fits(p->version, JIRA_SNOWFLAKE_VERSION_BITS)) {
        return JIRA_SNOWFLAKE_VERSION;
    }

    if (!jira_snowflake_fits(p->time, JIRA_SNOWFLAKE_TIME_BITS)) {
        return JIRA_SNOWFLAKE_TIME;
    }

    if (!jira_snowflake_fits(p->region, JIRA_SNOWFLAKE_REGION_BITS)) {
        return JIRA_SNOWFLAKE_REGION;
    }

    if (!jira_snowflake_fits(p->sequence, JIRA_SNOWFLAKE_SEQUENCE_BITS)) {
        return JIRA_SNOWFLAKE_SEQUENCE;
    }

    v = p->version;
    v = (v << JIRA_SNOWFLAKE_TIME_BITS) | p->time;
    v = (v << JIRA_SNOWFLAKE_REGION_BITS) | p->region;
    v = (v << JIRA_SNOWFLAKE_SEQUENCE_BITS) | p->sequence;

    *id = v;

    return JIRA_SNOWFLAKE_OK;
}


void
jira_snowflake_split(long long id, jira_snowflake_parts_t *p)
{
    p->sequence = (int) (id & ((1LL << JIRA_SNOWFLAKE_SEQUENCE_BITS) - 1));
    id >>= JIRA_SNOWFLAKE_SEQUENCE_BITS;

    p->region = (int) (id & ((1LL << JIRA_SNOWFLAKE_REGION_BITS) - 1));
    id >>= JIRA_SNOWFLAKE_REGION_BITS;

    p->time = id & ((1LL << JIRA_SNOWFLAKE_TIME_BITS) - 1);
    id >>= JIRA_SNOWFLAKE_TIME_BITS;

    p->version = (int) (id & ((1LL << JIRA_SNOWFLAKE_VERSION_BITS) - 1));
}


jira_snowflake_rc_e
jira_snowflake_sequence(const jira_snowflake_t *sf, long long t,
    long long *second, int *sequence)
{
    long long  i, range, value;

    range = (t < JIRA_SNOWFLAKE_TTL) ? t : JIRA_SNOWFLAKE_TTL;

    for (i = 0; i < range; i++) {
        if (sf->incr(sf->data, sf->region, t - i, t, &value) != 0) {
            return JIRA_SNOWFLAKE_COUNTER;
        }

        /* INCR starts at 1; sequences start at 0 */
        if (value - 1 < JIRA_SNOWFLAKE_SEQUENCES) {
            *second = t - i;
            *sequence = (int) (value - 1);
            return JIRA_SNOWFLAKE_OK;
        }
    }

    return JIRA_SNOWFLAKE_EXHAUSTED;
}


static time_t
jira_snowflake_time(void *data)
{
    return time(NULL);
}


jira_snowflake_rc_e
jira_snowflake_next(const jira_snowflake_t *sf, long long *id)
{
    time_t                  now;
    jira_snowflake_rc_e     rc;
    jira_snowflake_parts_t  p;

    now = sf->clock ? sf->clock(sf->data) : jira_snowflake_time(NULL);

    p.version = (int) jira_snowflake_msb0(JIRA_SNOWFLAKE_VERSION_ID,
                                          JIRA_SNOWFLAKE_VERSION_BITS);
    p.region = sf->region;

    rc = jira_snowflake_sequence(sf, (long long) now - JIRA_SNOWFLAKE_EPOCH,
                                 &p.time, &p.sequence);
    if (rc != JIRA_SNOWFLAKE_OK) {
        return rc;
    }

    return jira_snowflake_compose(&p, id);
}


const char *
jira_snowflake_strerror(jira_snowflake_rc_e rc)
{
    switch (rc) {

    case JIRA_SNOWFLAKE_OK:
        return "OK";

    case JIRA_SNOWFLAKE_EXHAUSTED:
        return "No available ID";

    case JIRA_SNOWFLAKE_VERSION:
        return "Version ID exceed max bit value of 5";

    case JIRA_SNOWFLAKE_TIME:
        return "Time difference exceed max bit value of 32";

    case JIRA_SNOWFLAKE_REGION:
        return "Region ID exceed max bit value of 12";

    case JIRA_SNOWFLAKE_SEQUENCE:
        return "Region sequence exceed max bit value of 4";

    default:
        return "the snowflake sequence could not be read";
    }
}


void
jira_snowflake_store_init(jira_snowflake_t *sf, jira_snowflake_store_t *ctx,
    jira_store_t *st, int region)
{
    ctx->st = st;
    ctx->err = JIRA_OK;

    sf->clock = NULL;
    sf->incr = jira_snowflake_store_incr;
    sf->data = ctx;
    sf->region = region;
}


static int
jira_snowflake_store_incr(void *data, int region, long long second,
    long long now, long long *value)
{
    jira_snowflake_store_t  *ctx = data;

    char         r[16], s[32], n[32], ttl[16];
    PGresult    *res;
    const char  *values[3];

    (void) snprintf(r, sizeof(r), "%d", region);
    (void) snprintf(s, sizeof(s), "%lld", second);

    values[0] = r;
    values[1] = s;

    res = jira_store_exec(ctx->st, &jira_snowflake_incr_stmt, 2, values,
                          &ctx->err);
    if (res == NULL) {
        return -1;
    }

    *value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    if (*value == 1) {
        /* a new second: the counters past the window can go */

        (void) snprintf(n, sizeof(n), "%lld", now);
        (void) snprintf(ttl, sizeof(ttl), "%d", JIRA_SNOWFLAKE_TTL);

        values[1] = n;
        values[2] = ttl;

        if (jira_store_run(ctx->st, &jira_snowflake_expire_stmt, 3, values,
                           &ctx->err)
            < 0)
        {
            return -1;
        }
    }

    return 0;
}
