#!/bin/sh
# signals.sh OUTDIR
#
# Records every common signal it receives, one name per line in OUTDIR/log,
# until OUTDIR/done exists; then exits 0. OUTDIR/ready holds its pid once the
# traps are set.
out=$1
ulimit -c 0
for s in HUP INT QUIT USR1 USR2 TERM WINCH CONT; do
	trap "echo $s >> '$out/log'" "$s"
done
echo $$ > "$out/ready.tmp"
mv "$out/ready.tmp" "$out/ready"
while [ ! -e "$out/done" ]; do sleep 0.05; done
