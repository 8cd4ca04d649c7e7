#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jira_body.h"


int
jira_body_load(const jira_body_t *body, const char **data, char **owned,
    char *error, size_t size)
{
    char                    *buf, *p;
    size_t                   i, done;
    ssize_t                  n;
    const jira_body_part_t  *part;

    *owned = NULL;

    if (body->n == 0 || body->len == 0) {
        *data = "";
        return 0;
    }

    if (body->n == 1 && body->parts[0].mem != NULL) {
        *data = body->parts[0].mem;
        return 0;
    }

    buf = malloc(body->len);
    if (buf == NULL) {
        (void) snprintf(error, size, "could not allocate %zu bytes for the"
                        " request body", body->len);
        return -1;
    }

    p = buf;

    for (i = 0; i < body->n; i++) {
        part = &body->parts[i];

        if (part->mem != NULL) {
            memcpy(p, part->mem, part->len);
            p += part->len;
            continue;
        }

        for (done = 0; done < part->len; done += n) {
            n = pread(part->fd, p + done, part->len - done,
                      (off_t) (part->off + done));

            if (n <= 0) {
                if (n < 0 && errno == EINTR) {
                    n = 0;
                    continue;
                }

                (void) snprintf(error, size, "could not read the spooled"
                                " request body: %s",
                                n == 0 ? "short read" : strerror(errno));
                free(buf);
                return -1;
            }
        }

        p += part->len;
    }

    *data = buf;
    *owned = buf;

    return 0;
}
