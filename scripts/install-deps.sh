#!/usr/bin/env bash
# Installs the Debian packages zkfence's demo, tests and benchmarks use, when
# they are missing. Idempotent: with everything present it changes nothing.
set -euo pipefail

packages=(
  zookeeper            # ZooKeeper 3.8, started by the test harness on loopback ports
  default-jre-headless # the JVM ZooKeeper runs on
  postgresql-15        # the demo's database, and the clean-shutdown tests
  mariadb-server       # MariaDB 10.11 for the clean-shutdown tests
  mariadb-backup       # zkfence backup --engine mysql, and the restore tests
  tini dumb-init       # the init processes zkfence is compared with
  util-linux           # unshare, for PID-namespace tests; losetup, mount, umount (fsguard)
  e2fsprogs            # mkfs.ext4, e2fsck, debugfs, dumpe2fs: fsguard checks ext4 block devices
  xfsprogs             # mkfs.xfs, xfs_repair, xfs_io: fsguard checks xfs block devices
  bindfs fuse3         # a FUSE mount standing in for a network filesystem (fsguard tests)
  procps psmisc        # ps, pkill
  etcd-server etcd-client # make bench: etcdctl lock, the peer zkfence is compared with
  sysbench             # make bench: oltp_read_write on MariaDB through zkfence
  postgresql-contrib   # make bench: pgbench on PostgreSQL through zkfence
  debootstrap          # internal/images: base images for the container tests, without a registry
  docker-compose       # examples/compose: docker-compose config and up in the tests
  python3-kazoo        # lock/kazoo_test.go: Kazoo's Lock on the same path as zkfence (Debian 12: Kazoo 2.8.0)
  fence-agents         # ClusterLabs fence agents (fence_docker, fence_virsh, fence_scsi...): fenceagent tests
  prometheus           # promtool: go test ./examples checks and unit-tests the alerting rules (its server is not started)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting system services: the tests start their own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
