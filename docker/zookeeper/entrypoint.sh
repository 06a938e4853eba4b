#!/bin/sh
# The entrypoint of docker/zookeeper: writes zoo.cfg from the official
# zookeeper image's variables (unless $ZOO_CONF_DIR/zoo.cfg exists), writes
# myid, and runs ZooKeeper in the foreground with its log on the console.
set -eu

conf=$ZOO_CONF_DIR/zoo.cfg
if [ ! -f "$conf" ]; then
	{
		echo "dataDir=$ZOO_DATA_DIR"
		echo "dataLogDir=$ZOO_DATA_LOG_DIR"
		echo "tickTime=$ZOO_TICK_TIME"
		echo "initLimit=$ZOO_INIT_LIMIT"
		echo "syncLimit=$ZOO_SYNC_LIMIT"
		echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
		echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
		echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
		echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
		echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
		for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
			echo "$server"
		done
		if [ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]; then
			echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
		fi
		for extra in ${ZOO_CFG_EXTRA:-}; do
			echo "$extra"
		done
	} >"$conf"
fi
[ -f "$ZOO_DATA_DIR/myid" ] || echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"

# The jars of Debian's package; the zookeeper jar's manifest names the rest.
cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
# shellcheck disable=SC2086 # JVMFLAGS is a list of options
exec java ${JVMFLAGS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
	-Dzookeeper.log.dir=/tmp -Dzookeeper.root.logger=INFO,CONSOLE \
	-Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties \
	-Dzookeeper.jmx.log4j.disable=true \
	-cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf"
