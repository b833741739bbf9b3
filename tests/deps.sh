#!/bin/sh
# Installs what the tests need when it is missing (Debian; as root).
# Usage: tests/deps.sh COMMAND:PACKAGE ... (a COMMAND starting with / is a
# file that must exist, such as a static library)
set -eu
missing=""
for pair in "$@"; do
    cmd=${pair%%:*} pkg=${pair#*:}
    case $cmd in
    /*) [ -e "$cmd" ] || missing="$missing $pkg" ;;
    *) command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing:$missing; install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
