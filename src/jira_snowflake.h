/*
 * Snowflake ids as Sentry makes them for projects (reference:
 * sentry-behaviour.md §5.4).  53 bits, most significant first:
 *
 *     version 5 | seconds since the epoch 32 | region 12 | sequence 4
 *
 * The layout and the borrowing of sequence numbers from earlier seconds
 * are pure, with the clock and the counter injected; the counter kept in
 * PostgreSQL is at the end.  No nginx headers here.
 */

#ifndef _JIRA_SNOWFLAKE_H_INCLUDED_
#define _JIRA_SNOWFLAKE_H_INCLUDED_


#include <time.h>

#include "jira_store.h"


#define JIRA_SNOWFLAKE_VERSION_BITS   5
#define JIRA_SNOWFLAKE_TIME_BITS      32
#define JIRA_SNOWFLAKE_REGION_BITS    12
#define JIRA_SNOWFLAKE_SEQUENCE_BITS  4
#define JIRA_SNOWFLAKE_BITS           53

/* SNOWFLAKE_VERSION_ID 1, written msb-0 in 5 bits */
#define JIRA_SNOWFLAKE_VERSION_ID     1

/* 2022-08-08 00:00:00 UTC */
#define JIRA_SNOWFLAKE_EPOCH          1659916800

/* how far back a full second may borrow, and how long counters live */
#define JIRA_SNOWFLAKE_TTL            300

/* MAX_REDIS_SNOWFLAKE_RETRY_COUNTER: inserts tried on colliding ids */
#define JIRA_SNOWFLAKE_MAX_RETRIES    5

#define JIRA_SNOWFLAKE_RETRY_DETAIL                                         \
    "Max allowed ID retry reached. Please try again in a second"


typedef enum {
    JIRA_SNOWFLAKE_OK = 0,
    JIRA_SNOWFLAKE_EXHAUSTED,     /* every second in reach is used up */
    JIRA_SNOWFLAKE_VERSION,       /* a segment does not fit its bits */
    JIRA_SNOWFLAKE_TIME,
    JIRA_SNOWFLAKE_REGION,
    JIRA_SNOWFLAKE_SEQUENCE,
    JIRA_SNOWFLAKE_COUNTER        /* the counter failed (see its error) */
} jira_snowflake_rc_e;


typedef struct {
    int          version;
    long long    time;              /* seconds since the epoch */
    int          region;
    int          sequence;
} jira_snowflake_parts_t;


/*
 * Redis INCR on the counter of one second: the value after the
 * increment (the first call for a second gives 1).  Returns 0, or -1
 * when the counter could not be reached.
 */
typedef int (*jira_snowflake_incr_pt)(void *data, int region,
    long long second, long long now, long long *value);

typedef time_t (*jira_snowflake_clock_pt)(void *data);


typedef struct {
    jira_snowflake_clock_pt   clock;     /* NULL: time() */
    jira_snowflake_incr_pt    incr;
    void                     *data;      /* for both */
    int                       region;    /* jira_sync_snowflake_region */
} jira_snowflake_t;


/* value written most significant bit first in width bits */
unsigned jira_snowflake_msb0(unsigned value, unsigned width);

/* put the segments together, checking each fits its bits */
jira_snowflake_rc_e jira_snowflake_compose(const jira_snowflake_parts_t *p,
    long long *id);

void jira_snowflake_split(long long id, jira_snowflake_parts_t *p);

/*
 * A sequence number for second t or, when t's 16 are taken, for the
 * latest earlier second with one left, at most 300 seconds back (and
 * never before the epoch).  *second is the second it belongs to.
 */
jira_snowflake_rc_e jira_snowflake_sequence(const jira_snowflake_t *sf,
    long long t, long long *second, int *sequence);

/* generate_snowflake_id(): read the clock, take a sequence, compose */
jira_snowflake_rc_e jira_snowflake_next(const jira_snowflake_t *sf,
    long long *id);

/* Sentry's text for a failure */
const char *jira_snowflake_strerror(jira_snowflake_rc_e rc);


/*
 * The counter in PostgreSQL (table snowflake_sequence), inside the
 * caller's transaction: set up sf with jira_snowflake_store_init(), run
 * jira_snowflake_next(), and on JIRA_SNOWFLAKE_COUNTER read ctx->err.
 */
typedef struct {
    jira_store_t             *st;
    jira_err_e                err;
} jira_snowflake_store_t;

void jira_snowflake_store_init(jira_snowflake_t *sf,
    jira_snowflake_store_t *ctx, jira_store_t *st, int region);


#endif /* _JIRA_SNOWFLAKE_H_INCLUDED_ */
