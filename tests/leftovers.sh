#!/bin/sh
# What a test run leaves behind: `snapshot FILE` before, `check FILE` after.
# check lists every new entry of /tmp and /dev/shm, every new mount and
# every new process still alive, and fails if there is any.
# Not counted: this script's own ancestors (make, the shell running it) and
# their children, kernel threads, and zombies waiting for PID 1 (on some
# machines PID 1 reaps orphans only now and then).
set -eu

state() {
    echo "# tmp"
    ls -A /tmp /dev/shm 2>/dev/null | sed 's/^/file /'
    echo "# mounts"
    # Not podman's own state, which its first run makes and keeps (network
    # namespaces, container storage): the engine's, not a test's.
    awk '{ print "mount", $5, $(NF - 2) }' /proc/self/mountinfo |
        grep -Ev '^mount (/run/netns|/run/containers|/run/libpod|/var/lib/containers)(/| )' |
        sort -u
    echo "# processes"
    for stat in /proc/[0-9]*/stat; do
        # pid, state, parent and start time; the name may hold blanks.
        sed -n 's/^\([0-9]*\) (.*) \([A-Z]\) \([0-9]*\) \([0-9-]* \)\{17\}\([0-9]*\) .*/process \1 \2 \3 \5/p' \
            "$stat" 2>/dev/null || true
    done
}

case ${1:-} in
snapshot)
    mkdir -p "$(dirname "$2")"
    state | grep -v '^process' > "$2"
    state | awk '/^process/ { print "process", $2, $5 }' >> "$2"
    ;;
check)
    parent() { sed -n 's/^[0-9]* (.*) [A-Z] \([0-9]*\) .*/\1/p' "/proc/$1/stat" 2>/dev/null; }
    # Our ancestry: this shell, its parents up to PID 1.
    keep=" $$ "
    pid=$$
    while [ "$pid" -gt 1 ]; do
        pid=$(parent "$pid")
        keep="$keep$pid "
    done
    # Whether process $1 descends from this shell (the pipeline below).
    ours() {
        p=$1
        while [ -n "$p" ] && [ "$p" -gt 1 ]; do
            [ "$p" = $$ ] && return 0
            p=$(parent "$p")
        done
        return 1
    }
    new=$(state | while read -r kind a b c d; do
        case $kind in
        file | mount) grep -qxF "$kind $a${b:+ $b}" "$2" || echo "$kind $a${b:+ $b}" ;;
        process)
            # a pid, b state, c parent, d start time.
            grep -qxF "process $a $d" "$2" && continue
            case "$keep" in *" $a "* | *" $c "*) continue ;; esac
            # Kernel threads (children of kthreadd) come and go.
            [ "$a" = 2 ] || [ "$c" = 2 ] && continue
            [ "$b" = Z ] && [ "$c" = 1 ] && continue
            ours "$a" && continue
            [ -e "/proc/$a" ] || continue
            echo "process $a $(tr '\0' ' ' < "/proc/$a/cmdline" 2>/dev/null)"
            ;;
        esac
    done)
    if [ -n "$new" ]; then
        echo "left behind by the tests:" >&2
        echo "$new" >&2
        exit 1
    fi
    echo "leftovers: none (/tmp, /dev/shm, mounts, processes)"
    ;;
*)
    echo "usage: tests/leftovers.sh snapshot|check FILE" >&2
    exit 2
    ;;
esac
