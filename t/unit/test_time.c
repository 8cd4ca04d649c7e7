/*
 * Jira timestamps to epoch milliseconds.  Expected values were computed
 * independently with Python: int(datetime.fromisoformat(s).timestamp()
 * * 1000) (for "+0000" written as "+00:00").
 */

#include <stdio.h>

#include "tap.h"
#include "jira_time.h"


int
main(void)
{
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.000+0000"),
           1706695200000LL, "Jira's format, UTC");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.123+0100"),
           1706691600123LL, "positive offset");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.5-05:30"),
           1706715000500LL, "negative offset with colon, short fraction");
    is_int(jira_time_parse_ms("2024-02-29T23:59:59Z"), 1709251199000LL,
           "leap day, Z, no fraction");
    is_int(jira_time_parse_ms("1970-01-01T00:00:00.000+0000"), 0LL,
           "the epoch");
    is_int(jira_time_parse_ms("2038-01-19T03:14:08.000+0000"),
           2147483648000LL, "past 2^31 seconds");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.123456+0000"),
           1706695200123LL, "microseconds are cut to milliseconds");

    is_int(jira_time_parse_ms(NULL), -1, "NULL");
    is_int(jira_time_parse_ms(""), -1, "empty");
    is_int(jira_time_parse_ms("2024-01-31"), -1, "a date alone");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.000"), -1, "no zone");
    is_int(jira_time_parse_ms("2024-13-01T10:00:00.000+0000"), -1,
           "month 13");
    is_int(jira_time_parse_ms("2024-02-30T10:00:00.000+0000"), -1,
           "February 30");
    is_int(jira_time_parse_ms("2024-01-31T24:00:00.000+0000"), -1,
           "hour 24");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.+0000"), -1,
           "an empty fraction");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.000+0000x"), -1,
           "trailing text");
    is_int(jira_time_parse_ms("2024-01-31T10:00:00.000+2400"), -1,
           "offset hour 24");
    is_int(jira_time_parse_ms("'; DROP TABLE x; --0000000000"), -1,
           "SQL never gets through");

    return done_testing();
}
