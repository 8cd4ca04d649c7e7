/*
 * Print a pgbench script that runs, per transaction, exactly the SQL one
 * assignment webhook runs in the module: BEGIN, the integration lookup
 * (the token's check against PostgreSQL), the delivery guard, the
 * affected-groups query, the assign statement (which also writes the
 * outbound sync rows) and COMMIT.
 * Parameters become pgbench variables; \gset carries results forward as
 * the module carries them in C.  pgbench sends each statement on its own
 * (it cannot pipeline a statement whose results it sets variables from);
 * the module sends BEGIN, the lookup and the guard in one round trip.
 */

#include <stdio.h>
#include <string.h>

#include "jira_guard.h"
#include "jira_sync.h"
#include "jira_webhook.h"


static void
print_sql(const char *sql, const char *const *params, size_t n,
    const char *gset)
{
    size_t       i;
    const char  *p;

    for (p = sql; *p; p++) {
        if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            i = (size_t) (p[1] - '1');
            if (i < n) {
                fputs(params[i], stdout);
                p++;
                continue;
            }
        }

        putchar(*p == '\n' ? ' ' : *p);
    }

    printf("%s\n", gset);
}


int
main(void)
{
    static const char *const  lookup[] = { ":ext" };
    static const char *const  guard[] = {
        ":integration_id", "('B-' || :k)", ":ms",
        "(:client_id || '-' || :cid)"
    };
    static const char *const  groups[] = {
        ":integration_id", "('B-' || :k)",
        "('bench' || :u || '@example.com')", "(:g_stale)"
    };
    static const char *const  assign[] = {
        ":group_id", ":project_id", ":organization_id", ":user_id",
        "(:user_email)", ":integration_id"
    };

    /* the webhooks' time is fixed (never stale), their changelog ids
       unique (never duplicates), as in t/bench/webhook.lua */
    printf("\\set k random(1, :keys)\n\\set u random(1, 2)\n"
           "\\set ms 1700000000000\n"
           "\\set cid random(1, 1000000000000000)\n");
    printf("BEGIN;\n");
    print_sql(jira_webhook_integration_stmt.sql, lookup, 1, " \\gset");
    print_sql(jira_guard_stmt.sql, guard, 4, " \\gset g_");
    print_sql(jira_sync_groups_stmt.sql, groups, 4, " \\gset");
    print_sql(jira_sync_assign_stmt.sql, assign, 6, ";");
    printf("COMMIT;\n");

    return 0;
}
