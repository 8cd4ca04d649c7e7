/*
 * Bearer tokens: stored only as SHA-256, scopes as in Sentry, where a
 * ":write" or ":admin" scope also grants the ":read" below it.  No nginx
 * headers here.
 */

#ifndef _JIRA_AUTH_H_INCLUDED_
#define _JIRA_AUTH_H_INCLUDED_


#include <stddef.h>


#define JIRA_AUTH_HASH_PARAM_LEN  (2 + 64 + 1)   /* "\x", hex, NUL */


typedef enum {
    JIRA_AUTH_OK = 0,
    JIRA_AUTH_MISSING,        /* no Authorization: Bearer header */
    JIRA_AUTH_INVALID,        /* unknown, expired, or its user inactive */
    JIRA_AUTH_SCOPE,          /* valid, without the scope */
    JIRA_AUTH_MEMBER          /* valid, outside the organization */
} jira_auth_e;


/* the token's SHA-256 as a bytea parameter in text form */
void jira_auth_hash_param(const char *token, size_t len,
    char out[JIRA_AUTH_HASH_PARAM_LEN]);

/*
 * The scopes that satisfy scope, as a PostgreSQL text[] literal, e.g.
 * "event:read" -> "{event:read,event:write,event:admin}".  Returns -1
 * if out is too small.
 */
int jira_auth_scopes_param(const char *scope, char *out, size_t size);

/* the HTTP status and DRF's detail text for a failed check */
int jira_auth_status(jira_auth_e rc);
const char *jira_auth_detail(jira_auth_e rc);


#endif /* _JIRA_AUTH_H_INCLUDED_ */
