#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "jira_auth.h"


void
jira_auth_hash_param(const char *token, size_t len,
    char out[JIRA_AUTH_HASH_PARAM_LEN])
{
    size_t          i;
    unsigned char   md[SHA256_DIGEST_LENGTH];

    static const char  hex[] = "0123456789abcdef";

    (void) SHA256((const unsigned char *) token, len, md);

    out[0] = '\\';
    out[1] = 'x';

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 + 2 * i] = hex[md[i] >> 4];
        out[3 + 2 * i] = hex[md[i] & 0xf];
    }

    out[2 + 2 * SHA256_DIGEST_LENGTH] = '\0';
}


int
jira_auth_scopes_param(const char *scope, char *out, size_t size)
{
    int          n;
    size_t       base;
    const char  *colon;

    colon = strchr(scope, ':');

    if (colon == NULL) {
        n = snprintf(out, size, "{%s}", scope);

    } else if (strcmp(colon, ":read") == 0) {
        base = colon - scope;
        n = snprintf(out, size, "{%s,%.*s:write,%.*s:admin}", scope,
                     (int) base, scope, (int) base, scope);

    } else if (strcmp(colon, ":write") == 0) {
        base = colon - scope;
        n = snprintf(out, size, "{%s,%.*s:admin}", scope,
                     (int) base, scope);

    } else {
        n = snprintf(out, size, "{%s}", scope);
    }

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


int
jira_auth_status(jira_auth_e rc)
{
    switch (rc) {
    case JIRA_AUTH_OK:
        return 200;
    case JIRA_AUTH_MISSING:
    case JIRA_AUTH_INVALID:
        return 401;
    default:
        return 403;
    }
}


const char *
jira_auth_detail(jira_auth_e rc)
{
    switch (rc) {
    case JIRA_AUTH_MISSING:
        return "Authentication credentials were not provided.";
    case JIRA_AUTH_INVALID:
        return "Invalid token";
    case JIRA_AUTH_SCOPE:
    case JIRA_AUTH_MEMBER:
        return "You do not have permission to perform this action.";
    default:
        return "";
    }
}
