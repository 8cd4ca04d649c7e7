/*
 * Writing JSON strings without an allocator: for error details and the
 * bodies the module answers with.  No nginx headers here.
 */

#ifndef _JIRA_JSON_H_INCLUDED_
#define _JIRA_JSON_H_INCLUDED_


#include <stddef.h>


/* bytes jira_json_quote() writes for s, quotes included */
size_t jira_json_quoted_len(const char *s);

/*
 * Write s as a JSON string literal (quotes included, no NUL); returns
 * the bytes written.  Control characters are escaped; bytes that are
 * not valid UTF-8 become U+FFFD so that the output is always valid.
 */
size_t jira_json_quote(char *dst, const char *s);


#endif /* _JIRA_JSON_H_INCLUDED_ */
