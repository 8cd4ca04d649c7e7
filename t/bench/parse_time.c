/*
 * Time jira_payload_parse() on one file: the CPU cost of a large Jira
 * body, apart from the network and the database.
 */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jira_payload.h"


int
main(int argc, char **argv)
{
    int              i, runs;
    long             len;
    char            *buf;
    FILE            *f;
    double           ms;
    jira_payload_t   p;
    struct timespec  t0, t1;

    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: parse_time FILE\n");
        return 1;
    }

    (void) fseek(f, 0, SEEK_END);
    len = ftell(f);
    (void) fseek(f, 0, SEEK_SET);

    buf = malloc(len);
    if (buf == NULL || fread(buf, 1, len, f) != (size_t) len) {
        return 1;
    }

    fclose(f);

    runs = 50;
    (void) clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < runs; i++) {
        if (jira_payload_parse(buf, len, &p) != JIRA_PAYLOAD_OK) {
            fprintf(stderr, "parse failed: %s\n", p.error);
            return 1;
        }

        jira_payload_free(&p);
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6)
         / runs;

    printf("parse %.2f ms per payload (%.0f MB/s)\n", ms,
           len / 1e6 / (ms / 1e3));

    free(buf);

    return 0;
}
