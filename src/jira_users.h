/*
 * A Jira user's email by the user key a changelog names, for assignees
 * whose webhook bean hides "emailAddress" (GET /rest/api/2/user?key=).
 * Answers are kept for a minute in a small cache of the process, shared
 * by its pool threads.  No nginx headers here.
 */

#ifndef _JIRA_USERS_H_INCLUDED_
#define _JIRA_USERS_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "jira_client.h"


#define JIRA_USER_TTL         60       /* s an answer is reused */
#define JIRA_USER_CACHE       256      /* answers kept per process */
#define JIRA_USER_KEY_LEN     256      /* longer keys are not cached */
#define JIRA_USER_EMAIL_LEN   256


typedef enum {
    JIRA_USER_EMAIL = 0,     /* the email was filled in */
    JIRA_USER_NO_EMAIL,      /* Jira knows the user but shows no email */
    JIRA_USER_NOT_FOUND,     /* Jira has no user with this key */
    JIRA_USER_ERROR          /* the call failed; see the client error */
} jira_user_rc_e;


/*
 * The cached answer for key of integration_id: 1 with *rc (and email for
 * JIRA_USER_EMAIL), or 0 when there is none younger than JIRA_USER_TTL.
 */
int jira_user_cached(long long integration_id, const char *key, time_t now,
    jira_user_rc_e *rc, char *email, size_t size);

/*
 * Ask Jira, and cache any answer but JIRA_USER_ERROR.  email needs
 * JIRA_USER_EMAIL_LEN bytes; a longer address counts as none.
 */
jira_user_rc_e jira_user_fetch(const jira_client_t *c,
    long long integration_id, const char *key, time_t now, char *email,
    size_t size, jira_client_error_t *err);


#endif /* _JIRA_USERS_H_INCLUDED_ */
