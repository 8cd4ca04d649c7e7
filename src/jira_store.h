/*
 * PostgreSQL access for pool threads: one connection per thread, created
 * lazily (never before fork), prepared statements, reconnect after
 * failure, a statement timeout on every query.  No nginx headers here.
 */

#ifndef _JIRA_STORE_H_INCLUDED_
#define _JIRA_STORE_H_INCLUDED_


#include <libpq-fe.h>


/* the schema version this code needs (src/sql/NNN_*.sql) */
#define JIRA_SCHEMA_VERSION       5

#define JIRA_STORE_MAX_STMTS      128


typedef enum {
    JIRA_OK = 0,
    JIRA_EUNAVAIL,       /* database unreachable, restarting or too slow */
    JIRA_ESCHEMA,        /* schema missing or older than needed */
    JIRA_ERETRY,         /* serialization failure or deadlock: run again */
    JIRA_ECONFLICT,      /* unique violation */
    JIRA_EDB             /* any other database error */
} jira_err_e;


typedef struct {
    const char          *conninfo;
    int                  statement_timeout;    /* ms */
    int                  connect_timeout;      /* s */
} jira_store_conf_t;


/* a statement prepared once per connection, on first use */
typedef struct {
    const char          *name;
    const char          *sql;
} jira_stmt_t;


typedef struct jira_store_s  jira_store_t;


/* once per process, before any pool thread runs a task */
int jira_store_process_init(void);

/* once per process at exit, when no pool thread runs any more */
void jira_store_process_exit(void);

/*
 * The calling thread's connection, connected and with a verified schema;
 * NULL with *err set (and jira_store_error() text) otherwise.
 */
jira_store_t *jira_store_thread(const jira_store_conf_t *conf,
    jira_err_e *err);

/* text of the last failure of the calling thread */
const char *jira_store_error(void);

int jira_store_schema_version(jira_store_t *st);

/*
 * Run a prepared statement; NULL on failure (error classified into *err).
 * values may hold NULLs for SQL NULL.  The caller PQclear()s the result.
 * Outside a transaction a statement that finds the connection dead is
 * run once more on a new one: only reads may run outside transactions.
 */
PGresult *jira_store_exec(jira_store_t *st, const jira_stmt_t *stmt,
    int n, const char *const *values, jira_err_e *err);

/*
 * Queue a statement to go with the next jira_store_exec() in the same
 * round trip.  Once that returns, *res holds the statement's result
 * (the caller PQclear()s it), or NULL if anything of the round trip
 * failed: the error is the one jira_store_exec() reports.  values must
 * stay valid until then.
 */
jira_err_e jira_store_queue(jira_store_t *st, const jira_stmt_t *stmt,
    int n, const char *const *values, PGresult **res);

/* a statement whose result is not needed; returns rows affected or -1 */
long jira_store_run(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, jira_err_e *err);

/* BEGIN is sent with the transaction's first statement */
jira_err_e jira_store_begin(jira_store_t *st);
jira_err_e jira_store_commit(jira_store_t *st);
void jira_store_rollback(jira_store_t *st);


#endif /* _JIRA_STORE_H_INCLUDED_ */
