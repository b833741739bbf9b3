#!/bin/sh
# /demo: the seed's three steps inside the VM. nsinit is PID 1 here; this
# script runs as its payload in the VM's own namespaces and starts /init
# (nsinit again, now as a launcher) three times, each time printing the
# container's namespaces against PID 1's and the ids it sees.
NS="cgroup ipc mnt net pid time user uts"
# Inside a user namespace /proc/1/ns is out of reach, so PID 1's links go in
# by the environment.
PID1_NS=$(for ns in $NS; do echo "$ns=$(readlink /proc/1/ns/$ns)"; done)
export NS PID1_NS
inside='
for ns in $NS; do
  link=$(readlink /proc/self/ns/$ns)
  case "$PID1_NS" in *"$ns=$link"*) mark="";; *) mark="  <- new";; esac
  printf "    %-7s %-20s%s\n" "$ns" "$link" "$mark"
done
echo "    $(id)"
echo "    uid_map: $(head -1 /proc/self/uid_map | tr -s " ")   pid: $$"
'
echo
echo "== PID 1 (nsinit as the VM's init)"
sh -c "$inside" | sed 's/  <- new//'
echo
echo "== 1. /init -u: a new uts namespace only"
/init -u -- sh -c "$inside"
echo
echo "== 2. /init -U -p -m -u -i -n: six new namespaces, no maps (overflow ids)"
/init -U -p -m -u -i -n -- sh -c "$inside"
echo
echo "== 3. /init -U -p -m -u -i -n -r: the same, root mapped to the caller"
/init -U -p -m -u -i -n -r -- sh -c "$inside"
echo
