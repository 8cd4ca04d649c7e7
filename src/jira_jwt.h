/*
 * JSON Web Tokens as Jira webhook URLs carry them: HS256 only, compact
 * serialisation, claims {"id": external_id}.  No nginx headers here.
 */

#ifndef _JIRA_JWT_H_INCLUDED_
#define _JIRA_JWT_H_INCLUDED_


#include <stddef.h>
#include <time.h>


/* longer tokens are refused before any decoding */
#define JIRA_JWT_MAX_LEN          4096
#define JIRA_JWT_MAX_ID_LEN       256


/*
 * Steps 2 and 3 of the token checks: decode header and claims without
 * verifying the signature and copy the "id" claim (a JSON string) into
 * id (NUL-terminated, at most id_size - 1 bytes).
 *
 * Returns NULL on success, else Sentry's message:
 *   "Could not decode JWT token"      malformed token, header or claims
 *   "Token did not contain `id`"      claims have no "id" member
 * An "id" that is not a string, or too long for id, yields
 * JIRA_JWT_NO_INTEGRATION: no integration can match it.
 */
const char *jira_jwt_peek_id(const char *token, size_t len, char *id,
    size_t id_size);

/*
 * Step 5: verify the token with the integration's secret.  The header's
 * "alg" must be exactly "HS256"; the MAC is compared in constant time;
 * "exp" and "nbf", when present, are checked against now.  Returns NULL
 * when the token is valid, else a PyJWT-style reason, e.g.
 * "Signature verification failed", "The specified alg value is not
 * allowed", "Signature has expired".
 */
const char *jira_jwt_verify_hs256(const char *token, size_t len,
    const char *secret, size_t secret_len, time_t now);

/*
 * Sign claims (a JSON object text) with HS256 into out as a
 * NUL-terminated compact token, header {"alg":"HS256","typ":"JWT"}.
 * Returns the token length, or -1 if out is too small or on error.
 */
int jira_jwt_sign_hs256(const char *claims, size_t claims_len,
    const char *secret, size_t secret_len, char *out, size_t out_size);


extern const char  JIRA_JWT_NO_INTEGRATION[];


#endif /* _JIRA_JWT_H_INCLUDED_ */
