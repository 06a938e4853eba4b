//go:build chaos

package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/zkfence/zkfence/internal/images"
)

// The timing profile of the suite (doc.go): the ensemble's tickTime and
// syncLimit, and zkfence's flags, which must agree with them.
const (
	zkTickMillis = 500
	zkSyncLimit  = 2
	lockPath     = "/zkfence/chaos"
	pgPort       = 5432
	myPort       = 3306
	httpPort     = 8080
)

// zkfenceTiming is the timing profile of zkfence run and check in a node,
// with the session timeout T of -chaos.session-timeout (8 s by default).
func zkfenceTiming() []string {
	return []string{
		"--session-timeout", flagSessionTimeout.String(), "--zk-tick-time", "500ms", "--zk-sync-limit", "2",
		"--heartbeat", "500ms", "--stop-grace", "1s", "--probe-interval", "500ms",
		"--probe-timeout", "2s", "--lock-delay", "2s",
	}
}

// zkMaxSession is the ensemble's maxSessionTimeout: ZooKeeper's default,
// 20 ticks (10 s), would cap a longer -chaos.session-timeout, so it is
// raised to twice T when T needs it.
func zkMaxSession() []string {
	if *flagSessionTimeout <= 20*zkTickMillis*time.Millisecond {
		return nil
	}
	return []string{fmt.Sprintf("ZOO_CFG_EXTRA=maxSessionTimeout=%d", 2*flagSessionTimeout.Milliseconds())}
}

// takeoverArgs are the fast-takeover flags of a node at ip when the nodes
// run with -chaos.fast-takeover: the other node probes this one's --http
// on the suite network (--advertise-http), every -chaos.takeover-probe,
// and fences it after -chaos.takeover-after probes without an answer.
func (s *suite) takeoverArgs(ip string) []string {
	if !s.fast {
		return nil
	}
	return []string{"--fast-takeover", "--takeover-probe", flagTakeoverProbe.String(),
		"--takeover-after", fmt.Sprint(*flagTakeoverAfter), "--advertise-http", fmt.Sprintf("%s:%d", ip, httpPort)}
}

// engine is what differs between the PostgreSQL and the MariaDB nodes
// (mariadbEngine is in mariadb_test.go).
type engine struct {
	name     string // -chaos.engine
	title    string // for the report: "PostgreSQL 15"
	zkEngine string // zkfence's --engine: postgres or mysql (its stop signals)
	image    func(images.Set) string
	procs    []string // process names the observer counts
	port     int
	user     string
	// child is the child command, run by sh -c as user (ZKFENCE_TOKEN in
	// the environment); it execs the server, so that the server is the
	// process zkfence supervises and signals. It is put between single
	// quotes in the node script: it must not contain one.
	child   string
	initCmd string // run once, as root, in a throw-away container on /shared

	createTable string // the client's table w, if not there yet
	connect     func(ctx context.Context, ip string, port int) (dbConn, error)
}

// engines are the values of -chaos.engine.
var engines = map[string]engine{"postgres": postgresEngine, "mariadb": mariadbEngine}

var postgresEngine = engine{
	name:        "postgres",
	title:       "PostgreSQL 15",
	zkEngine:    "postgres",
	image:       func(s images.Set) string { return s.Postgres },
	procs:       []string{"postgres"},
	port:        pgPort,
	user:        "postgres",
	createTable: pgCreateTable,
	connect:     connectPostgres,
	// The token reaches SQL as a custom setting: current_setting('zkfence.token').
	child: `exec /usr/lib/postgresql/15/bin/postgres -D /data/pg -c zkfence.token="$ZKFENCE_TOKEN"`,
	initCmd: `set -e
install -d -o postgres -g postgres -m 700 /shared/pg
su postgres -s /bin/sh -c '/usr/lib/postgresql/15/bin/initdb -D /shared/pg -U postgres -A trust' >/dev/null
cat >>/shared/pg/postgresql.conf <<EOF
listen_addresses = '*'
shared_buffers = 32MB
max_connections = 30
fsync = on
synchronous_commit = on
EOF
echo 'host all all 0.0.0.0/0 trust' >>/shared/pg/pg_hba.conf`,
}

// suite is the cluster shared by every trial: the ensemble, the nodes, the
// shared directory, the observer.
type suite struct {
	t       *testing.T // the running (sub)test
	root    *testing.T // the suite's test: cleanups go there
	pool    *dockertest.Pool
	set     images.Set
	eng     engine
	run     string // unique part of every name
	netName string
	netID   string
	subnet  string // first three octets
	shared  string // host directory every node mounts through bindfs
	zks     []*zkMember
	nodes   []*node
	obs     *observer

	// fence is the Docker API for the nodes' fence_docker; fencing says
	// whether the nodes running now have it configured, fast whether they
	// run with --fast-takeover (which needs fencing).
	fence   *dockerFence
	fencing bool
	fast    bool

	mu    sync.Mutex
	byCID map[string]string // container id -> node name
}

type zkMember struct {
	*ctr
	num int
	ip  string
}

type node struct {
	*ctr
	label string // a, b, x1...: what the observer and the report call it
	ip    string
	zk    string // --zk
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newSuite starts the network, the ensemble and the shared directory. Nodes
// are started by startNodes.
func newSuite(t *testing.T, set images.Set, eng engine) *suite {
	pool, err := dockertest.NewPool("")
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	pool.MaxWait = 2 * time.Minute
	s := &suite{t: t, root: t, pool: pool, set: set, eng: eng, run: randomHex(3), byCID: map[string]string{}}
	s.createNetwork()
	dir, err := exec.Command("mktemp", "-d", "/tmp/zkfence-chaos-XXXXXX").Output()
	if err != nil {
		t.Fatal(err)
	}
	s.shared = strings.TrimSpace(string(dir))
	t.Cleanup(func() { os.RemoveAll(s.shared) })
	if err := os.Chmod(s.shared, 0o755); err != nil {
		t.Fatal(err)
	}
	s.obs = newObserver(eng.procs, s.nodeOfCID)
	t.Cleanup(s.obs.close)
	s.startEnsemble()
	s.initData()
	s.startDockerFence()
	return s
}

// createNetwork makes a bridge network with a subnet of its own, so that
// every container has a fixed address that survives docker kill and start.
func (s *suite) createNetwork() {
	s.netName = "zkfence-chaos-" + s.run
	for try := 0; try < 20; try++ {
		n, _ := rand.Int(rand.Reader, big.NewInt(200))
		m, _ := rand.Int(rand.Reader, big.NewInt(250))
		subnet := fmt.Sprintf("10.%d.%d", 30+n.Int64(), m.Int64())
		net, err := s.pool.Client.CreateNetwork(dc.CreateNetworkOptions{Name: s.netName, Driver: "bridge",
			IPAM: &dc.IPAMOptions{Config: []dc.IPAMConfig{{Subnet: subnet + ".0/24", Gateway: subnet + ".1"}}}})
		if err != nil {
			if strings.Contains(err.Error(), "overlap") {
				continue
			}
			s.t.Fatalf("network: %v", err)
		}
		s.netID, s.subnet = net.ID, subnet
		s.t.Cleanup(func() { s.pool.Client.RemoveNetwork(net.ID) })
		return
	}
	s.t.Fatal("network: no free subnet")
}

func (s *suite) endpoint(ip string) *dc.NetworkingConfig {
	return &dc.NetworkingConfig{EndpointsConfig: map[string]*dc.EndpointConfig{
		s.netName: {IPAMConfig: &dc.EndpointIPAMConfig{IPv4Address: ip}}}}
}

// startEnsemble runs three ZooKeeper servers with the suite's tickTime and
// syncLimit, every four-letter word allowed (srvr finds the leader), and
// NET_ADMIN so that iptables inside a member can cut it from the others.
func (s *suite) startEnsemble() {
	var servers []string
	for i := 1; i <= 3; i++ {
		servers = append(servers, fmt.Sprintf("server.%d=%s.%d:2888:3888;2181", i, s.subnet, 10+i))
	}
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("%s.%d", s.subnet, 10+i)
		name := fmt.Sprintf("zkfence-chaos-%s-zk%d", s.run, i)
		c := create(s.t, s.root, s.pool, dc.CreateContainerOptions{Name: name,
			Config: &dc.Config{Hostname: name, Image: s.set.ZooKeeper, Env: append([]string{
				fmt.Sprintf("ZOO_MY_ID=%d", i), "ZOO_SERVERS=" + strings.Join(servers, " "),
				fmt.Sprintf("ZOO_TICK_TIME=%d", zkTickMillis), fmt.Sprintf("ZOO_SYNC_LIMIT=%d", zkSyncLimit),
				"ZOO_INIT_LIMIT=10", "ZOO_4LW_COMMANDS_WHITELIST=*",
				"JVMFLAGS=-Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
			}, zkMaxSession()...)},
			HostConfig:       &dc.HostConfig{CapAdd: []string{"NET_ADMIN"}},
			NetworkingConfig: s.endpoint(ip)})
		s.zks = append(s.zks, &zkMember{ctr: c, num: i, ip: ip})
	}
	if !waitUntil(2*time.Minute, 250*time.Millisecond, func() bool { _, ok := s.leader(); return ok }) {
		for _, z := range s.zks {
			s.t.Logf("--- %s:\n%s", z.name, z.logs(40))
		}
		s.t.Fatal("the ensemble elected no leader in 2 minutes")
	}
}

// zkAll is the whole ensemble, as --zk.
func (s *suite) zkAll() string {
	var l []string
	for _, z := range s.zks {
		l = append(l, z.ip+":2181")
	}
	return strings.Join(l, ",")
}

// mode asks a member for its mode with srvr, from the host: leader,
// follower, standalone, or "" when it does not serve.
func (z *zkMember) mode() string {
	c, err := net.DialTimeout("tcp", z.ip+":2181", time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return ""
	}
	out, _ := io.ReadAll(c)
	for _, line := range strings.Split(string(out), "\n") {
		if m, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(m)
		}
	}
	return ""
}

// leader is the member that says it leads, once the other two follow.
func (s *suite) leader() (*zkMember, bool) {
	var leader *zkMember
	followers := 0
	for _, z := range s.zks {
		switch z.mode() {
		case "leader":
			leader = z
		case "follower":
			followers++
		}
	}
	return leader, leader != nil && followers == 2
}

// initData makes the database's data directory on the shared directory,
// once, in a throw-away container.
func (s *suite) initData() {
	name := "zkfence-chaos-" + s.run + "-init"
	c := create(s.t, s.root, s.pool, dc.CreateContainerOptions{Name: name,
		Config:     &dc.Config{Image: s.eng.image(s.set), Entrypoint: []string{"sleep", "600"}},
		HostConfig: &dc.HostConfig{Binds: []string{s.shared + ":/shared"}}})
	c.mustExec(s.t, "sh", "-c", s.eng.initCmd)
	c.remove()
}

// nodeScript mounts /shared through bindfs at /data (the node's own FUSE
// mount of the shared storage) and execs zkfence. The attribute and entry
// caches are off: every node must see the others' writes at once, as on a
// network filesystem with close-to-open consistency.
func (s *suite) nodeScript(zk, ip string) string {
	args := []string{"zkfence", "run", "--zk", zk, "--lock", lockPath, "--mount", "/data", "--fstype", "'fuse*'",
		"--claim-volume", "--user", s.eng.user, "--engine", s.eng.zkEngine, "--http", fmt.Sprintf("0.0.0.0:%d", httpPort)}
	args = append(args, zkfenceTiming()...)
	if s.fencing {
		args = append(args, s.fence.nodeFenceArgs()...)
	}
	args = append(args, s.takeoverArgs(ip)...)
	return "set -e\nmkdir -p /data\nbindfs -o attr_timeout=0,entry_timeout=0,negative_timeout=0 /shared /data\n" +
		"exec " + strings.Join(args, " ") + " -- /bin/sh -c '" + s.eng.child + "'\n"
}

// startNode creates and starts a node container: zkfence and the database
// on the shared directory, through the node's own FUSE mount. It needs
// /dev/fuse and SYS_ADMIN (to mount), NET_ADMIN (iptables); no --privileged.
func (s *suite) startNode(label string, ipLast int, zk string) *node {
	ip := fmt.Sprintf("%s.%d", s.subnet, ipLast)
	name := fmt.Sprintf("zkfence-chaos-%s-%s", s.run, label)
	c := create(s.t, s.root, s.pool, dc.CreateContainerOptions{Name: name,
		Config: &dc.Config{Hostname: name, Image: s.eng.image(s.set),
			Entrypoint: []string{"/bin/sh", "-c", s.nodeScript(zk, ip), "chaos-node"}, Cmd: []string{}},
		HostConfig: &dc.HostConfig{
			Binds:       []string{s.shared + ":/shared", s.fence.dir + ":" + fenceDir + ":ro"},
			CapAdd:      []string{"SYS_ADMIN", "NET_ADMIN"},
			Devices:     []dc.Device{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"}},
			SecurityOpt: []string{"apparmor=unconfined"},
		},
		NetworkingConfig: s.endpoint(ip)})
	s.mu.Lock()
	s.byCID[c.id] = label
	s.mu.Unlock()
	return &node{ctr: c, label: label, ip: ip, zk: zk}
}

// nodeList is the nodes, for the client's goroutine; the test's goroutine
// changes s.nodes only under s.mu (setNodes).
func (s *suite) nodeList() []*node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*node(nil), s.nodes...)
}

func (s *suite) setNodes(nodes []*node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes = nodes
}

func (s *suite) nodeOfCID(cid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byCID[cid]
	return n, ok
}

// status is a node's /readyz.
type status struct {
	State string `json:"state"`
	Cause string `json:"cause"`
	Token int64  `json:"token"`
}

var httpClient = &http.Client{Timeout: 400 * time.Millisecond}

func (n *node) status() (status, error) {
	var st status
	resp, err := httpClient.Get(fmt.Sprintf("http://%s:%d/readyz", n.ip, httpPort))
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// holder is the node whose zkfence says it runs the database.
func (s *suite) holder() (*node, int64) {
	for _, n := range s.nodes {
		if st, err := n.status(); err == nil && st.State == "running" {
			return n, st.Token
		}
	}
	return nil, 0
}

// heal undoes every fault: thaws paused nodes, removes iptables rules,
// starts containers that exited (their zkfence stopped the database and
// exited 90/91/92, or they were killed), restarts ZooKeeper members that
// are down and lets isolated ones rejoin.
func (s *suite) heal() {
	for _, z := range s.zks {
		if running, paused, _, err := z.state(); err == nil {
			if paused {
				s.pool.Client.UnpauseContainer(z.id)
			}
			if !running {
				if err := s.pool.Client.StartContainer(z.id, nil); err != nil {
					s.t.Logf("restarting %s: %v", z.name, err)
				}
				continue
			}
			z.exec(10*time.Second, "sh", "-c", "iptables -F INPUT; iptables -F OUTPUT")
		}
	}
	for _, n := range s.nodes {
		s.healNode(n)
	}
}

func (s *suite) healNode(n *node) {
	running, paused, _, err := n.state()
	if err != nil {
		s.t.Logf("%s: %v", n.name, err)
		return
	}
	if paused {
		s.pool.Client.UnpauseContainer(n.id)
	}
	if running {
		// Scenario 6's freeze, which Docker does not know of.
		if fz, err := s.cgroupV2Freezer(n.ctr); err == nil {
			if err := fz.Thaw(); err != nil {
				s.t.Logf("thawing %s: %v", n.name, err)
			}
		}
		n.exec(10*time.Second, "sh", "-c", "iptables -F INPUT; iptables -F OUTPUT; pkill -CONT bindfs")
		// A node whose FUSE daemon is gone has lost its storage for good:
		// restart it, as an orchestrator would.
		if code, _ := n.exec(10*time.Second, "pgrep", "-x", "bindfs"); code != 0 {
			s.pool.Client.RestartContainer(n.id, 10)
		}
		return
	}
	if err := s.pool.Client.StartContainer(n.id, nil); err != nil {
		s.t.Logf("starting %s again: %v", n.name, err)
	}
}

// settle waits until the ensemble has a leader, one node runs the database
// and every other node waits for the lock.
func (s *suite) settle(timeout time.Duration) error {
	var last string
	ok := waitUntil(timeout, 200*time.Millisecond, func() bool {
		if _, ok := s.leader(); !ok {
			last = "no leader with two followers"
			return false
		}
		running, waiting := 0, 0
		var states []string
		for _, n := range s.nodes {
			// A node whose zkfence exited (it stopped the database on a
			// lost lease, mount or fence) is started again, as systemd,
			// Marathon or a restart policy would.
			if r, _, _, err := n.state(); err == nil && !r {
				s.healNode(n)
			}
			st, err := n.status()
			states = append(states, fmt.Sprintf("%s=%s%s", n.name, st.State, errText(err)))
			switch {
			case err != nil:
			case st.State == "running":
				running++
			case st.State == "waiting":
				waiting++
			}
		}
		last = strings.Join(states, " ")
		return running == 1 && running+waiting == len(s.nodes)
	})
	if !ok {
		return fmt.Errorf("not settled within %s: %s", timeout, last)
	}
	return nil
}

func errText(err error) string {
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return ""
}

// zkfenceCheck runs `zkfence check` with the suite's flags in a node and
// returns its output: the budget built on the negotiated session timeout,
// and fence_docker's metadata and monitor through the suite's Docker proxy.
func (s *suite) zkfenceCheck(n *node) (int, string) {
	args := []string{"zkfence", "check", "--zk", n.zk, "--lock", lockPath, "--engine", s.eng.zkEngine}
	args = append(args, zkfenceTiming()...)
	args = append(args, s.fence.nodeFenceArgs()...)
	args = append(args, s.takeoverArgs(n.ip)...)
	args = append(args, "--http", fmt.Sprintf("0.0.0.0:%d", httpPort), "--", "true")
	return n.exec(30*time.Second, args...)
}

// must is for setup steps of a trial.
func (s *suite) must(err error) {
	if err != nil {
		s.t.Helper()
		s.t.Fatal(err)
	}
}

var _ = context.Background
