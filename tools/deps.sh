#!/bin/sh
# Install the Debian packages the build, the tests and "make run" need,
# when any is missing.  Needs root (or sudo) only when something is missing.

set -e

PACKAGES="nginx nginx-dev libpq-dev postgresql postgresql-contrib
libcurl4-openssl-dev libjansson-dev libssl-dev libunistring-dev
perl libhttp-daemon-perl libcrypt-openssl-rsa-perl
libdbd-pg-perl curl make gcc clang valgrind wrk"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "installing:$missing"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

# the packaged nginx starts a server on port 80; the module does not need it
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q nginx 2>/dev/null; then
    $SUDO systemctl stop nginx || true
fi
