#include <string.h>

#include "jira_time.h"


static int jira_time_digits(const char *s, int n);
static long long jira_time_days(int y, int m, int d);


/* n decimal digits at s, or -1 */

static int
jira_time_digits(const char *s, int n)
{
    int  v, i;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    return v;
}


/* days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar */

static long long
jira_time_days(int y, int m, int d)
{
    long long  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


long long
jira_time_parse_ms(const char *s)
{
    int        y, mo, d, h, mi, sec, ms, oh, om, sign, digits;
    long long  t;

    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    if (s == NULL || strlen(s) < 20) {
        return -1;
    }

    y = jira_time_digits(s, 4);
    mo = jira_time_digits(s + 5, 2);
    d = jira_time_digits(s + 8, 2);
    h = jira_time_digits(s + 11, 2);
    mi = jira_time_digits(s + 14, 2);
    sec = jira_time_digits(s + 17, 2);

    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]
        || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60
        || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':')
    {
        return -1;
    }

    s += 19;
    ms = 0;

    if (*s == '.') {
        s++;

        for (digits = 0; *s >= '0' && *s <= '9'; s++, digits++) {
            if (digits < 3) {
                ms = ms * 10 + (*s - '0');
            }
        }

        if (digits == 0) {
            return -1;
        }

        for ( /* void */ ; digits < 3; digits++) {
            ms *= 10;
        }
    }

    if (*s == 'Z' && s[1] == '\0') {
        oh = 0;
        om = 0;
        sign = 1;

    } else if (*s == '+' || *s == '-') {
        sign = (*s == '-') ? -1 : 1;
        oh = jira_time_digits(s + 1, 2);
        om = jira_time_digits(s + (s[3] == ':' ? 4 : 3), 2);

        if (oh < 0 || oh > 23 || om < 0 || om > 59
            || s[(s[3] == ':' ? 6 : 5)] != '\0')
        {
            return -1;
        }

    } else {
        return -1;
    }

    t = jira_time_days(y, mo, d) * 86400LL + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600LL + om * 60);

    return t * 1000 + ms;
}
