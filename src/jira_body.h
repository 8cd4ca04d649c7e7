/*
 * A request body as nginx holds it: pieces in memory and pieces in a
 * temporary file.  Reading the file happens on a pool thread, so a large
 * spooled body never blocks the event loop.  No nginx headers here.
 */

#ifndef _JIRA_BODY_H_INCLUDED_
#define _JIRA_BODY_H_INCLUDED_


#include <stddef.h>


#define JIRA_BODY_PARTS  16


typedef struct {
    const char      *mem;       /* NULL: the bytes are in fd at off */
    int              fd;
    long long        off;
    size_t           len;
} jira_body_part_t;


typedef struct {
    size_t            n;
    size_t            len;      /* all parts together */
    jira_body_part_t  parts[JIRA_BODY_PARTS];
} jira_body_t;


/*
 * The body as one buffer in *data.  When that needed a copy, *owned is
 * the malloc()ed copy to free; else NULL.  Returns -1 with the reason in
 * error if a read failed or came up short.
 */
int jira_body_load(const jira_body_t *body, const char **data,
    char **owned, char *error, size_t size);


#endif /* _JIRA_BODY_H_INCLUDED_ */
