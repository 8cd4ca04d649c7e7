/*
 * Jira's timestamps: "2024-01-31T10:00:00.000+0000" (issue fields) and
 * epoch milliseconds (the webhook's "timestamp").  No nginx headers here.
 */

#ifndef _JIRA_TIME_H_INCLUDED_
#define _JIRA_TIME_H_INCLUDED_


/*
 * Parse YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HHMM|+HH:MM|-HHMM|-HH:MM) into
 * milliseconds since 1970 UTC.  Returns -1 for anything else, so that a
 * malformed value never reaches SQL.
 */
long long jira_time_parse_ms(const char *s);


#endif /* _JIRA_TIME_H_INCLUDED_ */
