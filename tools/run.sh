#!/bin/bash
# "make run": a private PostgreSQL cluster and nginx with the module on
# 127.0.0.1:8080, with demo data.  Ctrl-C stops both.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/build/run
port=${PORT:-8080}
pgport=${PGPORT_RUN:-54329}
module=$top/build/ngx_http_jira_sync_module.so
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_running=0
nginx_pid=

stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping"
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    if [ "$pg_running" = 1 ]; then
        as_pg "$pgbin/pg_ctl" -D "$run/pg" -m fast -w stop >/dev/null || true
    fi
}
trap stop INT TERM EXIT

for p in "$port" "$pgport"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "port $p on 127.0.0.1 is in use; set PORT= or PGPORT_RUN=" >&2
        exit 1
    fi
done

rm -rf "$run"
mkdir -p "$run/pg" "$run/body"
chmod 755 "$run"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$run/pg"
chmod 700 "$run/pg"

echo "starting PostgreSQL on 127.0.0.1:$pgport"
as_pg "$pgbin/initdb" -D "$run/pg" -A trust -U postgres -E UTF8 \
      --locale C >/dev/null
as_pg "$pgbin/pg_ctl" -D "$run/pg" -w -l "$run/pg/log" \
      -o "-c listen_addresses=127.0.0.1 -p $pgport -k $run/pg" \
      start >/dev/null
pg_running=1

export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=jira_sync
createdb jira_sync
sh "$top/tools/migrate.sh"

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
token_hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)

psql -X -q -v ON_ERROR_STOP=1 -v secret="$secret" \
     -v token_hash="$token_hash" -f "$top/tools/demo.sql" >/dev/null

# the webhook URL's token: HS256 JWT {"id": external_id}, as Jira gets it
jwt=$(perl -MDigest::SHA=hmac_sha256 -MMIME::Base64=encode_base64url -e '
    my $in = encode_base64url(q({"alg":"HS256","typ":"JWT"})) . "."
           . encode_base64url(q({"id":"jira.example.com:jira-sync-demo"}));
    print $in, ".", encode_base64url(hmac_sha256($in, $ARGV[0]));' "$secret")

user=
[ "$(id -u)" -eq 0 ] && user="user root;"

sed -e "s|@MODULE@|$module|" -e "s|@RUN@|$run|g" -e "s|@PORT@|$port|" \
    -e "s|@USER@|$user|" \
    -e "s|@CONNINFO@|host=127.0.0.1 port=$pgport dbname=jira_sync user=postgres|" \
    "$top/tools/nginx.conf.in" > "$run/nginx.conf"

/usr/sbin/nginx -t -q -p "$run" -c "$run/nginx.conf"
/usr/sbin/nginx -p "$run" -c "$run/nginx.conf" &
nginx_pid=$!

url="http://127.0.0.1:$port/extensions/jira-server/issue-updated/$jwt/"
cat <<TXT

nginx with ngx_http_jira_sync_module listens on 127.0.0.1:$port.
Demo: organization "acme", project "api", users alice@example.com and
bob@example.com, Jira issue DEMO-1 linked to issue group 1.

Assign DEMO-1's group to Bob, as Jira would tell us:

curl -i -X POST '$url' -H 'Content-Type: application/json' -d '{"webhookEvent": "jira:issue_updated", "issue": {"key": "DEMO-1", "fields": {"assignee": {"name": "bob", "emailAddress": "bob@example.com"}}}, "changelog": {"id": "10001", "items": [{"field": "assignee", "to": "bob", "toString": "Bob Brown"}]}}'

Unassign it:

curl -i -X POST '$url' -H 'Content-Type: application/json' -d '{"webhookEvent": "jira:issue_updated", "issue": {"key": "DEMO-1", "fields": {"assignee": null}}, "changelog": {"id": "10002", "items": [{"field": "assignee", "from": "bob", "to": null}]}}'

Read the group and its assignee:

curl -s http://127.0.0.1:$port/api/0/issues/1/ -H 'Authorization: Bearer $token'

Database: psql -h 127.0.0.1 -p $pgport -U postgres jira_sync
Ctrl-C stops nginx and PostgreSQL.

TXT

wait "$nginx_pid"
