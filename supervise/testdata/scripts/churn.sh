#!/bin/sh
# churn.sh OUTDIR
#
# Until OUTDIR/done exists, keeps leaving orphans that exit at once, so that
# the init keeps getting zombies to reap: each one is started in the
# background by a subshell that exits at once (a double fork), half of them
# staying in the child's process group and half calling setsid first. Each
# appends its pid to OUTDIR/orphans. OUTDIR/ready appears after the first
# ones. Once done, the script waits until every orphan is gone from the
# process table (reaped) or 60 s have passed, and writes
# "orphans=N left=K" to OUTDIR/result (K: orphans still there).
out=$1
: > "$out/orphans"
first=1
while [ ! -e "$out/done" ]; do
	( sh -c 'echo $$ >> "$0/orphans"' "$out" & )
	( sh -c 'echo $$ >> "$0/orphans"; exec setsid true' "$out" & )
	if [ -n "$first" ]; then
		touch "$out/ready"
		first=
	fi
done

# left: how many listed orphans are still in the process table.
left() {
	k=0
	while read -r pid; do
		[ -e "/proc/$pid" ] && k=$((k + 1))
	done < "$out/orphans"
	echo "$k"
}

sleep 0.2 # the last orphans list themselves
end=$(($(date +%s) + 60))
while :; do
	k=$(left)
	[ "$k" -eq 0 ] && break
	[ "$(date +%s)" -ge "$end" ] && break
	sleep 0.1
done
n=$(wc -l < "$out/orphans")
echo "orphans=$n left=$k" > "$out/result.tmp"
mv "$out/result.tmp" "$out/result"
