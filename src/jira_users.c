/*
 * Hidden emails (jira-server-api.md §3): with "User email visibility" on
 * Hidden or for logged-in users only, the webhook's assignee bean has no
 * "emailAddress", while the REST API may show it to the integration's
 * own user.  Pool threads share one small cache per process: nginx
 * shared memory is not theirs to touch.  It holds user keys and email
 * addresses only, never credentials.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_oauth1.h"
#include "jira_users.h"


typedef struct {
    long long        integration_id;     /* 0: a free slot */
    time_t           expires;
    jira_user_rc_e   rc;
    char             key[JIRA_USER_KEY_LEN];
    char             email[JIRA_USER_EMAIL_LEN];
} jira_user_entry_t;


static void jira_user_store(long long integration_id, const char *key,
    time_t now, jira_user_rc_e rc, const char *email);


static pthread_mutex_t     jira_user_mutex = PTHREAD_MUTEX_INITIALIZER;
static jira_user_entry_t   jira_user_cache[JIRA_USER_CACHE];


int
jira_user_cached(long long integration_id, const char *key, time_t now,
    jira_user_rc_e *rc, char *email, size_t size)
{
    int                 hit;
    size_t              i;
    jira_user_entry_t  *e;

    hit = 0;

    if (strlen(key) >= JIRA_USER_KEY_LEN) {
        return 0;
    }

    (void) pthread_mutex_lock(&jira_user_mutex);

    for (i = 0; i < JIRA_USER_CACHE; i++) {
        e = &jira_user_cache[i];

        if (e->integration_id != integration_id || e->expires <= now
            || strcmp(e->key, key) != 0)
        {
            continue;
        }

        *rc = e->rc;

        if (e->rc == JIRA_USER_EMAIL) {
            (void) snprintf(email, size, "%s", e->email);
        }

        hit = 1;
        break;
    }

    (void) pthread_mutex_unlock(&jira_user_mutex);

    return hit;
}


jira_user_rc_e
jira_user_fetch(const jira_client_t *c, long long integration_id,
    const char *key, time_t now, char *email, size_t size,
    jira_client_error_t *err)
{
    char            *path;
    size_t           len, n;
    json_t          *user, *v;
    jira_user_rc_e   rc;

    static const char  prefix[] = "/rest/api/2/user?key=";

    len = strlen(key);

    path = malloc(sizeof(prefix) + 3 * len);
    if (path == NULL) {
        memset(err, 0, sizeof(jira_client_error_t));
        err->http_err = JIRA_HTTP_EINTERNAL;
        (void) snprintf(err->text, sizeof(err->text), "out of memory");
        return JIRA_USER_ERROR;
    }

    memcpy(path, prefix, sizeof(prefix) - 1);
    n = sizeof(prefix) - 1;
    n += jira_oauth1_encode(path + n, key, len);
    path[n] = '\0';

    user = NULL;

    if (jira_client_rest(c, "GET", path, NULL, &user, err) != 0) {
        free(path);

        if (err->http_err != JIRA_HTTP_OK || err->status != 404) {
            return JIRA_USER_ERROR;
        }

        /* Jira answers 404 for a key no user has (any more) */
        jira_user_store(integration_id, key, now, JIRA_USER_NOT_FOUND, NULL);
        return JIRA_USER_NOT_FOUND;
    }

    free(path);

    if (!json_is_object(user)) {
        json_decref(user);
        err->http_err = JIRA_HTTP_OK;
        err->status = 200;
        err->message[0] = '\0';
        (void) snprintf(err->text, sizeof(err->text),
                        "the answer is not a user");
        return JIRA_USER_ERROR;
    }

    /* as for the webhook's bean: an empty address is none */

    v = json_object_get(user, "emailAddress");

    if (json_is_string(v) && json_string_length(v) != 0
        && json_string_length(v) < size
        && json_string_length(v) < JIRA_USER_EMAIL_LEN)
    {
        memcpy(email, json_string_value(v), json_string_length(v) + 1);
        rc = JIRA_USER_EMAIL;

    } else {
        rc = JIRA_USER_NO_EMAIL;
    }

    json_decref(user);

    jira_user_store(integration_id, key, now, rc, email);

    return rc;
}


/* the same key again, else a free or expired slot, else the oldest */

static void
jira_user_store(long long integration_id, const char *key, time_t now,
    jira_user_rc_e rc, const char *email)
{
    size_t              i;
    jira_user_entry_t  *e, *slot;

    if (strlen(key) >= JIRA_USER_KEY_LEN) {
        return;
    }

    (void) pthread_mutex_lock(&jira_user_mutex);

    slot = NULL;

    for (i = 0; i < JIRA_USER_CACHE; i++) {
        e = &jira_user_cache[i];

        if (e->integration_id == integration_id && strcmp(e->key, key) == 0)
        {
            slot = e;
            break;
        }

        if (slot == NULL || e->expires < slot->expires) {
            slot = e;
        }
    }

    slot->integration_id = integration_id;
    slot->expires = now + JIRA_USER_TTL;
    slot->rc = rc;
    (void) snprintf(slot->key, sizeof(slot->key), "%s", key);
    (void) snprintf(slot->email, sizeof(slot->email), "%s",
                    rc == JIRA_USER_EMAIL ? email : "");

    (void) pthread_mutex_unlock(&jira_user_mutex);
}
