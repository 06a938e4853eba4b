// Package images makes the Docker images that zkfence's container tests run,
// on a machine that cannot reach any container registry.
//
// Two kinds of images:
//
//   - Base images, made from nothing: debootstrap writes a Debian root file
//     system, apt-get installs a role's packages into it, and `docker import`
//     turns it into zkfence-base/<role>:<hash> (Ensure). These stand in for
//     the official images (postgres, mariadb, golang, zookeeper), which
//     cannot be pulled here.
//   - Images built from the repository's Dockerfiles with those bases as
//     build arguments: zkfence-local/golang (a base plus the host's Go
//     toolchain), zkfence-local/zookeeper (docker/zookeeper: a stand-in for
//     the official zookeeper image, same variables), and
//     zkfence-local/postgres and zkfence-local/mariadb (Dockerfile.postgres
//     and Dockerfile.mysql with zkfence as PID 1) (EnsureSet).
//
// Every tag carries a hash of what the image is made of (the package list and
// recipe for a base; the Dockerfile, its build arguments and the sources of
// cmd/zkfence for the others). A build is skipped when `docker image inspect`
// finds the tag, and builds of one image are serialised across processes with
// a lock file, so that test packages running in parallel debootstrap a base
// once. Progress is logged with the caller's log function.
//
// One base serves every role (DBNode: PostgreSQL 15, MariaDB 10.11,
// ZooKeeper 3.8 and the tools of the chaos suite): a debootstrap is the
// expensive step, and a second role with its own package list would cost a
// second one.
//
// Measured on the 2-core development machine (Docker 20.10 with
// fuse-overlayfs and the legacy builder, which commits a layer per
// instruction: 5-10 s each on that storage driver; other test suites
// running), cold, about 5 minutes in all (EnsureSet builds independent
// images at once):
//
//	db-node    80 s: debootstrap 30 s, apt-get 40 s, docker import 12 s; 1.0 GB
//	golang     95 s: the host's toolchain, a warm build cache; 1.4 GB  } at once
//	zookeeper  30 s; shares db-node's layer                            }
//	build stage of the Dockerfiles 50 s, then postgres and mariadb at once 60-80 s;
//	    1.05 GB each, of which 12 MB are their own (zkfence and the scripts)
//
// After a change of zkfence's sources only the last two lines run again,
// and mostly from Docker's layer cache (the build stage's go build finds the
// modules compiled, the runtime stage copies zkfence last). With nothing
// changed, EnsureSet returns in under a second.
//
// Needs root (debootstrap, chroot, mount), debootstrap, tar, and a Docker
// engine reachable by the docker CLI; Debian's archive must be reachable the
// first time a base is built.
package images
