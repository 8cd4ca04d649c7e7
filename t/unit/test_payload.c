/*
 * Unit tests for src/jira_payload.c: the "jira:issue_updated" body.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_payload.h"
#include "tap.h"


#define ERR_NOT_OBJECT      "Request body must be a JSON object."
#define ERR_CHANGELOG       "changelog must be an object"
#define ERR_ITEMS           "changelog.items must be an array"
#define ERR_ISSUE           "issue must be an object"
#define ERR_FIELDS          "issue.fields must be an object"
#define ERR_KEY             "issue.key must be a non-empty string"
#define ERR_ASSIGNEE        "issue.fields.assignee must be an object or null"

#define ASSIGNEE_ITEM                                                       \
    "{\"field\":\"assignee\",\"fieldtype\":\"jira\",\"from\":null,"         \
    "\"fromString\":null,\"to\":\"JIRAUSER10002\",\"toString\":\"Bob B\"}"

#define STATUS_ITEM                                                         \
    "{\"field\":\"status\",\"fieldtype\":\"jira\",\"fieldId\":\"status\","  \
    "\"from\":\"10101\",\"fromString\":\"In Progress\",\"to\":\"10102\","   \
    "\"toString\":\"Done\"}"

#define BOB                                                                 \
    "{\"self\":\"https://jira.example.com/rest/api/2/user?username=bob\","  \
    "\"name\":\"bob\",\"key\":\"JIRAUSER10002\","                           \
    "\"emailAddress\":\"bob@example.com\",\"displayName\":\"Bob B\","       \
    "\"active\":true,\"timeZone\":\"Europe/Berlin\"}"

#define LARGE_MIN           (1024 * 1024)


typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
    int      failed;
} buf_t;


static jira_payload_rc_e parse(const char *json, jira_payload_t *p);
static int is_cleared(const jira_payload_t *p);
static int is_printable(const char *s);
static void buf_add(buf_t *b, const char *fmt, ...) TAP_PRINTF(2, 3);
static void test_empty(void);
static void test_not_json(void);
static void test_not_object(void);
static void test_changelog_truthiness(void);
static void test_items(void);
static void test_issue_shape(void);
static void test_assignee(void);
static void test_status(void);
static void test_assignee_to(void);
static void test_changelog_id(void);
static void test_updated_timestamp(void);
static void test_real_shapes(void);
static void test_unterminated(void);
static void test_free(void);
static void test_large(void);


int
main(void)
{
    test_empty();
    test_not_json();
    test_not_object();
    test_changelog_truthiness();
    test_items();
    test_issue_shape();
    test_assignee();
    test_status();
    test_assignee_to();
    test_changelog_id();
    test_updated_timestamp();
    test_real_shapes();
    test_unterminated();
    test_free();
    test_large();

    return done_testing();
}


static jira_payload_rc_e
parse(const char *json, jira_payload_t *p)
{
    return jira_payload_parse(json, strlen(json), p);
}


/* what a failed parse must leave: no document, no pointers */

static int
is_cleared(const jira_payload_t *p)
{
    return p->root == NULL
           && !p->has_changelog && !p->has_items && !p->assignee_changed
           && !p->status_changed && !p->has_assignee
           && p->issue_key == NULL && p->assignee_email == NULL
           && p->assignee_name == NULL && p->assignee_key == NULL
           && p->changelog_id == NULL && p->assignee_to == NULL
           && p->status_from == NULL
           && p->status_to == NULL && p->updated == NULL
           && p->timestamp == 0;
}


static int
is_printable(const char *s)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e) {
            return 0;
        }
    }

    return 1;
}


static void
buf_add(buf_t *b, const char *fmt, ...)
{
    int       n;
    char     *data;
    size_t    size;
    va_list   args;

    if (b->failed) {
        return;
    }

    for ( ;; ) {
        va_start(args, fmt);
        n = vsnprintf(b->data + b->len, b->size - b->len, fmt, args);
        va_end(args);

        if (n < 0) {
            b->failed = 1;
            return;
        }

        if ((size_t) n < b->size - b->len) {
            b->len += (size_t) n;
            return;
        }

        size = (b->size + (size_t) n + 1) * 2;

        data = realloc(b->data, size);
        if (data == NULL) {
            b->failed = 1;
            return;
        }

        b->data = data;
        b->size = size;
    }
}


static void
test_empty(void)
{
    jira_payload_t  p;

    is_int(jira_payload_parse(NULL, 0, &p), JIRA_PAYLOAD_OK,
           "empty body (NULL) is {}");
    ok(!p.has_changelog && !p.has_items && !p.assignee_changed
       && !p.status_changed && !p.has_assignee, "empty body: no flags");
    ok(p.issue_key == NULL && p.changelog_id == NULL && p.updated == NULL
       && p.timestamp == 0 && p.error[0] == '\0',
       "empty body: nothing set");
    jira_payload_free(&p);

    is_int(jira_payload_parse("garbage", 0, &p), JIRA_PAYLOAD_OK,
           "zero length ignores the bytes");
    jira_payload_free(&p);

    is_int(parse("{}", &p), JIRA_PAYLOAD_OK, "{}");
    ok(!p.has_changelog, "{}: no changelog");
    jira_payload_free(&p);

    is_int(parse(" \t\r\n{ }\n", &p), JIRA_PAYLOAD_OK,
           "{} with whitespace around");
    jira_payload_free(&p);
}


static void
test_not_json(void)
{
    int              i;
    jira_payload_t   p;

    static const char  *bodies[] = {
        " ",
        "\n",
        "{",
        "}",
        "{\"a\":}",
        "{\"a\" 1}",
        "{}x",
        "{} {}",
        "{\"a\":1,}",
        "{'a':1}",
        "{a:1}",
        "nul",
        "[1",
        "\xff",
        "\xef\xbb\xbf{}",
        "{\"a\":\"\xc3\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":01}",
        "{\"a\":99999999999999999999}",
        "{\"a\":1,\"a\":1}",
        "{\"issue\":{\"key\":\"A-1\",\"key\":\"A-2\"}}",
        ("{\"changelog\":{\"items\":[{\"field\":\"assignee\","
         "\"field\":\"status\"}]}}"),
        "{\"changelog\":{},\"changelog\":{\"items\":[]}}",
        "/* c */ {}",
    };

    for (i = 0; i < (int) (sizeof(bodies) / sizeof(bodies[0])); i++) {
        is_int(parse(bodies[i], &p), JIRA_PAYLOAD_NOT_JSON,
               "not JSON %d", i);
        ok(strncmp(p.error, "JSON parse error - ", 19) == 0
           && strstr(p.error, " at line ") != NULL
           && strstr(p.error, " column ") != NULL,
           "not JSON %d: error text: %s", i, p.error);
        ok(is_printable(p.error), "not JSON %d: error is plain ASCII", i);
        ok(is_cleared(&p), "not JSON %d: nothing kept", i);
        jira_payload_free(&p);
    }

    parse("{", &p);
    is_str(p.error, "JSON parse error - string or '}' expected near end of "
           "file at line 1 column 1", "error text for '{'");

    parse("{\"a\":\n  x}", &p);
    is_str(p.error, "JSON parse error - invalid token near 'x' at line 2 "
           "column 3", "error text gives line and column");

    parse("{\"a\":1,\"a\":2}", &p);
    is_str(p.error, "JSON parse error - duplicate object key near '\"a\"' "
           "at line 1 column 10", "error text for a duplicate key");

    /* a NUL byte inside the length */

    is_int(jira_payload_parse("{}\0", 3, &p), JIRA_PAYLOAD_NOT_JSON,
           "NUL after the object");
    is_int(jira_payload_parse("{\"a\":\"x\0y\"}", 11, &p),
           JIRA_PAYLOAD_NOT_JSON, "NUL inside a string");

    ok(sizeof(p.error) >= 100, "error buffer is usable");
}


static void
test_not_object(void)
{
    int              i;
    jira_payload_t   p;

    static const char  *bodies[] = {
        "[]", "[{}]", "[{\"changelog\":{}}]", "\"{}\"", "\"\"", "0", "1",
        "-1.5e3", "null", "true", "false", " [ ] ",
    };

    for (i = 0; i < (int) (sizeof(bodies) / sizeof(bodies[0])); i++) {
        is_int(parse(bodies[i], &p), JIRA_PAYLOAD_NOT_OBJECT,
               "top level %s", bodies[i]);
        is_str(p.error, ERR_NOT_OBJECT, "top level %s: error", bodies[i]);
        ok(is_cleared(&p), "top level %s: nothing kept", bodies[i]);
        jira_payload_free(&p);
    }
}


static void
test_changelog_truthiness(void)
{
    int              i;
    char             body[512];
    jira_payload_t   p;

    static const char  *falsy[] = {
        "null", "false", "0", "-0", "0.0", "-0.0", "0e10", "\"\"", "{}", "[]",
    };

    static const char  *truthy_not_object[] = {
        "true", "1", "-1", "0.5", "1e-300", "\"x\"", "\" \"", "\"false\"",
        "[0]", "[{}]", "[[]]",
    };

    /* issue is wrong on purpose: it must not be looked at */

    is_int(parse("{\"issue\":5}", &p), JIRA_PAYLOAD_OK,
           "changelog absent");
    ok(!p.has_changelog && !p.has_items, "changelog absent: flags");
    jira_payload_free(&p);

    for (i = 0; i < (int) (sizeof(falsy) / sizeof(falsy[0])); i++) {
        sprintf(body, "{\"changelog\":%s,\"issue\":[],\"timestamp\":7}",
                falsy[i]);
        is_int(parse(body, &p), JIRA_PAYLOAD_OK, "changelog %s", falsy[i]);
        ok(!p.has_changelog && !p.has_items && !p.assignee_changed
           && !p.status_changed, "changelog %s: no changelog", falsy[i]);
        is_int(p.timestamp, 7, "changelog %s: timestamp still read",
               falsy[i]);
        jira_payload_free(&p);
    }

    for (i = 0;
         i < (int) (sizeof(truthy_not_object) / sizeof(truthy_not_object[0]));
         i++)
    {
        sprintf(body, "{\"changelog\":%s}", truthy_not_object[i]);
        is_int(parse(body, &p), JIRA_PAYLOAD_INVALID, "changelog %s",
               truthy_not_object[i]);
        is_str(p.error, ERR_CHANGELOG, "changelog %s: error",
               truthy_not_object[i]);
        ok(is_cleared(&p), "changelog %s: nothing kept",
           truthy_not_object[i]);
        jira_payload_free(&p);
    }

    is_int(parse("{\"changelog\":{\"id\":\"1\"}}", &p), JIRA_PAYLOAD_OK,
           "changelog without items");
    ok(p.has_changelog && !p.has_items, "changelog without items: flags");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"x\":null}}", &p), JIRA_PAYLOAD_OK,
           "changelog with an unrelated member");
    ok(p.has_changelog, "a non-empty object is truthy");
    jira_payload_free(&p);
}


static void
test_items(void)
{
    int              i;
    char             body[512];
    jira_payload_t   p;

    static const char  *empty[] = { "null", "[]" };

    static const char  *not_array[] = {
        "{}", "{\"0\":" ASSIGNEE_ITEM "}", "\"assignee\"", "\"\"", "1", "0",
        "true", "false",
    };

    for (i = 0; i < (int) (sizeof(empty) / sizeof(empty[0])); i++) {
        sprintf(body, "{\"changelog\":{\"id\":\"1\",\"items\":%s}}", empty[i]);
        is_int(parse(body, &p), JIRA_PAYLOAD_OK, "items %s", empty[i]);
        ok(p.has_changelog && !p.has_items && !p.assignee_changed
           && !p.status_changed, "items %s: flags", empty[i]);
        jira_payload_free(&p);
    }

    for (i = 0; i < (int) (sizeof(not_array) / sizeof(not_array[0])); i++) {
        sprintf(body, "{\"changelog\":{\"items\":%s}}", not_array[i]);
        is_int(parse(body, &p), JIRA_PAYLOAD_INVALID, "items %s",
               not_array[i]);
        is_str(p.error, ERR_ITEMS, "items %s: error", not_array[i]);
        ok(is_cleared(&p), "items %s: nothing kept", not_array[i]);
        jira_payload_free(&p);
    }

    /* items Sentry's any() would choke on are skipped */

    is_int(parse("{\"changelog\":{\"items\":[1,\"assignee\",null,true,[],"
                 "[\"assignee\"],{},{\"field\":null},{\"field\":1},"
                 "{\"field\":[\"assignee\"]},{\"field\":{\"a\":1}},"
                 "{\"Field\":\"assignee\"},{\"fieldId\":\"assignee\"},"
                 "{\"field\":\"Assignee\"},{\"field\":\"assignee \"},"
                 "{\"field\":\"Status\"},{\"field\":\"\"}]}}", &p),
           JIRA_PAYLOAD_OK, "odd items only");
    ok(p.has_changelog && p.has_items, "odd items: has_items");
    ok(!p.assignee_changed && !p.status_changed,
       "odd items: nothing changed");
    ok(p.issue_key == NULL, "odd items: issue not required");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[1,{\"field\":2},"
                 ASSIGNEE_ITEM "]},\"issue\":{\"key\":\"APP-1\","
                 "\"fields\":{\"assignee\":null}}}", &p),
           JIRA_PAYLOAD_OK, "assignee item after odd items");
    ok(p.assignee_changed && !p.status_changed,
       "assignee item after odd items: found");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[{\"field\":\"Story Points\","
                 "\"fieldtype\":\"custom\",\"from\":null,\"to\":\"3\"},"
                 "{\"field\":\"resolution\",\"to\":\"10000\"}]}}", &p),
           JIRA_PAYLOAD_OK, "other fields changed");
    ok(p.has_items && !p.assignee_changed && !p.status_changed,
       "other fields changed: flags");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[" ASSIGNEE_ITEM ","
                 STATUS_ITEM "," ASSIGNEE_ITEM "]},\"issue\":{\"key\":"
                 "\"APP-1\",\"fields\":{\"assignee\":" BOB "}}}", &p),
           JIRA_PAYLOAD_OK, "assignee and status items");
    ok(p.assignee_changed && p.status_changed,
       "assignee and status items: both flags");
    jira_payload_free(&p);
}


static void
test_issue_shape(void)
{
    int              i, j;
    char             body[1024];
    jira_payload_t   p;

    static const char  *items[] = { ASSIGNEE_ITEM, STATUS_ITEM };

    static const struct {
        const char  *issue;    /* NULL: no "issue" member */
        const char  *error;
    } cases[] = {
        { NULL, ERR_ISSUE },
        { "null", ERR_ISSUE },
        { "\"APP-1\"", ERR_ISSUE },
        { "[]", ERR_ISSUE },
        { "[{\"key\":\"APP-1\",\"fields\":{}}]", ERR_ISSUE },
        { "1", ERR_ISSUE },
        { "{\"key\":\"APP-1\"}", ERR_FIELDS },
        { "{\"key\":\"APP-1\",\"fields\":null}", ERR_FIELDS },
        { "{\"key\":\"APP-1\",\"fields\":[]}", ERR_FIELDS },
        { "{\"key\":\"APP-1\",\"fields\":\"x\"}", ERR_FIELDS },
        { "{\"fields\":{}}", ERR_KEY },
        { "{\"key\":null,\"fields\":{}}", ERR_KEY },
        { "{\"key\":\"\",\"fields\":{}}", ERR_KEY },
        { "{\"key\":10042,\"fields\":{}}", ERR_KEY },
        { "{\"key\":[\"APP-1\"],\"fields\":{}}", ERR_KEY },
        { "{\"id\":\"10042\",\"fields\":{}}", ERR_KEY },
        { "{}", ERR_FIELDS },
    };

    for (j = 0; j < 2; j++) {
        for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
            if (cases[i].issue == NULL) {
                sprintf(body, "{\"changelog\":{\"items\":[%s]}}", items[j]);

            } else {
                sprintf(body, "{\"changelog\":{\"items\":[%s]},\"issue\":%s}",
                        items[j], cases[i].issue);
            }

            is_int(parse(body, &p), JIRA_PAYLOAD_INVALID, "%s item, issue %s",
                   j ? "status" : "assignee",
                   cases[i].issue ? cases[i].issue : "absent");
            is_str(p.error, cases[i].error, "%s item, issue %s: error",
                   j ? "status" : "assignee",
                   cases[i].issue ? cases[i].issue : "absent");
            ok(is_cleared(&p), "%s item, issue %s: nothing kept",
               j ? "status" : "assignee",
               cases[i].issue ? cases[i].issue : "absent");
            jira_payload_free(&p);
        }
    }

    /* without an assignee or status item the issue is not needed */

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        if (cases[i].issue == NULL) {
            strcpy(body, "{\"changelog\":{\"items\":[{\"field\":\"x\"}]}}");

        } else {
            sprintf(body, "{\"changelog\":{\"items\":[{\"field\":\"x\"}]},"
                    "\"issue\":%s}", cases[i].issue);
        }

        is_int(parse(body, &p), JIRA_PAYLOAD_OK, "other item, issue %s",
               cases[i].issue ? cases[i].issue : "absent");
        jira_payload_free(&p);
    }

    /* the smallest issue a status item accepts */

    is_int(parse("{\"changelog\":{\"items\":[" STATUS_ITEM "]},"
                 "\"issue\":{\"key\":\"K\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "status item, minimal issue");
    is_str(p.issue_key, "K", "minimal issue: key");
    ok(!p.has_assignee, "minimal issue: no assignee");
    jira_payload_free(&p);
}


static void
test_assignee(void)
{
    int              i;
    char             body[1024];
    jira_payload_t   p;

    static const char  *bad[] = {
        "\"bob\"", "\"\"", "1", "0", "true", "false", "[]", "[" BOB "]",
    };

    static const struct {
        const char  *assignee;   /* NULL: no "assignee" member */
        int          has;
        const char  *email;
        const char  *name;
        const char  *key;
    } cases[] = {
        { NULL, 0, NULL, NULL, NULL },
        { "null", 0, NULL, NULL, NULL },
        { BOB, 1, "bob@example.com", "bob", "JIRAUSER10002" },
        { "{}", 1, NULL, NULL, NULL },
        { "{\"name\":\"bob\",\"key\":\"bob\"}", 1, NULL, "bob", "bob" },
        { "{\"name\":\"bob\",\"emailAddress\":\"\"}", 1, NULL, "bob", NULL },
        { "{\"name\":\"bob\",\"emailAddress\":null}", 1, NULL, "bob", NULL },
        { "{\"name\":\"bob\",\"emailAddress\":7}", 1, NULL, "bob", NULL },
        { "{\"name\":\"bob\",\"emailAddress\":[\"b@x\"]}", 1, NULL, "bob",
          NULL },
        { "{\"emailAddress\":\" \"}", 1, " ", NULL, NULL },
        { "{\"emailAddress\":\"B\\u00f6b@example.com\",\"name\":5,"
          "\"key\":null}", 1, "B\xc3\xb6" "b@example.com", NULL, NULL },
        { "{\"accountId\":\"5b10a2844c20165700ede21g\","
          "\"displayName\":\"Cloud User\"}", 1, NULL, NULL, NULL },
    };

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        if (cases[i].assignee == NULL) {
            strcpy(body, "{\"changelog\":{\"items\":[" ASSIGNEE_ITEM "]},"
                   "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}");

        } else {
            sprintf(body, "{\"changelog\":{\"items\":[" ASSIGNEE_ITEM "]},"
                    "\"issue\":{\"key\":\"APP-1\",\"fields\":{\"assignee\":"
                    "%s}}}", cases[i].assignee);
        }

        is_int(parse(body, &p), JIRA_PAYLOAD_OK, "assignee case %d", i);
        ok(p.assignee_changed && !p.status_changed,
           "assignee case %d: flags", i);
        is_int(p.has_assignee, cases[i].has, "assignee case %d: has", i);
        is_str(p.assignee_email, cases[i].email,
               "assignee case %d: email", i);
        is_str(p.assignee_name, cases[i].name, "assignee case %d: name", i);
        is_str(p.assignee_key, cases[i].key, "assignee case %d: key", i);
        is_str(p.issue_key, "APP-1", "assignee case %d: issue key", i);
        is_str(p.assignee_to, "JIRAUSER10002", "assignee case %d: to", i);
        jira_payload_free(&p);
    }

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        sprintf(body, "{\"changelog\":{\"items\":[" ASSIGNEE_ITEM "]},"
                "\"issue\":{\"key\":\"APP-1\",\"fields\":{\"assignee\":%s}}}",
                bad[i]);
        is_int(parse(body, &p), JIRA_PAYLOAD_INVALID, "assignee %s",
               bad[i]);
        is_str(p.error, ERR_ASSIGNEE, "assignee %s: error", bad[i]);
        ok(is_cleared(&p), "assignee %s: nothing kept", bad[i]);
        jira_payload_free(&p);
    }

    /*
     * Sentry reads fields.assignee only for an assignee item, so a status
     * change is not refused over it.
     */

    is_int(parse("{\"changelog\":{\"items\":[" STATUS_ITEM "]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":"
                 "{\"assignee\":\"bob\"}}}", &p),
           JIRA_PAYLOAD_OK, "status item, odd assignee");
    ok(p.status_changed && !p.has_assignee && p.assignee_name == NULL,
       "status item, odd assignee: ignored");
    jira_payload_free(&p);

    /* the assignee is read even without an assignee item */

    is_int(parse("{\"changelog\":{\"items\":[" STATUS_ITEM "]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":"
                 "{\"assignee\":" BOB "}}}", &p),
           JIRA_PAYLOAD_OK, "status item, assignee present");
    ok(!p.assignee_changed && p.has_assignee, "status item: has_assignee");
    is_str(p.assignee_email, "bob@example.com", "status item: email");
    jira_payload_free(&p);

    /* nested assignee members are not the assignee's */

    is_int(parse("{\"changelog\":{\"items\":[" ASSIGNEE_ITEM "]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{\"assignee\":"
                 "{\"user\":" BOB "}}},\"user\":" BOB "}", &p),
           JIRA_PAYLOAD_OK, "email only in other objects");
    ok(p.has_assignee && p.assignee_email == NULL,
       "email only in other objects: NULL");
    jira_payload_free(&p);
}


static void
test_status(void)
{
    jira_payload_t  p;

    is_int(parse("{\"changelog\":{\"items\":[" STATUS_ITEM "]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "status item");
    ok(p.status_changed && !p.assignee_changed, "status item: flags");
    is_str(p.status_from, "10101", "status item: from");
    is_str(p.status_to, "10102", "status item: to");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[{\"field\":\"x\"},"
                 "{\"field\":\"status\",\"from\":\"1\",\"to\":\"3\"},"
                 "{\"field\":\"status\",\"from\":\"8\",\"to\":\"9\"}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "two status items");
    is_str(p.status_from, "1", "two status items: first from");
    is_str(p.status_to, "3", "two status items: first to");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[{\"field\":\"status\","
                 "\"from\":null,\"to\":10102}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "status from null, to a number");
    ok(p.status_changed && p.status_from == NULL && p.status_to == NULL,
       "status from/to not strings: NULL");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[{\"field\":\"status\"}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "status item without from/to");
    ok(p.status_changed && p.status_from == NULL && p.status_to == NULL,
       "status item without from/to: NULL");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[{\"field\":\"status\","
                 "\"from\":\"\",\"to\":\"\"}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "status from/to empty strings");
    is_str(p.status_from, "", "empty from kept");
    is_str(p.status_to, "", "empty to kept");
    jira_payload_free(&p);

    /* a "status" that is not an item is skipped */

    is_int(parse("{\"changelog\":{\"items\":[\"status\",{\"field\":\"status\","
                 "\"from\":\"2\",\"to\":\"4\"}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "status string then status item");
    is_str(p.status_from, "2", "status string skipped: from");
    jira_payload_free(&p);
}


/* the changelog's user key of the new assignee, for hidden emails */

static void
test_assignee_to(void)
{
    jira_payload_t  p;

    is_int(parse("{\"changelog\":{\"items\":[" STATUS_ITEM "]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "no assignee item");
    ok(p.assignee_to == NULL, "no assignee item: no to");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":[" STATUS_ITEM ","
                 ASSIGNEE_ITEM "]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":"
                 "{\"assignee\":{\"name\":\"bob\"}}}}", &p),
           JIRA_PAYLOAD_OK, "status and assignee items");
    ok(p.assignee_changed && p.status_changed,
       "status and assignee items: flags");
    is_str(p.assignee_to, "JIRAUSER10002", "status and assignee items: to");
    is_str(p.status_to, "10102", "status and assignee items: status to");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":["
                 "{\"field\":\"assignee\",\"from\":\"alice\","
                 "\"to\":\"JIRAUSER1\"},"
                 "{\"field\":\"assignee\",\"to\":\"JIRAUSER2\"}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "two assignee items");
    is_str(p.assignee_to, "JIRAUSER1", "two assignee items: the first to");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":["
                 "{\"field\":\"assignee\",\"from\":\"JIRAUSER1\","
                 "\"to\":null}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "assignee to null");
    ok(p.assignee_changed && p.assignee_to == NULL, "to null: NULL");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":["
                 "{\"field\":\"assignee\",\"to\":10002}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "assignee to a number");
    ok(p.assignee_to == NULL, "to not a string: NULL");
    jira_payload_free(&p);

    is_int(parse("{\"changelog\":{\"items\":["
                 "{\"field\":\"assignee\"}]},"
                 "\"issue\":{\"key\":\"APP-1\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_OK, "assignee item without to");
    ok(p.assignee_changed && p.assignee_to == NULL, "without to: NULL");
    jira_payload_free(&p);

    /* a failed parse keeps none of it */

    is_int(parse("{\"changelog\":{\"items\":[" ASSIGNEE_ITEM "]},"
                 "\"issue\":{\"key\":\"\",\"fields\":{}}}", &p),
           JIRA_PAYLOAD_INVALID, "assignee item, empty issue key");
    ok(is_cleared(&p), "empty issue key: to not kept");
    jira_payload_free(&p);
}


static void
test_changelog_id(void)
{
    int              i;
    char             body[256];
    jira_payload_t   p;

    static const struct {
        const char  *id;
        const char  *text;
    } cases[] = {
        { "\"952497\"", "952497" },
        { "952497", "952497" },
        { "0", "0" },
        { "-12", "-12" },
        { "9223372036854775807", "9223372036854775807" },
        { "-9223372036854775808", "-9223372036854775808" },
        { "\"\"", "" },
        { "\"abc-1\"", "abc-1" },
        { "1.5", NULL },
        { "1e3", NULL },
        { "null", NULL },
        { "true", NULL },
        { "[1]", NULL },
        { "{\"id\":1}", NULL },
    };

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        sprintf(body, "{\"changelog\":{\"id\":%s,\"items\":[]}}",
                cases[i].id);
        is_int(parse(body, &p), JIRA_PAYLOAD_OK, "changelog id %s",
               cases[i].id);
        is_str(p.changelog_id, cases[i].text, "changelog id %s: text",
               cases[i].id);
        jira_payload_free(&p);
    }

    is_int(parse("{\"changelog\":{\"items\":[]}}", &p), JIRA_PAYLOAD_OK,
           "changelog id absent");
    ok(p.changelog_id == NULL, "changelog id absent: NULL");
    jira_payload_free(&p);

    /* the number's text lives in the struct, not in a static buffer */

    {
        jira_payload_t  q;

        parse("{\"changelog\":{\"id\":111}}", &p);
        parse("{\"changelog\":{\"id\":222}}", &q);
        is_str(p.changelog_id, "111", "two results: first id");
        is_str(q.changelog_id, "222", "two results: second id");
        jira_payload_free(&p);
        jira_payload_free(&q);
    }
}


static void
test_updated_timestamp(void)
{
    jira_payload_t  p;

    is_int(parse("{\"timestamp\":1700000000000,\"changelog\":{\"items\":["
                 STATUS_ITEM "]},\"issue\":{\"key\":\"APP-1\",\"fields\":"
                 "{\"updated\":\"2023-11-14T22:13:20.000+0000\"}}}", &p),
           JIRA_PAYLOAD_OK, "updated and timestamp");
    is_str(p.updated, "2023-11-14T22:13:20.000+0000", "updated");
    is_int(p.timestamp, 1700000000000LL, "timestamp");
    jira_payload_free(&p);

    is_int(parse("{\"timestamp\":\"1700000000000\",\"issue\":{\"key\":\"A-1\","
                 "\"fields\":{\"updated\":1700000000000}}}", &p),
           JIRA_PAYLOAD_OK, "updated a number, timestamp a string");
    ok(p.updated == NULL, "updated a number: NULL");
    is_int(p.timestamp, 0, "timestamp a string: 0");
    is_str(p.issue_key, "A-1", "issue key read without a changelog");
    jira_payload_free(&p);

    is_int(parse("{\"timestamp\":1.7e12}", &p), JIRA_PAYLOAD_OK,
           "timestamp a real");
    is_int(p.timestamp, 0, "timestamp a real: 0");
    jira_payload_free(&p);

    is_int(parse("{\"timestamp\":-5}", &p), JIRA_PAYLOAD_OK,
           "timestamp negative");
    is_int(p.timestamp, -5, "timestamp negative: kept");
    jira_payload_free(&p);

    is_int(parse("{\"timestamp\":null,\"issue\":{\"fields\":{\"updated\":"
                 "null}}}", &p), JIRA_PAYLOAD_OK, "both null");
    ok(p.timestamp == 0 && p.updated == NULL, "both null: unset");
    jira_payload_free(&p);
}


/* bodies shaped like real Jira Server deliveries */

static void
test_real_shapes(void)
{
    jira_payload_t  p;

    static const char  assigned[] =
        "{\"timestamp\":1700000000000,"
        "\"webhookEvent\":\"jira:issue_updated\","
        "\"issue_event_type_name\":\"issue_assigned\","
        "\"user\":{\"self\":\"https://jira.example.com/rest/api/2/user?"
        "username=alice\",\"name\":\"alice\",\"key\":\"JIRAUSER10001\","
        "\"emailAddress\":\"alice@example.com\",\"avatarUrls\":{\"48x48\":"
        "\"https://jira.example.com/secure/useravatar?avatarId=10122\"},"
        "\"displayName\":\"Alice A\",\"active\":true,"
        "\"timeZone\":\"Europe/Berlin\"},"
        "\"issue\":{\"id\":\"10042\",\"self\":\"https://jira.example.com/rest/"
        "api/2/issue/10042\",\"key\":\"APP-1\",\"fields\":{"
        "\"summary\":\"Crash on start\",\"assignee\":" BOB ","
        "\"status\":{\"id\":\"10000\",\"name\":\"To Do\","
        "\"statusCategory\":{\"key\":\"new\"}},"
        "\"project\":{\"id\":\"10000\",\"key\":\"APP\"},"
        "\"updated\":\"2023-11-14T22:13:20.000+0100\"}},"
        "\"changelog\":{\"id\":\"952497\",\"items\":[" ASSIGNEE_ITEM "]}}";

    static const char  transition[] =
        "{\"timestamp\":1700000001000,"
        "\"webhookEvent\":\"jira:issue_updated\","
        "\"issue_event_type_name\":\"issue_generic\","
        "\"user\":{\"name\":\"alice\",\"key\":\"JIRAUSER10001\","
        "\"displayName\":\"Alice A\"},"
        "\"issue\":{\"key\":\"APP-1\",\"fields\":{\"status\":{\"id\":\"10102\","
        "\"name\":\"Done\"},\"assignee\":null}},"
        "\"changelog\":{\"id\":12345,\"items\":[{\"field\":\"Story Points\","
        "\"fieldtype\":\"custom\",\"from\":null,\"fromString\":null,"
        "\"to\":null,\"toString\":\"3\"}," STATUS_ITEM "]}}";

    static const char  unassigned[] =
        "{\"webhookEvent\":\"jira:issue_updated\","
        "\"issue\":{\"key\":\"OPS-77\",\"fields\":{\"assignee\":null}},"
        "\"changelog\":{\"id\":\"10\",\"items\":[{\"field\":\"assignee\","
        "\"fieldtype\":\"jira\",\"from\":\"JIRAUSER10002\","
        "\"fromString\":\"Bob B\",\"to\":null,\"toString\":null}]}}";

    static const char  commented[] =
        "{\"timestamp\":1700000002000,"
        "\"webhookEvent\":\"jira:issue_updated\","
        "\"issue_event_type_name\":\"issue_commented\","
        "\"issue\":{\"key\":\"APP-1\",\"fields\":{}},"
        "\"comment\":{\"id\":\"10500\",\"body\":\"Looks fixed\"}}";

    is_int(parse(assigned, &p), JIRA_PAYLOAD_OK, "assigned: parsed");
    ok(p.has_changelog && p.has_items && p.assignee_changed
       && !p.status_changed && p.has_assignee, "assigned: flags");
    is_str(p.issue_key, "APP-1", "assigned: issue key");
    is_str(p.assignee_email, "bob@example.com", "assigned: email");
    is_str(p.assignee_name, "bob", "assigned: name");
    is_str(p.assignee_key, "JIRAUSER10002", "assigned: key");
    is_str(p.changelog_id, "952497", "assigned: changelog id");
    is_str(p.updated, "2023-11-14T22:13:20.000+0100", "assigned: updated");
    is_int(p.timestamp, 1700000000000LL, "assigned: timestamp");
    is_str(p.error, "", "assigned: no error");
    ok(p.root != NULL, "assigned: document kept");
    jira_payload_free(&p);

    is_int(parse(transition, &p), JIRA_PAYLOAD_OK, "transition: parsed");
    ok(p.status_changed && !p.assignee_changed && !p.has_assignee,
       "transition: flags");
    is_str(p.status_from, "10101", "transition: from");
    is_str(p.status_to, "10102", "transition: to");
    is_str(p.changelog_id, "12345", "transition: numeric changelog id");
    jira_payload_free(&p);

    is_int(parse(unassigned, &p), JIRA_PAYLOAD_OK, "unassigned: parsed");
    ok(p.assignee_changed && !p.has_assignee && p.assignee_email == NULL,
       "unassigned: deassign");
    is_str(p.issue_key, "OPS-77", "unassigned: issue key");
    jira_payload_free(&p);

    is_int(parse(commented, &p), JIRA_PAYLOAD_OK, "comment only: parsed");
    ok(!p.has_changelog, "comment only: no changelog");
    jira_payload_free(&p);
}


static void
test_unterminated(void)
{
    char            *body;
    size_t           len;
    jira_payload_t   p;

    static const char  json[] =
        "{\"changelog\":{\"items\":[" ASSIGNEE_ITEM "]},"
        "\"issue\":{\"key\":\"APP-9\",\"fields\":{\"assignee\":" BOB "}}}";

    /* exactly the bytes, no NUL after them: valgrind/ASan see overreads */

    len = sizeof(json) - 1;
    body = malloc(len);

    if (body == NULL) {
        ok(0, "out of memory");
        return;
    }

    memcpy(body, json, len);

    is_int(jira_payload_parse(body, len, &p), JIRA_PAYLOAD_OK,
           "unterminated body");
    is_str(p.issue_key, "APP-9", "unterminated body: key");

    /* the document owns its strings: the body can go */
    free(body);

    is_str(p.assignee_email, "bob@example.com",
           "strings outlive the body");
    jira_payload_free(&p);

    body = malloc(len + 8);

    if (body == NULL) {
        ok(0, "out of memory");
        return;
    }

    memcpy(body, json, len);
    memcpy(body + len, "garbage!", 8);

    is_int(jira_payload_parse(body, len, &p), JIRA_PAYLOAD_OK,
           "bytes after len are ignored");
    jira_payload_free(&p);

    is_int(jira_payload_parse(body, len - 1, &p), JIRA_PAYLOAD_NOT_JSON,
           "len one short");
    jira_payload_free(&p);

    free(body);
}


static void
test_free(void)
{
    jira_payload_t  p;

    jira_payload_free(NULL);
    ok(1, "free(NULL)");

    parse("{\"changelog\":{\"items\":[" STATUS_ITEM "]},\"issue\":{\"key\":"
          "\"A-1\",\"fields\":{}}}", &p);
    jira_payload_free(&p);
    ok(is_cleared(&p), "OK: cleared by free");
    jira_payload_free(&p);
    ok(is_cleared(&p), "OK: freed twice");

    parse("{\"changelog\":true}", &p);
    jira_payload_free(&p);
    jira_payload_free(&p);
    is_str(p.error, ERR_CHANGELOG, "INVALID: freed twice, error kept");

    parse("[]", &p);
    jira_payload_free(&p);
    jira_payload_free(&p);
    is_str(p.error, ERR_NOT_OBJECT, "NOT_OBJECT: freed twice");

    parse("{", &p);
    jira_payload_free(&p);
    jira_payload_free(&p);
    ok(p.error[0] != '\0', "NOT_JSON: freed twice");

    /* a struct can be reused */

    parse("{\"changelog\":{\"id\":1}}", &p);
    jira_payload_free(&p);
    is_int(parse("{}", &p), JIRA_PAYLOAD_OK, "reused struct");
    ok(!p.has_changelog && p.error[0] == '\0', "reused struct: fresh");
    jira_payload_free(&p);
}


/*
 * A delivery the size Jira really sends for a busy issue: hundreds of
 * custom fields, a long comment thread, worklogs, then the changelog.
 */

static void
test_large(void)
{
    int              i, j;
    buf_t            b;
    jira_payload_t   p;

    memset(&b, 0, sizeof(buf_t));

    b.size = 64 * 1024;
    b.data = malloc(b.size);
    b.failed = (b.data == NULL);

    buf_add(&b, "{\"timestamp\":1700000003000,"
            "\"webhookEvent\":\"jira:issue_updated\","
            "\"issue_event_type_name\":\"issue_assigned\","
            "\"user\":%s,\"issue\":{\"id\":\"20001\","
            "\"self\":\"https://jira.example.com/rest/api/2/issue/20001\","
            "\"key\":\"BIG-4242\",\"fields\":{", BOB);

    for (i = 0; i < 600; i++) {
        switch (i % 4) {

        case 0:
            buf_add(&b, "\"customfield_%d\":\"value %d of a text field\",",
                    10000 + i, i);
            break;

        case 1:
            buf_add(&b, "\"customfield_%d\":{\"self\":\"https://jira.example"
                    ".com/rest/api/2/customFieldOption/%d\",\"value\":"
                    "\"Option %d\",\"id\":\"%d\"},", 10000 + i, i, i, i);
            break;

        case 2:
            buf_add(&b, "\"customfield_%d\":[\"com.atlassian.greenhopper."
                    "service.sprint.Sprint@%x[id=%d,state=CLOSED,name=Sprint"
                    " %d]\"],", 10000 + i, i * 7919, i, i);
            break;

        default:
            buf_add(&b, "\"customfield_%d\":%s,", 10000 + i,
                    (i % 8 == 3) ? "null" : "42.5");
        }
    }

    buf_add(&b, "\"comment\":{\"comments\":[");

    for (i = 0; i < 1000; i++) {
        buf_add(&b, "%s{\"self\":\"https://jira.example.com/rest/api/2/issue/"
                "20001/comment/%d\",\"id\":\"%d\",\"author\":%s,\"body\":\"",
                i ? "," : "", 30000 + i, 30000 + i, BOB);

        for (j = 0; j < 14; j++) {
            buf_add(&b, "Line %d of comment %d: steps \\\"to\\\" reproduce "
                    "\\u00e9\\n", j, i);
        }

        buf_add(&b, "\",\"created\":\"2023-11-%02dT10:00:00.000+0000\"}",
                i % 28 + 1);
    }

    buf_add(&b, "],\"maxResults\":1000,\"total\":1000,\"startAt\":0},"
            "\"worklog\":{\"worklogs\":[");

    for (i = 0; i < 200; i++) {
        buf_add(&b, "%s{\"timeSpentSeconds\":%d,\"comment\":\"work %d\"}",
                i ? "," : "", 60 * i, i);
    }

    buf_add(&b, "]},\"updated\":\"2023-11-14T22:13:23.000+0000\","
            "\"status\":{\"id\":\"3\",\"name\":\"In Progress\"},"
            "\"assignee\":%s}},\"changelog\":{\"id\":987654321,\"items\":["
            "{\"field\":\"Sprint\",\"fieldtype\":\"custom\",\"from\":\"\","
            "\"to\":\"12\"}," ASSIGNEE_ITEM "," STATUS_ITEM "]}}", BOB);

    if (!ok(!b.failed, "large body built")) {
        free(b.data);
        return;
    }

    ok(b.len >= LARGE_MIN, "large body is %zu bytes (at least 1 MiB)",
       b.len);

    is_int(jira_payload_parse(b.data, b.len, &p), JIRA_PAYLOAD_OK,
           "large body parsed");
    is_str(p.issue_key, "BIG-4242", "large: issue key");
    is_str(p.assignee_email, "bob@example.com", "large: email");
    is_str(p.changelog_id, "987654321", "large: changelog id");
    is_str(p.status_from, "10101", "large: status from");
    is_str(p.status_to, "10102", "large: status to");
    is_str(p.updated, "2023-11-14T22:13:23.000+0000", "large: updated");
    is_int(p.timestamp, 1700000003000LL, "large: timestamp");
    ok(p.assignee_changed && p.status_changed && p.has_assignee,
       "large: flags");
    jira_payload_free(&p);

    /* the same body with a duplicate key deep inside */

    memcpy(strstr(b.data, "\"customfield_10001\""), "\"customfield_10000\"",
           19);
    is_int(jira_payload_parse(b.data, b.len, &p), JIRA_PAYLOAD_NOT_JSON,
           "large body with a duplicate key");
    jira_payload_free(&p);

    free(b.data);
}
