// Package zkserver is the ZooKeeper test harness used by zkfence's
// integration tests.
//
// It runs real ZooKeeper 3.8 servers from Debian's zookeeper package
// (/usr/share/java/zookeeper.jar, started directly as
// "java -cp ... org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg",
// never through systemd), on free 127.0.0.1 ports, each in its own temporary
// directory:
//
//   - Start / StartMain: one standalone server (StartMain is for TestMain,
//     where there is no *testing.T, so a package can share one JVM).
//   - StartEnsemble / StartEnsembleMain: an n-node ensemble on loopback whose
//     quorum and election traffic runs through proxies the harness controls,
//     so that IsolatePeer can partition one member from the others while
//     clients can still reach it.
//   - NewProxy: a TCP proxy for a client's connection, with Cut (the client
//     sees a disconnection) and Blackhole (a network partition: the client
//     sees nothing until its own timeouts fire).
//
// A missing zookeeper package or java is a test failure (never a skip) whose
// message says "apt-get install zookeeper".
//
// Server logs (log4j, INFO) go to a file in the server's directory; Start
// shows their tail through t.Log only when the test failed. Set
// ZKSERVER_KEEP=1 to keep the directories after the tests.
package zkserver
