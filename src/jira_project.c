/*
 * Project endpoints: TeamProjectsEndpoint.post, ProjectDetailsEndpoint
 * .put and Project.delete (reference: sentry-behaviour.md §5).  DRF's
 * order: authentication (401), scope (403), the organization, team or
 * project (404), then the body (400).  Each request is one transaction;
 * saves in one organization take turns on an advisory lock, as Sentry's
 * "slug:project:{organization_id}" lock makes them.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <unictype.h>
#include <unistr.h>

#include "jira_project.h"
#include "jira_slug.h"
#include "jira_snowflake.h"



#define JIRA_PROJECT_NOT_FOUND  "The requested resource does not exist"
#define JIRA_PROJECT_TAKEN      "A project with this slug already exists."


typedef struct {
    json_t                  *errors;        /* {"field": ["message"]} */
    char                     detail[256];   /* unreadable body, or "" */
    char                    *name;          /* trimmed; NULL: absent */
    char                    *slug;          /* NULL: absent or null */
} jira_project_body_t;


typedef struct {
    const jira_api_in_t     *in;
    const char              *org_slug;
    const char              *slug;       /* team or project in the path */
    jira_api_actor_t         actor;
    char                     org[32];    /* actor.org_id as text */
    jira_project_body_t      body;
} jira_project_ctx_t;


static void jira_project_call(const jira_api_in_t *in, jira_api_out_t *out,
    int partial, jira_api_txn_pt txn);
static jira_err_e jira_project_create_txn(jira_store_t *st, void *data,
    jira_api_out_t *out);
static jira_err_e jira_project_update_txn(jira_store_t *st, void *data,
    jira_api_out_t *out);
static jira_err_e jira_project_delete_txn(jira_store_t *st, void *data,
    jira_api_out_t *out);
static PGresult *jira_project_named(jira_store_t *st,
    const jira_stmt_t *stmt, jira_project_ctx_t *ctx, jira_api_out_t *out,
    jira_err_e *err);
static jira_err_e jira_project_check(jira_store_t *st,
    jira_project_ctx_t *ctx, const char *id, jira_api_out_t *out);
static jira_err_e jira_project_lock(jira_store_t *st,
    jira_project_ctx_t *ctx);
static jira_err_e jira_project_taken(jira_store_t *st,
    jira_project_ctx_t *ctx, const char *slug, const char *id, int *taken);
static jira_err_e jira_project_unique_slug(jira_store_t *st,
    jira_project_ctx_t *ctx, char *slug, jira_api_out_t *out);
static jira_err_e jira_project_insert(jira_store_t *st,
    jira_project_ctx_t *ctx, const char *slug, PGresult **row,
    jira_api_out_t *out);
static jira_err_e jira_project_groups(jira_store_t *st, const char *id,
    jira_api_out_t *out);
static int jira_project_answer(jira_api_out_t *out, int status,
    PGresult *res);
static int jira_project_body(const jira_api_in_t *in, int partial,
    jira_project_body_t *b);
static int jira_project_char(json_t *obj, const char *key, int required,
    int allow_null, size_t max, int slug, char **value, json_t *errors);
static int jira_project_error(json_t *errors, const char *field,
    const char *fmt, ...);
static void jira_project_trim(const char *s, size_t len, size_t *start,
    size_t *end);
static int jira_project_space(ucs4_t c);
static void jira_project_body_free(jira_project_body_t *b);


/* $1 organization id: one lock per organization for all slug writes */
static const jira_stmt_t  jira_project_lock_stmt = {
    "jira_project_lock",
    "SELECT pg_advisory_xact_lock("
    "         hashtextextended('jira_sync.project_slug:' || $1::text, 0))"
};

/* $1 organization, $2 team slug; the share lock keeps the team there */
static const jira_stmt_t  jira_project_team_stmt = {
    "jira_project_team",
    "SELECT id FROM team"
    " WHERE organization_id = $1::bigint AND slug = $2"
    " FOR KEY SHARE"
};

/* slug__iexact in the organization, $3 a project to leave out or NULL */
static const jira_stmt_t  jira_project_taken_stmt = {
    "jira_project_taken",
    "SELECT EXISTS (SELECT 1 FROM project"
    "                WHERE organization_id = $1::bigint"
    "                  AND lower(slug) = lower($2)"
    "                  AND id IS DISTINCT FROM $3::bigint)"
};

#define JIRA_PROJECT_COLUMNS                                                \
    " id::text, slug, name,"                                                \
    " to_char(date_added AT TIME ZONE 'UTC',"                               \
    "         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* the id from project_id_seq */
static const jira_stmt_t  jira_project_insert_stmt = {
    "jira_project_insert",
    "INSERT INTO project (organization_id, slug, name)"
    " VALUES ($1::bigint, $2, $3)"
    " RETURNING" JIRA_PROJECT_COLUMNS
};

/* a snowflake id: a colliding one inserts nothing, and another is tried */
static const jira_stmt_t  jira_project_insert_id_stmt = {
    "jira_project_insert_id",
    "INSERT INTO project (id, organization_id, slug, name)"
    " VALUES ($1::bigint, $2::bigint, $3, $4)"
    " ON CONFLICT (id) DO NOTHING"
    " RETURNING" JIRA_PROJECT_COLUMNS
};

static const jira_stmt_t  jira_project_add_team_stmt = {
    "jira_project_add_team",
    "INSERT INTO project_team (project_id, team_id)"
    " VALUES ($1::bigint, $2::bigint)"
};

/*
 * $1 organization, $2 slug: the project, locked for a rename; only
 * ObjectStatus.ACTIVE (0) ones are found
 */
static const jira_stmt_t  jira_project_find_stmt = {
    "jira_project_find",
    "SELECT id::text, slug, name FROM project"
    " WHERE organization_id = $1::bigint AND slug = $2 AND status = 0"
    " FOR NO KEY UPDATE"
};

/* the same without a lock: a delete locks the groups first */
static const jira_stmt_t  jira_project_peek_stmt = {
    "jira_project_peek",
    "SELECT id::text FROM project"
    " WHERE organization_id = $1::bigint AND slug = $2 AND status = 0"
};

/*
 * Webhooks lock groups in id order and then touch the project row
 * through foreign keys; a delete takes the locks in the same order.
 */
static const jira_stmt_t  jira_project_lock_groups_stmt = {
    "jira_project_lock_groups",
    "SELECT count(*) FROM (SELECT id FROM issue_group"
    "                       WHERE project_id = $1::bigint"
    "                       ORDER BY id FOR UPDATE) g"
};

static const jira_stmt_t  jira_project_lock_row_stmt = {
    "jira_project_lock_row",
    "SELECT slug, name FROM project"
    " WHERE id = $1::bigint AND organization_id = $2::bigint"
    "   AND slug = $3 AND status = 0"
    " FOR UPDATE"
};

static const jira_stmt_t  jira_project_update_stmt = {
    "jira_project_update",
    "UPDATE project SET name = coalesce($2, name), slug = coalesce($3, slug)"
    " WHERE id = $1::bigint"
    " RETURNING" JIRA_PROJECT_COLUMNS
};

/* the project's groups, one more than fits in the changes */
static const jira_stmt_t  jira_project_groups_stmt = {
    "jira_project_groups",
    "SELECT id FROM issue_group WHERE project_id = $1::bigint"
    " ORDER BY id LIMIT $2::integer"
};

/* remove_notification_settings_for_project(): rows with no foreign key */
static const jira_stmt_t  jira_project_nso_stmt = {
    "jira_project_nso",
    "DELETE FROM notification_setting_option"
    " WHERE scope_type = 'project' AND scope_identifier = $1::bigint"
};

static const jira_stmt_t  jira_project_nsp_stmt = {
    "jira_project_nsp",
    "DELETE FROM notification_setting_provider"
    " WHERE scope_type = 'project' AND scope_identifier = $1::bigint"
};

/* RegionOutbox(ORGANIZATION_SCOPE, organization, PROJECT_UPDATE, id) */
static const jira_stmt_t  jira_project_outbox_stmt = {
    "jira_project_outbox",
    "INSERT INTO region_outbox (shard_scope, shard_identifier, category,"
    "                           object_identifier, payload)"
    " VALUES ($1::integer, $2::bigint, $3::integer, $4::bigint,"
    "         jsonb_build_object('deleted', true, 'slug', $5::text,"
    "                            'name', $6::text))"
};

/* every dependent row goes with it through ON DELETE CASCADE */
static const jira_stmt_t  jira_project_delete_stmt = {
    "jira_project_delete",
    "DELETE FROM project WHERE id = $1::bigint"
};


void
jira_project_create(const jira_api_in_t *in, jira_api_out_t *out)
{
    jira_project_call(in, out, 0, jira_project_create_txn);
}


void
jira_project_update(const jira_api_in_t *in, jira_api_out_t *out)
{
    jira_project_call(in, out, 1, jira_project_update_txn);
}


void
jira_project_delete(const jira_api_in_t *in, jira_api_out_t *out)
{
    jira_project_call(in, out, -1, jira_project_delete_txn);
}


void
jira_project_details(const jira_api_in_t *in, jira_api_out_t *out)
{
    if (in->method == JIRA_METHOD_DELETE) {
        jira_project_delete(in, out);

    } else {
        jira_project_update(in, out);
    }
}


/*
 * partial: 0 the body must have a name (create), 1 every field is
 * optional (update), -1 there is no body to read (delete)
 */

static void
jira_project_call(const jira_api_in_t *in, jira_api_out_t *out,
    int partial, jira_api_txn_pt txn)
{
    jira_err_e           err;
    jira_store_t        *st;
    jira_project_ctx_t   ctx;

    memset(&ctx, 0, sizeof(jira_project_ctx_t));
    ctx.in = in;

    /* the routes give organization and team or project as params 1, 2 */
    if (in->nparams < 3) {
        jira_api_detail(out, 404, JIRA_PROJECT_NOT_FOUND);
        return;
    }

    ctx.org_slug = in->params[1];
    ctx.slug = in->params[2];

    st = jira_api_store(in, out);
    if (st == NULL) {
        return;
    }

    if (jira_api_auth(st, in, "project:admin", ctx.org_slug, &ctx.actor,
                      out)
        != 0)
    {
        return;
    }

    (void) snprintf(ctx.org, sizeof(ctx.org), "%lld", ctx.actor.org_id);

    if (partial >= 0 && jira_project_body(in, partial, &ctx.body) != 0) {
        jira_project_body_free(&ctx.body);
        (void) snprintf(out->error, sizeof(out->error),
                        "out of memory reading a project body");
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    err = jira_api_txn(st, txn, &ctx, out);

    if (err == JIRA_ECONFLICT) {
        /* the unique index on (organization, lower(slug)) */
        jira_api_detail(out, 409, JIRA_PROJECT_TAKEN);

    } else if (err != JIRA_OK) {
        jira_api_fail(out, err);
    }

    jira_project_body_free(&ctx.body);
}


static jira_err_e
jira_project_create_txn(jira_store_t *st, void *data, jira_api_out_t *out)
{
    jira_project_ctx_t  *ctx = data;

    char                  team[32], slug[JIRA_SLUG_BUF];
    PGresult             *res, *row;
    jira_err_e            err;
    const char           *values[2];
    jira_project_body_t  *b;

    b = &ctx->body;

    err = jira_project_lock(st, ctx);
    if (err != JIRA_OK) {
        return err;
    }

    res = jira_project_named(st, &jira_project_team_stmt, ctx, out, &err);
    if (res == NULL) {
        return err;
    }

    (void) snprintf(team, sizeof(team), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    err = jira_project_check(st, ctx, NULL, out);
    if (err != JIRA_OK || out->status != 0) {
        return err;
    }

    if (b->slug != NULL) {
        (void) snprintf(slug, sizeof(slug), "%s", b->slug);

    } else {
        err = jira_project_unique_slug(st, ctx, slug, out);
        if (err != JIRA_OK || out->status != 0) {
            return err;
        }
    }

    row = NULL;

    err = jira_project_insert(st, ctx, slug, &row, out);
    if (err != JIRA_OK || row == NULL) {
        return err;
    }

    values[0] = PQgetvalue(row, 0, 0);
    values[1] = team;

    if (jira_store_run(st, &jira_project_add_team_stmt, 2, values, &err)
        < 0)
    {
        PQclear(row);
        return err;
    }

    jira_log(&out->log, JIRA_LOG_INFO,
             "project-created project_id=%s organization_id=%s slug=%s",
             PQgetvalue(row, 0, 0), ctx->org, PQgetvalue(row, 0, 1));

    if (jira_project_answer(out, 201, row) != 0) {
        return JIRA_EDB;
    }

    return JIRA_OK;
}


static jira_err_e
jira_project_update_txn(jira_store_t *st, void *data, jira_api_out_t *out)
{
    jira_project_ctx_t  *ctx = data;

    int                   changed;
    char                  id[32];
    PGresult             *res, *row;
    jira_err_e            err;
    const char           *values[3];
    jira_project_body_t  *b;

    b = &ctx->body;

    if (b->slug != NULL) {
        err = jira_project_lock(st, ctx);
        if (err != JIRA_OK) {
            return err;
        }
    }

    res = jira_project_named(st, &jira_project_find_stmt, ctx, out, &err);
    if (res == NULL) {
        return err;
    }

    (void) snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));

    changed = (b->name != NULL && strcmp(b->name, PQgetvalue(res, 0, 2)))
              || (b->slug != NULL && strcmp(b->slug, PQgetvalue(res, 0, 1)));

    PQclear(res);

    err = jira_project_check(st, ctx, id, out);
    if (err != JIRA_OK || out->status != 0) {
        return err;
    }

    values[0] = id;
    values[1] = b->name;
    values[2] = b->slug;

    row = jira_store_exec(st, &jira_project_update_stmt, 3, values, &err);
    if (row == NULL) {
        return err;
    }

    if (changed) {
        /* cached issue reads carry the project's slug and name */
        err = jira_project_groups(st, id, out);
        if (err != JIRA_OK) {
            PQclear(row);
            return err;
        }

        jira_log(&out->log, JIRA_LOG_INFO,
                 "project-updated project_id=%s organization_id=%s slug=%s",
                 id, ctx->org, PQgetvalue(row, 0, 1));
    }

    if (jira_project_answer(out, 200, row) != 0) {
        return JIRA_EDB;
    }

    return JIRA_OK;
}


static jira_err_e
jira_project_delete_txn(jira_store_t *st, void *data, jira_api_out_t *out)
{
    jira_project_ctx_t  *ctx = data;

    char         id[32], outbox_scope[8], outbox_category[8];
    long         options, providers;
    PGresult    *res, *row;
    jira_err_e   err;
    const char  *values[6];

    res = jira_project_named(st, &jira_project_peek_stmt, ctx, out, &err);
    if (res == NULL) {
        return err;
    }

    (void) snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    values[0] = id;

    res = jira_store_exec(st, &jira_project_lock_groups_stmt, 1, values,
                          &err);
    if (res == NULL) {
        return err;
    }

    PQclear(res);

    /* renamed or deleted meanwhile: the path no longer names it */

    values[0] = id;
    values[1] = ctx->org;
    values[2] = ctx->slug;

    row = jira_store_exec(st, &jira_project_lock_row_stmt, 3, values, &err);
    if (row == NULL) {
        return err;
    }

    if (PQntuples(row) != 1) {
        PQclear(row);
        jira_api_detail(out, 404, JIRA_PROJECT_NOT_FOUND);
        return JIRA_OK;
    }

    values[0] = id;

    options = jira_store_run(st, &jira_project_nso_stmt, 1, values, &err);
    if (options < 0) {
        PQclear(row);
        return err;
    }

    providers = jira_store_run(st, &jira_project_nsp_stmt, 1, values, &err);
    if (providers < 0) {
        PQclear(row);
        return err;
    }

    /* read before the cascade takes them: their cache entries must go */
    err = jira_project_groups(st, id, out);
    if (err != JIRA_OK) {
        PQclear(row);
        return err;
    }

    (void) snprintf(outbox_scope, sizeof(outbox_scope), "%d",
                    JIRA_OUTBOX_SCOPE_ORGANIZATION);
    (void) snprintf(outbox_category, sizeof(outbox_category), "%d",
                    JIRA_OUTBOX_PROJECT_UPDATE);

    values[0] = outbox_scope;
    values[1] = ctx->org;
    values[2] = outbox_category;
    values[3] = id;
    values[4] = PQgetvalue(row, 0, 0);
    values[5] = PQgetvalue(row, 0, 1);

    if (jira_store_run(st, &jira_project_outbox_stmt, 6, values, &err) < 0) {
        PQclear(row);
        return err;
    }

    PQclear(row);

    values[0] = id;

    if (jira_store_run(st, &jira_project_delete_stmt, 1, values, &err) < 0) {
        return err;
    }

    jira_log(&out->log, JIRA_LOG_INFO,
             "project-deleted project_id=%s organization_id=%s groups=%s%zu"
             " notification_settings=%ld", id, ctx->org,
             out->changes.overflow ? ">" : "", out->changes.n,
             options + providers);

    out->status = 204;

    return JIRA_OK;
}


/*
 * The row a statement on ($1 organization, $2 slug) finds for the path's
 * project; NULL with *err set, or with *err JIRA_OK and out answered 404.
 */

static PGresult *
jira_project_named(jira_store_t *st, const jira_stmt_t *stmt,
    jira_project_ctx_t *ctx, jira_api_out_t *out, jira_err_e *err)
{
    PGresult    *res;
    const char  *values[2];

    values[0] = ctx->org;
    values[1] = ctx->slug;

    res = jira_store_exec(st, stmt, 2, values, err);
    if (res == NULL) {
        return NULL;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        jira_api_detail(out, 404, JIRA_PROJECT_NOT_FOUND);
        return NULL;
    }

    return res;
}


/*
 * After the project was found, as DRF does: the body's errors (400),
 * then a slug another project than id (NULL: any) has (409); out is
 * answered, or its status left 0.
 */

static jira_err_e
jira_project_check(jira_store_t *st, jira_project_ctx_t *ctx,
    const char *id, jira_api_out_t *out)
{
    int                   taken;
    jira_err_e            err;
    jira_project_body_t  *b;

    b = &ctx->body;

    if (b->detail[0] != '\0') {
        jira_api_detail(out, 400, "%s", b->detail);
        return JIRA_OK;
    }

    if (b->errors != NULL) {
        jira_api_json(out, 400, json_incref(b->errors));
        return JIRA_OK;
    }

    if (b->slug == NULL) {
        return JIRA_OK;
    }

    err = jira_project_taken(st, ctx, b->slug, id, &taken);

    if (err == JIRA_OK && taken) {
        jira_api_detail(out, 409, JIRA_PROJECT_TAKEN);
    }

    return err;
}


static jira_err_e
jira_project_lock(jira_store_t *st, jira_project_ctx_t *ctx)
{
    jira_err_e   err;
    const char  *values[1];

    values[0] = ctx->org;

    if (jira_store_run(st, &jira_project_lock_stmt, 1, values, &err) < 0) {
        return err;
    }

    return JIRA_OK;
}


static jira_err_e
jira_project_taken(jira_store_t *st, jira_project_ctx_t *ctx,
    const char *slug, const char *id, int *taken)
{
    PGresult    *res;
    jira_err_e   err;
    const char  *values[3];

    values[0] = ctx->org;
    values[1] = slug;
    values[2] = id;

    res = jira_store_exec(st, &jira_project_taken_stmt, 3, values, &err);
    if (res == NULL) {
        return err;
    }

    *taken = (PQgetvalue(res, 0, 0)[0] == 't');
    PQclear(res);

    return JIRA_OK;
}


/*
 * slugify_instance(project, name, reserved=RESERVED_PROJECT_SLUGS,
 * max_length=50) under the organization's lock.  When all 27 suffixes
 * are taken the last one stays and the insert meets the unique index.
 */

static jira_err_e
jira_project_unique_slug(jira_store_t *st, jira_project_ctx_t *ctx,
    char *slug, jira_api_out_t *out)
{
    int          n, taken;
    char         base[JIRA_SLUG_BUF], suffix[JIRA_SLUG_RANDOM_LEN + 1];
    size_t       size;
    unsigned     try;
    jira_err_e   err;

    n = jira_slug_base(ctx->body.name, strlen(ctx->body.name),
                       JIRA_SLUG_MAX_LEN, base);
    if (n < 0) {
        (void) snprintf(out->error, sizeof(out->error),
                        "could not slugify the project name: %s",
                        strerror(errno));
        return JIRA_EDB;
    }

    if (n == 0
        && jira_slug_random(base, JIRA_SLUG_RANDOM_LEN, JIRA_SLUG_HEX) != 0)
    {
        goto no_random;
    }

    (void) snprintf(slug, JIRA_SLUG_BUF, "%s", base);

    err = jira_project_taken(st, ctx, slug, NULL, &taken);
    if (err != JIRA_OK) {
        return err;
    }

    if (!taken && !jira_slug_decimal(slug)) {
        return JIRA_OK;
    }

    for (try = 0; (size = jira_slug_suffix_len(try)) != 0; try++) {
        if (jira_slug_random(suffix, size, JIRA_SLUG_ALPHABET) != 0) {
            goto no_random;
        }

        (void) jira_slug_suffixed(base, JIRA_SLUG_MAX_LEN, suffix, size,
                                  slug);

        err = jira_project_taken(st, ctx, slug, NULL, &taken);
        if (err != JIRA_OK) {
            return err;
        }

        if (!taken) {
            return JIRA_OK;
        }
    }

    return JIRA_OK;

no_random:

    (void) snprintf(out->error, sizeof(out->error),
                    "RAND_bytes() failed making a project slug");
    return JIRA_EDB;
}


/*
 * save_with_snowflake_id(): a fresh id for each of up to 5 tries, or
 * the id from project_id_seq.  *row gets id, slug, name, dateCreated.
 */

static jira_err_e
jira_project_insert(jira_store_t *st, jira_project_ctx_t *ctx,
    const char *slug, PGresult **row, jira_api_out_t *out)
{
    int                      try;
    char                     id[32];
    PGresult                *res;
    long long                snowflake;
    jira_err_e               err;
    const char              *values[4];
    jira_snowflake_t         sf;
    jira_snowflake_rc_e      rc;
    jira_snowflake_store_t   counter;

    if (!ctx->in->conf->snowflake) {
        values[0] = ctx->org;
        values[1] = slug;
        values[2] = ctx->body.name;

        res = jira_store_exec(st, &jira_project_insert_stmt, 3, values,
                              &err);
        if (res == NULL) {
            return err;
        }

        *row = res;
        return JIRA_OK;
    }

    jira_snowflake_store_init(&sf, &counter, st,
                              ctx->in->conf->snowflake_region);

    for (try = 0; try < JIRA_SNOWFLAKE_MAX_RETRIES; try++) {
        rc = jira_snowflake_next(&sf, &snowflake);

        if (rc == JIRA_SNOWFLAKE_COUNTER) {
            return counter.err;
        }

        if (rc != JIRA_SNOWFLAKE_OK) {
            (void) snprintf(out->error, sizeof(out->error),
                            "snowflake id: %s", jira_snowflake_strerror(rc));
            return JIRA_EDB;
        }

        (void) snprintf(id, sizeof(id), "%lld", snowflake);

        values[0] = id;
        values[1] = ctx->org;
        values[2] = slug;
        values[3] = ctx->body.name;

        res = jira_store_exec(st, &jira_project_insert_id_stmt, 4, values,
                              &err);
        if (res == NULL) {
            return err;
        }

        if (PQntuples(res) == 1) {
            *row = res;
            return JIRA_OK;
        }

        PQclear(res);

        jira_log(&out->log, JIRA_LOG_WARN,
                 "snowflake-collision project_id=%s try=%d", id, try + 1);
    }

    jira_api_detail(out, 409, JIRA_SNOWFLAKE_RETRY_DETAIL);

    return JIRA_OK;
}


/* the project's groups into out->changes, overflow past what fits */

static jira_err_e
jira_project_groups(jira_store_t *st, const char *id, jira_api_out_t *out)
{
    int          i, n;
    char         limit[16];
    PGresult    *res;
    jira_err_e   err;
    const char  *values[2];

    (void) snprintf(limit, sizeof(limit), "%d", JIRA_SYNC_MAX_GROUPS + 1);

    values[0] = id;
    values[1] = limit;

    res = jira_store_exec(st, &jira_project_groups_stmt, 2, values, &err);
    if (res == NULL) {
        return err;
    }

    n = PQntuples(res);

    for (i = 0; i < n && i < JIRA_SYNC_MAX_GROUPS; i++) {
        out->changes.groups[out->changes.n++] =
            strtoll(PQgetvalue(res, i, 0), NULL, 10);
    }

    if (n > JIRA_SYNC_MAX_GROUPS) {
        out->changes.overflow = 1;
    }

    PQclear(res);

    return JIRA_OK;
}


/* the project as Sentry's serializer shows it; res is released */

static int
jira_project_answer(jira_api_out_t *out, int status, PGresult *res)
{
    json_t  *json;

    json = json_pack("{s:s, s:s, s:s, s:s}",
                     "id", PQgetvalue(res, 0, 0),
                     "slug", PQgetvalue(res, 0, 1),
                     "name", PQgetvalue(res, 0, 2),
                     "dateCreated", PQgetvalue(res, 0, 3));
    PQclear(res);

    if (json == NULL) {
        (void) snprintf(out->error, sizeof(out->error),
                        "could not serialise a project");
        return -1;
    }

    jira_api_json(out, status, json);

    return (out->status == status) ? 0 : -1;
}


/*
 * The body as DRF's ProjectPostSerializer (partial 0) or
 * ProjectAdminSerializer (partial 1) sees it.  Returns -1 only when
 * memory ran out; findings go to b->detail and b->errors.
 */

static int
jira_project_body(const jira_api_in_t *in, int partial,
    jira_project_body_t *b)
{
    int           rc;
    json_t       *root, *errors;
    json_error_t  error;

    memset(b, 0, sizeof(jira_project_body_t));

    if (in->body_len == 0) {
        /* no body: an empty form, as DRF reads it */
        root = json_object();

    } else {
        root = json_loadb(in->body, in->body_len,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
        if (root == NULL) {
            (void) snprintf(b->detail, sizeof(b->detail),
                            "JSON parse error - %s", error.text);
            return 0;
        }
    }

    if (root == NULL) {
        return -1;
    }

    errors = json_object();
    if (errors == NULL) {
        json_decref(root);
        return -1;
    }

    rc = 0;

    if (json_is_null(root)) {
        rc = jira_project_error(errors, "non_field_errors",
                                "No data provided");

    } else if (!json_is_object(root)) {
        rc = jira_project_error(errors, "non_field_errors",
                                "Invalid data. Expected a dictionary, but"
                                " got %s.", jira_api_python_type(root));

    } else {
        rc = jira_project_char(root, "name", !partial, 0,
                               JIRA_PROJECT_NAME_MAX, 0, &b->name, errors);

        /* validate_name() of the create serializer */
        if (rc == 0 && !partial && b->name != NULL
            && jira_slug_reserved(b->name))
        {
            rc = jira_project_error(errors, "name",
                                    "The name \"%s\" is reserved and not"
                                    " allowed.", b->name);
        }

        if (rc == 0) {
            rc = jira_project_char(root, "slug", 0, 1, JIRA_SLUG_MAX_LEN, 1,
                                   &b->slug, errors);
        }

        /* validate_slug() of the admin serializer */
        if (rc == 0 && b->slug != NULL && jira_slug_reserved(b->slug)) {
            rc = jira_project_error(errors, "slug",
                                    "The slug \"%s\" is reserved and not"
                                    " allowed.", b->slug);
        }
    }

    json_decref(root);

    if (rc != 0) {
        json_decref(errors);
        return -1;
    }

    if (json_object_size(errors) == 0) {
        json_decref(errors);

    } else {
        b->errors = errors;
    }

    return 0;
}


/*
 * A DRF CharField: required, allow_null, trim_whitespace, no blank,
 * max_length (in characters), no NUL, and for a slug the slug pattern.
 * A valid value is stored (malloc()ed) in *value; otherwise the field's
 * messages go to errors.  Returns -1 when memory ran out.
 */

static int
jira_project_char(json_t *obj, const char *key, int required,
    int allow_null, size_t max, int slug, char **value, json_t *errors)
{
    int          bad;
    char         num[32];
    json_t      *v;
    size_t       len, start, end;
    const char  *s;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return required ? jira_project_error(errors, key,
                                             "This field is required.")
                        : 0;
    }

    if (json_is_null(v)) {
        return allow_null ? 0 : jira_project_error(errors, key,
                                          "This field may not be null.");
    }

    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);

    } else if (json_is_integer(v)) {
        /* str(data) */
        len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                       json_integer_value(v));
        s = num;

    } else {
        return jira_project_error(errors, key, "Not a valid string.");
    }

    jira_project_trim(s, len, &start, &end);

    if (start == end) {
        return jira_project_error(errors, key,
                                  "This field may not be blank.");
    }

    s += start;
    len = end - start;
    bad = 0;

    if (u8_mbsnlen((const uint8_t *) s, len) > max) {
        bad = 1;

        if (jira_project_error(errors, key, "Ensure this field has no more"
                               " than %zu characters.", max)
            != 0)
        {
            return -1;
        }
    }

    if (memchr(s, '\0', len) != NULL) {
        bad = 1;

        if (jira_project_error(errors, key,
                               "Null characters are not allowed.")
            != 0)
        {
            return -1;
        }
    }

    if (slug && !jira_slug_valid(s, len)) {
        bad = 1;

        if (jira_project_error(errors, key, "%s", JIRA_SLUG_INVALID) != 0) {
            return -1;
        }
    }

    if (bad) {
        return 0;
    }

    *value = strndup(s, len);

    return (*value == NULL) ? -1 : 0;
}


/* append a formatted message to errors[field] */

static int
jira_project_error(json_t *errors, const char *field, const char *fmt, ...)
{
    char     text[512];
    va_list  args;

    va_start(args, fmt);
    (void) vsnprintf(text, sizeof(text), fmt, args);
    va_end(args);

    return jira_api_field_error(errors, field, text);
}


/* str.strip(): the characters for which Python's str.isspace() holds */

static void
jira_project_trim(const char *s, size_t len, size_t *start, size_t *end)
{
    int             n;
    ucs4_t          c;
    const uint8_t  *p, *e, *prev;

    p = (const uint8_t *) s;
    e = p + len;

    while (p < e) {
        n = u8_mbtouc(&c, p, e - p);
        if (!jira_project_space(c)) {
            break;
        }

        p += n;
    }

    while (e > p) {
        prev = u8_prev(&c, e, p);
        if (prev == NULL || !jira_project_space(c)) {
            break;
        }

        e = prev;
    }

    *start = (const char *) p - s;
    *end = (const char *) e - s;
}


static int
jira_project_space(ucs4_t c)
{
    /* White_Space, and the four separators Python adds */
    return uc_is_property_white_space(c) || (c >= 0x1c && c <= 0x1f);
}


static void
jira_project_body_free(jira_project_body_t *b)
{
    json_decref(b->errors);
    free(b->name);
    free(b->slug);

    b->errors = NULL;
    b->name = NULL;
    b->slug = NULL;
}
