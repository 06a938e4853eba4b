// Package examples holds the ways operators meet zkfence, and the tests that
// keep each of them working:
//
//   - marathon/: app and pod definitions for Marathon, rendered by `zkfence
//     marathon render` from marathon/specs/ and checked with
//     marathon.Validate;
//   - compose/: a docker-compose file with a three-node ZooKeeper ensemble
//     and two fenced PostgreSQL replicas on one volume;
//   - systemd/: a unit for a plain host, checked with systemd-analyze;
//   - prometheus/: alerting rules on zkfence's metrics, checked and
//     unit-tested with promtool, naming only metrics health exports;
//   - and the container images themselves (../Dockerfile.postgres,
//     ../Dockerfile.mysql): built from locally made base images
//     (internal/images) and run with dockertest against a ZooKeeper
//     container: the database serves, a second container on the same lock
//     and volume waits, `docker stop` of the first shuts the database down
//     cleanly and the second takes over.
//
// The container tests need a Docker engine and root (to debootstrap the
// base image once per machine); they fail, rather than skip, without them.
// With -short they are skipped.
package examples
