#!/bin/sh
# zombies.sh N OUTDIR WAIT_SECONDS
#
# Leaves N orphans: each is started in the background by a subshell that exits
# at once (a double fork), so it is reparented to the init (PID 1, or the
# nearest subreaper). Each orphan records its pid and its new parent, then
# exits, and is a zombie until the init reaps it. Once every orphan has exited,
# the script counts the zombies whose parent is the init until there are none
# or WAIT_SECONDS have passed, and writes "zombies=C reparented=R" to
# OUTDIR/result (R: orphans whose new parent was the init).
n=$1 out=$2 wait=$3
init=$PPID

i=0
while [ "$i" -lt "$n" ]; do
	( sh -c 'sleep 0.2; read -r l < /proc/$$/stat; set -- $l; echo "$1 $4" > "$0.tmp"; mv "$0.tmp" "$0"' "$out/orphan.$i" & )
	i=$((i + 1))
done

# state PID: the state letter of PID, or "gone".
state() {
	{ read -r l < "/proc/$1/stat"; } 2>/dev/null || { echo gone; return; }
	set -- $l
	echo "$3"
}

reparented=0
i=0
while [ "$i" -lt "$n" ]; do
	while [ ! -e "$out/orphan.$i" ]; do sleep 0.05; done
	read -r pid ppid < "$out/orphan.$i"
	[ "$ppid" = "$init" ] && reparented=$((reparented + 1))
	# Wait until the orphan has exited: a zombie, or already reaped.
	while s=$(state "$pid") && [ "$s" != Z ] && [ "$s" != gone ]; do sleep 0.05; done
	i=$((i + 1))
done

count() {
	c=0
	for f in /proc/[0-9]*/stat; do
		{ read -r l < "$f"; } 2>/dev/null || continue
		set -- $l
		[ "$3" = Z ] && [ "$4" = "$init" ] && c=$((c + 1))
	done
	echo "$c"
}

end=$(($(date +%s) + wait))
while :; do
	c=$(count)
	[ "$c" -eq 0 ] && break
	[ "$(date +%s)" -ge "$end" ] && break
	sleep 0.1
done
echo "zombies=$c reparented=$reparented" > "$out/result.tmp"
mv "$out/result.tmp" "$out/result"
