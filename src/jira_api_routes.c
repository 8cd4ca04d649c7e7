/*
 * The table of /api/0/ routes answered on pool threads.  Issue reads
 * (issues/{id}) are routed by the glue itself: they go through the
 * shared-memory cache first.
 */

#include <string.h>

#include "jira_api.h"
#include "jira_integrations.h"
#include "jira_project.h"
#include "jira_setup.h"


const jira_api_route_t  jira_api_routes[] = {
    { "teams/*/*/projects", JIRA_ALLOW(JIRA_METHOD_POST),
      jira_project_create },
    { "projects/*/*", JIRA_ALLOW(JIRA_METHOD_PUT)
                      | JIRA_ALLOW(JIRA_METHOD_DELETE),
      jira_project_details },
    { "organizations/*/integrations/jira-server/setup",
      JIRA_ALLOW(JIRA_METHOD_POST), jira_setup_pipeline },
    { "organizations/*/integrations", JIRA_ALLOW(JIRA_METHOD_GET),
      jira_integrations_list },
    { "organizations/*/integrations/*", JIRA_ALLOW(JIRA_METHOD_GET)
                                        | JIRA_ALLOW(JIRA_METHOD_PUT)
                                        | JIRA_ALLOW(JIRA_METHOD_POST)
                                        | JIRA_ALLOW(JIRA_METHOD_DELETE),
      jira_integrations_details },
    { NULL, 0, NULL }
};


const jira_api_route_t *
jira_api_route(const char *const *segs, const size_t *lens, size_t n)
{
    size_t                   i, len;
    const char              *p, *e;
    const jira_api_route_t  *route;

    for (route = jira_api_routes; route->pattern != NULL; route++) {
        p = route->pattern;

        for (i = 0; i < n && *p != '\0'; i++) {
            e = strchr(p, '/');
            len = e ? (size_t) (e - p) : strlen(p);

            if (!(len == 1 && p[0] == '*')
                && (len != lens[i] || memcmp(p, segs[i], len) != 0))
            {
                break;
            }

            p += len;
            if (*p == '/') {
                p++;
            }
        }

        if (i == n && *p == '\0') {
            return route;
        }
    }

    return NULL;
}
