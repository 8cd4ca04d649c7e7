/*
 * Project slugs as Sentry makes them (reference: sentry-behaviour.md
 * §5.2): Django's slugify, the reserved words, the random suffixes.
 * Pure functions, no database and no nginx headers.
 */

#ifndef _JIRA_SLUG_H_INCLUDED_
#define _JIRA_SLUG_H_INCLUDED_


#include <stddef.h>


/* slugify_instance(..., max_length=50) for projects */
#define JIRA_SLUG_MAX_LEN       50

/* uuid4().hex[:12] when nothing is left of the name */
#define JIRA_SLUG_RANDOM_LEN    12

/* get_random_string()'s alphabet in Sentry: no '8', '0' twice */
#define JIRA_SLUG_ALPHABET      "abcdefghijklmnopqrstuvwxyz0123456790"
#define JIRA_SLUG_HEX           "0123456789abcdef"

/* (1 x 2), (5 x 3), (20 x 5), (1 x 12) */
#define JIRA_SLUG_SUFFIX_TRIES  27

/* longest suffixed slug: the cut base, "-", 12 characters */
#define JIRA_SLUG_BUF           (JIRA_SLUG_MAX_LEN + 1)

/* DRF's message for a value that does not match the slug pattern */
#define JIRA_SLUG_INVALID                                                   \
    "Enter a valid slug consisting of lowercase letters, numbers,"          \
    " underscores or hyphens. It cannot be entirely numeric."


/*
 * django.utils.text.slugify(): NFKD, characters outside ASCII dropped,
 * lower case, [^\w\s-] removed, runs of [-\s] made one "-", "-" and "_"
 * stripped from both ends.  s holds len bytes of UTF-8 (NULs allowed).
 * Returns a malloc()ed string (its length in *out_len when not NULL),
 * or NULL with errno EILSEQ for invalid UTF-8 or ENOMEM.
 */
char *jira_slugify(const char *s, size_t len, size_t *out_len);

/*
 * The slug Sentry starts from: slugify(label)[:max].strip("-"), then ""
 * when it is a reserved project slug.  out has room for max + 1 bytes.
 * Returns the length (0: nothing usable, take random characters), or -1
 * as jira_slugify() does.
 */
int jira_slug_base(const char *label, size_t len, size_t max, char *out);

/* 1 when s is one of Sentry's RESERVED_PROJECT_SLUGS */
int jira_slug_reserved(const char *s);

/* 1 when s matches ^(?![0-9]+$)[a-z0-9_\-]+$ */
int jira_slug_valid(const char *s, size_t len);

/* str.isdecimal() on an ASCII slug: non-empty and only digits */
int jira_slug_decimal(const char *s);

/* the suffix length of try n (0-based), or 0 after the last try */
size_t jira_slug_suffix_len(unsigned n);

/*
 * base[:max - size - 1] + "-" + the size characters of suffix, into out
 * (room for max + 1 bytes); max > size.  Returns the length.
 */
size_t jira_slug_suffixed(const char *base, size_t max, const char *suffix,
    size_t size, char *out);

/*
 * n characters drawn uniformly from the positions of alphabet (so a
 * character listed twice comes twice as often, as in Python's
 * secrets.choice()), from the system's CSPRNG; out gets a NUL too.
 * Returns 0, or -1 when no random bytes could be had.
 */
int jira_slug_random(char *out, size_t n, const char *alphabet);


#endif /* _JIRA_SLUG_H_INCLUDED_ */
