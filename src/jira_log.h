/*
 * Log lines collected on a pool thread, written by the event loop: pool
 * threads never touch nginx logs.
 */

#ifndef _JIRA_LOG_H_INCLUDED_
#define _JIRA_LOG_H_INCLUDED_


#include <stddef.h>


#define JIRA_LOG_ERR      1
#define JIRA_LOG_WARN     2
#define JIRA_LOG_INFO     3

#define JIRA_LOG_MAX      16
#define JIRA_LOG_LINE     512


typedef struct {
    int         level;
    char        text[JIRA_LOG_LINE];
} jira_log_line_t;


typedef struct {
    size_t           n;
    size_t           dropped;
    jira_log_line_t  lines[JIRA_LOG_MAX];
} jira_log_t;


void jira_log(jira_log_t *log, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__ ((format (printf, 3, 4)))
#endif
    ;
void jira_log_reset(jira_log_t *log);


#endif /* _JIRA_LOG_H_INCLUDED_ */
