#!/bin/sh
# setsid.sh OUTDIR
#
# Starts a grandchild that leaves the process group and the session (a double
# fork, then setsid) and writes its pid to OUTDIR/gc.pid. The grandchild writes
# OUTDIR/gc.term and exits when it gets SIGTERM; SIGKILL leaves no trace. The
# script itself waits (and dies of SIGTERM); OUTDIR/ready holds its pid.
out=$1
( exec setsid sh -c '
	trap "echo TERM > \"$0/gc.term\"; exit 0" TERM
	echo $$ > "$0/gc.pid.tmp"; mv "$0/gc.pid.tmp" "$0/gc.pid"
	while :; do sleep 0.05; done' "$out" & )
while [ ! -e "$out/gc.pid" ]; do sleep 0.05; done
echo $$ > "$out/ready.tmp"
mv "$out/ready.tmp" "$out/ready"
while :; do sleep 0.05; done
