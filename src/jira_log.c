#include <stdarg.h>
#include <stdio.h>

#include "jira_log.h"


void
jira_log(jira_log_t *log, int level, const char *fmt, ...)
{
    va_list           args;
    unsigned char    *p;
    jira_log_line_t  *line;

    if (log == NULL) {
        return;
    }

    if (log->n == JIRA_LOG_MAX) {
        log->dropped++;
        return;
    }

    line = &log->lines[log->n++];
    line->level = level;

    va_start(args, fmt);
    (void) vsnprintf(line->text, sizeof(line->text), fmt, args);
    va_end(args);

    /* values from payloads must not start a forged log line */
    for (p = (unsigned char *) line->text; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
}


void
jira_log_reset(jira_log_t *log)
{
    log->n = 0;
    log->dropped = 0;
}
