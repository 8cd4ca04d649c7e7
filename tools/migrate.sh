#!/bin/sh
# Apply the schema migrations in src/sql/ that the database lacks, each in
# one transaction.  The database is the one psql reaches: PG* variables,
# or a connection string as the first argument.

set -e

dir=$(cd "$(dirname "$0")/../src/sql" && pwd)
db=${1:-${DATABASE_URL:-}}

psql_() {
    if [ -n "$db" ]; then
        psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
    else
        psql -X -q -v ON_ERROR_STOP=1 "$@"
    fi
}

have=0
if [ "$(psql_ -A -t -c "SELECT to_regclass('jira_sync.schema_migrations') IS NOT NULL")" = t ]; then
    have=$(psql_ -A -t -c "SELECT coalesce(max(version), 0) FROM jira_sync.schema_migrations")
fi

for f in "$dir"/[0-9][0-9][0-9]_*.sql; do
    v=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
    if [ "$v" -gt "$have" ]; then
        echo "migrate: applying $(basename "$f")"
        psql_ --single-transaction -f "$f"
    fi
done
