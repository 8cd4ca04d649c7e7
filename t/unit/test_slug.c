/*
 * Unit tests for src/jira_slug.c: Django's slugify(), the base slug
 * Sentry starts from, the slug pattern, the suffix schedule and the
 * random characters.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_slug.h"
#include "tap.h"


typedef struct {
    const char  *in;
    size_t       len;
    const char  *slug;       /* slugify(in) */
    const char  *base;       /* slugify(in)[:50].strip("-"), reserved: "" */
} slug_case_t;


static void test_table(void);
static void test_long(void);
static void test_invalid(void);
static void test_reserved(void);
static void test_valid(void);
static void test_decimal(void);
static void test_schedule(void);
static void test_suffixed(void);
static void test_random(void);
static char *repeat(const char *unit, int n);


/*
 * The expected values were computed outside this code base, with
 * Python 3.11 (Unicode 14.0, as libunistring 1.0) running Django's
 * slugify() and the first steps of Sentry's slugify_instance():
 *
 *   def slugify(value):
 *       value = unicodedata.normalize("NFKD", value)
 *       value = value.encode("ascii", "ignore").decode("ascii")
 *       value = re.sub(r"[^\w\s-]", "", value.lower())
 *       return re.sub(r"[-\s]+", "-", value).strip("-_")
 *
 *   def base(label):
 *       v = slugify(label)[:50].strip("-").strip()
 *       return "" if v in RESERVED_PROJECT_SLUGS else v
 */
static const slug_case_t  cases[] = {
    /* plain */
    { "My Project", 10,
      "my-project",
      "my-project" },
    /* surrounding spaces */
    { "  leading and trailing  ", 24,
      "leading-and-trailing",
      "leading-and-trailing" },
    /* accents */
    { "Caf\xc3\xa9 \xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9", 17,
      "cafe-unicode",
      "cafe-unicode" },
    /* letters without decomposition */
    { "\xc3\x86r\xc3\xb8sk\xc3\xb8" "bing", 13,
      "rskbing",
      "rskbing" },
    /* sharp s */
    { "stra\xc3\x9f" "e", 7,
      "strae",
      "strae" },
    /* dotted capital I */
    { "\xc4\xb0stanbul", 9,
      "istanbul",
      "istanbul" },
    /* CJK and kana only */
    { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x97"
      "\xe3\x83\xad\xe3\x82\xb8\xe3\x82\xa7\xe3\x82\xaf"
      "\xe3\x83\x88", 27,
      "",
      "" },
    /* CJK only */
    { "\xe9\xa1\xb9\xe7\x9b\xae", 6,
      "",
      "" },
    /* emoji only */
    { "\xf0\x9f\x9a\x80\xf0\x9f\x94\xa5\xe2\x9c\xa8", 11,
      "",
      "" },
    /* accents and emoji */
    { "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 "
      "\xf0\x9f\x9a\x80 Rocket", 23,
      "unicode-rocket",
      "unicode-rocket" },
    /* all digits */
    { "12345", 5,
      "12345",
      "12345" },
    /* reserved word */
    { "Settings", 8,
      "settings",
      "" },
    /* reserved with a hyphen */
    { "API Keys", 8,
      "api-keys",
      "" },
    /* reserved $all loses its $ */
    { "$all", 4,
      "all",
      "all" },
    /* reserved lower case */
    { "usage", 5,
      "usage",
      "" },
    /* punctuation */
    { "Hello, World!", 13,
      "hello-world",
      "hello-world" },
    /* symbols */
    { "C++ & C#", 8,
      "c-c",
      "c-c" },
    /* dots and slashes */
    { "foo.bar/baz", 11,
      "foobarbaz",
      "foobarbaz" },
    /* hyphen runs */
    { "--foo -- bar--", 14,
      "foo-bar",
      "foo-bar" },
    /* underscores survive inside */
    { "foo_-_bar", 9,
      "foo_-_bar",
      "foo_-_bar" },
    /* underscores stripped at the ends */
    { "__init__", 8,
      "init",
      "init" },
    /* nothing but - and _ */
    { "_-_", 3,
      "",
      "" },
    /* spaced hyphens */
    { "a - - b", 7,
      "a-b",
      "a-b" },
    /* tab, LF, CR */
    { "a\x09" "b\x0a" "c\x0d" "d", 7,
      "a-b-c-d",
      "a-b-c-d" },
    /* ASCII separators 0x1c-0x1f are \s */
    { "a\x1c" "b\x1f" "c", 5,
      "a-b-c",
      "a-b-c" },
    /* no-break space becomes a space */
    { "a\xc2\xa0" "b", 4,
      "a-b",
      "a-b" },
    /* em dash dropped */
    { "a \xe2\x80\x94 b", 7,
      "a-b",
      "a-b" },
    /* ligature */
    { "\xef\xac\x81le", 5,
      "file",
      "file" },
    /* vulgar fraction */
    { "\xc2\xbd price", 8,
      "12-price",
      "12-price" },
    /* roman numeral */
    { "\xe2\x85\xab", 3,
      "xii",
      "xii" },
    /* letterlike and circled */
    { "\xe2\x84\x8c\xe2\x91\xa0", 6,
      "h1",
      "h1" },
    /* full-width */
    { "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3 \xef\xbc\x91"
      "\xef\xbc\x92", 16,
      "abc-12",
      "abc-12" },
    /* Arabic ligature with spaces */
    { "\xef\xb7\xba", 3,
      "",
      "" },
    /* NUL inside */
    { "a\x00" "b", 3,
      "ab",
      "ab" },
    /* DZ digraph */
    { "\xc7\x84" "emal", 6,
      "dzemal",
      "dzemal" },
    /* titlecase digraph */
    { "\xc7\x85", 2,
      "dz",
      "dz" },
    /* 80 characters */
    { "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxx", 80,
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxx",
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
    /* cut on a hyphen */
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbb"
      "bbbbbbbbbbbbbbbbbbbbbbbb", 80,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbb"
      "bbbbbbbbbbbbbbbbbbbbbbbb",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
    /* cut before an underscore */
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_b", 51,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_b",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_" },
    /* repeated words */
    { "ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab"
      " ab ab ab ab ab ab ab ab ab ab ab ", 90,
      "ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab"
      "-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab",
      "ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab" },
    /* expanding numerals */
    { "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-\xe2\x85\xab-"
      "\xe2\x85\xab-\xe2\x85\xab-", 120,
      "xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-"
      "xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-"
      "xii-xii",
      "xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xii-xi" },
    /* 80 accented */
    { "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84"
      "\xc3\x84\xc3\x84\xc3\x84", 160,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaa",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
    /* a lone hyphen */
    { "-", 1,
      "",
      "" },
    /* empty */
    { "", 0,
      "",
      "" },
    /* trailing underscore */
    { "a_", 2,
      "a",
      "a" },
    /* Greek dropped */
    { "Project \xce\xa9", 10,
      "project",
      "project" },
    /* full-width word */
    { "\xef\xbc\xb0\xef\xbd\x92\xef\xbd\x8f\xef\xbd\x8a"
      "\xef\xbd\x85\xef\xbd\x83\xef\xbd\x94", 21,
      "project",
      "project" },
    /* half-width kana */
    { "\xef\xbe\x8c\xef\xbe\x9f\xef\xbe\x9b\xef\xbd\xbc"
      "\xef\xbe\x9e\xef\xbd\xaa\xef\xbd\xb8\xef\xbe\x84", 24,
      "",
      "" },
    /* leading combining marks */
    { "\xcc\x81\xcc\x81" "a", 5,
      "a",
      "a" },
    /* L with middle dot */
    { "\xc4\xbf", 2,
      "l",
      "l" },
    /* ij ligature */
    { "\xc4\xb3ssel", 6,
      "ijssel",
      "ijssel" },
    /* Hebrew letterlike */
    { "\xe2\x84\xb5", 3,
      "",
      "" },
    /* superscripts */
    { "\xe2\x81\xb5\xe2\x81\xb6", 6,
      "56",
      "56" },
};


int
main(void)
{
    test_table();
    test_long();
    test_invalid();
    test_reserved();
    test_valid();
    test_decimal();
    test_schedule();
    test_suffixed();
    test_random();

    return done_testing();
}


static void
test_table(void)
{
    int                 n;
    char               *slug, base[JIRA_SLUG_BUF];
    size_t              i, len;
    const slug_case_t  *c;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = &cases[i];

        slug = jira_slugify(c->in, c->len, &len);
        is_str(slug, c->slug, "slugify case %zu", i);
        is_int(slug ? (long long) len : -1, (long long) strlen(c->slug),
               "slugify case %zu: length", i);
        free(slug);

        n = jira_slug_base(c->in, c->len, JIRA_SLUG_MAX_LEN, base);
        is_str(n >= 0 ? base : NULL, c->base, "base case %zu", i);
        is_int(n, (long long) strlen(c->base), "base case %zu: length", i);
    }
}


/* names far longer than a slug, built at run time */

static void
test_long(void)
{
    int    n;
    char  *in, *want, *slug, base[JIRA_SLUG_BUF];

    /* 200 characters of "ab ": 400 ASCII bytes of slug, cut to 50 */
    in = repeat("ab ", 200);
    want = repeat("ab-", 200);
    want[strlen(want) - 1] = '\0';

    slug = jira_slugify(in, strlen(in), NULL);
    is_str(slug, want, "600 bytes of words");
    free(slug);

    n = jira_slug_base(in, strlen(in), JIRA_SLUG_MAX_LEN, base);
    is_int(n, 50, "base of 600 bytes: 50 characters");
    is_str(base, "ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab",
           "base of 600 bytes: cut at 50");

    free(in);
    free(want);

    /* a ligature expands 18 times under NFKD: U+FDFA */
    in = repeat("\xef\xb7\xba" "x", 200);
    slug = jira_slugify(in, strlen(in), NULL);
    ok(slug != NULL && strncmp(slug, "x-x-x-", 6) == 0,
       "NFKD expansion of 200 ligatures");
    free(slug);
    free(in);

    /* a cut inside a run that ends in hyphens after stripping */
    in = repeat("a", 50);
    n = jira_slug_base(in, 50, 10, base);
    is_str(base, "aaaaaaaaaa", "max other than 50");
    is_int(n, 10, "max other than 50: length");
    free(in);
}


static void
test_invalid(void)
{
    char  *slug, base[JIRA_SLUG_BUF];

    errno = 0;
    slug = jira_slugify("ab\xff" "cd", 5, NULL);
    ok(slug == NULL && errno == EILSEQ, "invalid UTF-8 refused");

    errno = 0;
    slug = jira_slugify("ab\xc3", 3, NULL);
    ok(slug == NULL && errno == EILSEQ, "truncated UTF-8 refused");

    slug = jira_slugify("\xed\xa0\x80", 3, NULL);
    ok(slug == NULL, "an encoded surrogate is refused");

    is_int(jira_slug_base("\xc0\xaf", 2, JIRA_SLUG_MAX_LEN, base), -1,
           "base of an overlong encoding: -1");

    slug = jira_slugify("", 0, NULL);
    is_str(slug, "", "empty input, empty slug");
    free(slug);
}


static void
test_reserved(void)
{
    size_t  i;

    static const char  *reserved[] = {
        "$all", "api-keys", "audit-log", "auth", "members", "projects",
        "rate-limits", "repos", "settings", "teams", "billing", "payments",
        "legal", "subscription", "support", "integrations",
        "developer-settings", "usage"
    };

    static const char  *allowed[] = {
        "all", "setting", "Settings", "settings-", "team", "api_keys",
        "usages", ""
    };

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        ok(jira_slug_reserved(reserved[i]), "reserved: %s", reserved[i]);
    }

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        ok(!jira_slug_reserved(allowed[i]), "not reserved: '%s'",
           allowed[i]);
    }
}


static void
test_valid(void)
{
    size_t  i;

    static const char  *valid[] = {
        "a", "my-project", "my_project", "1a", "a1", "0-0", "-", "_",
        "--", "123-", "x123", "a-b_c-9"
    };

    static const char  *invalid[] = {
        "", "1", "123", "0000", "My-Project", "a b", "a.b", "caf\xc3\xa9",
        "a/b", "a\n", "\xef\xbc\x91"
    };

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        ok(jira_slug_valid(valid[i], strlen(valid[i])), "valid: '%s'",
           valid[i]);
    }

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        ok(!jira_slug_valid(invalid[i], strlen(invalid[i])),
           "invalid: case %zu", i);
    }

    ok(!jira_slug_valid("ab\0cd", 5), "invalid: a NUL inside");
}


static void
test_decimal(void)
{
    ok(jira_slug_decimal("0"), "decimal: 0");
    ok(jira_slug_decimal("12345"), "decimal: 12345");
    ok(!jira_slug_decimal(""), "decimal: not the empty string");
    ok(!jira_slug_decimal("123a"), "decimal: not 123a");
    ok(!jira_slug_decimal("-1"), "decimal: not -1");
    ok(!jira_slug_decimal("1-2"), "decimal: not 1-2");
}


static void
test_schedule(void)
{
    unsigned  n;
    size_t    total, twos, threes, fives, twelves;

    total = twos = threes = fives = twelves = 0;

    for (n = 0; jira_slug_suffix_len(n) != 0; n++) {
        total++;

        switch (jira_slug_suffix_len(n)) {
        case 2:
            twos++;
            break;
        case 3:
            threes++;
            break;
        case 5:
            fives++;
            break;
        case 12:
            twelves++;
            break;
        }
    }

    is_int(total, 27, "27 suffix tries");
    is_int(twos, 1, "one of 2 characters");
    is_int(threes, 5, "five of 3");
    is_int(fives, 20, "twenty of 5");
    is_int(twelves, 1, "one of 12");

    is_int(jira_slug_suffix_len(0), 2, "first try: 2");
    is_int(jira_slug_suffix_len(1), 3, "second try: 3");
    is_int(jira_slug_suffix_len(5), 3, "sixth try: 3");
    is_int(jira_slug_suffix_len(6), 5, "seventh try: 5");
    is_int(jira_slug_suffix_len(25), 5, "26th try: 5");
    is_int(jira_slug_suffix_len(26), 12, "last try: 12");
    is_int(jira_slug_suffix_len(27), 0, "no 28th try");
    is_int(jira_slug_suffix_len(1000), 0, "no 1001st try");
}


static void
test_suffixed(void)
{
    char    out[JIRA_SLUG_BUF], *base;
    size_t  n;

    n = jira_slug_suffixed("my-project", 50, "x7", 2, out);
    is_str(out, "my-project-x7", "short base: base-suffix");
    is_int(n, 13, "short base: length");

    base = repeat("a", 50);

    n = jira_slug_suffixed(base, 50, "zz", 2, out);
    is_int(n, 50, "50 + 2: still 50");
    ok(strncmp(out, base, 47) == 0 && strcmp(out + 47, "-zz") == 0,
       "50 + 2: base[:47] + \"-zz\"");

    n = jira_slug_suffixed(base, 50, "qwert", 5, out);
    is_int(n, 50, "50 + 5: still 50");
    is_str(out + 44, "-qwert", "50 + 5: base[:44]");

    n = jira_slug_suffixed(base, 50, "abcdefghijkl", 12, out);
    is_int(n, 50, "50 + 12: still 50");
    is_str(out + 37, "-abcdefghijkl", "50 + 12: base[:37]");

    free(base);

    /* Sentry does not strip a hyphen the cut leaves: neither do we */
    base = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbb";
    (void) jira_slug_suffixed(base, 50, "xy", 2, out);
    is_str(out, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--xy",
           "a cut on a hyphen keeps it");
}


static void
test_random(void)
{
    int     seen[256], bad;
    char    out[4096];
    size_t  i, n;

    ok(jira_slug_random(out, 12, JIRA_SLUG_HEX) == 0, "12 hex characters");
    is_int(strlen(out), 12, "12 hex: length");
    is_int(strspn(out, JIRA_SLUG_HEX), 12, "12 hex: only hex digits");

    ok(jira_slug_random(out, 0, JIRA_SLUG_ALPHABET) == 0 && out[0] == '\0',
       "zero characters");

    memset(seen, 0, sizeof(seen));
    bad = 0;

    for (n = 0; n < 20; n++) {
        if (jira_slug_random(out, sizeof(out) - 1, JIRA_SLUG_ALPHABET) != 0)
        {
            bad = 1;
            break;
        }

        for (i = 0; out[i]; i++) {
            seen[(unsigned char) out[i]]++;
        }
    }

    ok(!bad, "81900 suffix characters drawn");
    is_int(seen['8'], 0, "never an '8' (Sentry's alphabet has none)");
    ok(seen['a'] > 0 && seen['z'] > 0 && seen['9'] > 0,
       "letters and digits occur");

    /* '0' is listed twice: about 4550 against 2275 for the others */
    ok(seen['0'] > seen['1'] * 3 / 2 && seen['0'] > seen['a'] * 3 / 2,
       "'0' comes about twice as often (%d against %d and %d)",
       seen['0'], seen['1'], seen['a']);

    for (i = 0, n = 0; i < 256; i++) {
        if (seen[i] && strchr(JIRA_SLUG_ALPHABET, (int) i) == NULL) {
            n++;
        }
    }

    is_int(n, 0, "nothing outside the alphabet");

    /* two draws of 12 are never the same */
    {
        char  a[13], b[13];

        (void) jira_slug_random(a, 12, JIRA_SLUG_ALPHABET);
        (void) jira_slug_random(b, 12, JIRA_SLUG_ALPHABET);
        ok(strcmp(a, b) != 0, "two draws differ");
    }
}


static char *
repeat(const char *unit, int n)
{
    int     i;
    char   *s;
    size_t  len;

    len = strlen(unit);

    s = malloc(len * n + 1);
    if (s == NULL) {
        abort();
    }

    for (i = 0; i < n; i++) {
        memcpy(s + i * len, unit, len);
    }

    s[len * n] = '\0';

    return s;
}
