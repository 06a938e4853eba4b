//go:build chaos

package chaos

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/zkfence/zkfence/internal/freezer"
)

// scenario is one fault. setup (optional) runs once before its trials;
// prepare (optional) before each trial, once the cluster has settled;
// inject starts the fault on the holder and returns once it is in place
// (timed faults also end it before returning); end undoes it after the
// failover, if it still lasts.
type scenario struct {
	name  string
	title string
	// failover: the holder must lose the lock; otherwise (a short cut, a
	// leader change) it may keep it.
	failover bool
	// fence: the scenario is safe only when the new holder fences the old
	// one (the old node can run again after its lease is gone). With
	// -chaos.fence auto (the default) its nodes run with fence_docker.
	fence bool
	// fastFailover: with --fast-takeover in the nodes, the holder must
	// lose the lock (fenced by its waiter) even when failover is false.
	fastFailover bool
	// await, when failover is false, is how long the fault is left in
	// place waiting for a failover that may not come; awaitT, if set,
	// makes it the session timeout plus awaitT.
	await  time.Duration
	awaitT time.Duration
	// applies (optional) says whether the scenario means anything on this
	// machine, and why not.
	applies func(s *suite) (bool, string)
	setup   func(s *suite, rng *rand.Rand)
	prepare func(s *suite, rng *rand.Rand)
	inject  func(s *suite, f *fault)
	end     func(s *suite, f *fault)
}

// fault is one trial's fault: what was done, to whom, for how long.
type fault struct {
	rng    *rand.Rand
	holder *node
	what   string // for the log
	extras []*node
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int63n(int64(hi-lo)+1))
}

// cutFromZK drops every packet between a node and every ZooKeeper member:
// a blackhole, not a reject, so that the client library sees only silence.
func (s *suite) cutFromZK(n *node) {
	var rules []string
	for _, z := range s.zks {
		rules = append(rules, "iptables -A OUTPUT -d "+z.ip+" -j DROP", "iptables -A INPUT -s "+z.ip+" -j DROP")
	}
	n.mustExec(s.t, "sh", "-c", strings.Join(rules, " && "))
}

// cutFromNodes drops every packet between a node and the other nodes;
// ZooKeeper, the storage (a bind mount) and the fence proxy (on the
// network's gateway) stay reachable.
func (s *suite) cutFromNodes(n *node) []string {
	var rules, others []string
	for _, o := range s.nodeList() {
		if o != n {
			rules = append(rules, "iptables -A OUTPUT -d "+o.ip+" -j DROP", "iptables -A INPUT -s "+o.ip+" -j DROP")
			others = append(others, o.label)
		}
	}
	n.mustExec(s.t, "sh", "-c", strings.Join(rules, " && "))
	return others
}

func (s *suite) reconnect(n *node) {
	n.exec(10*time.Second, "sh", "-c", "iptables -F INPUT; iptables -F OUTPUT")
}

var scenarios = []scenario{
	{
		name: "1-zk-cut", title: "holder cut from ZooKeeper, still on the FS", failover: true,
		inject: func(s *suite, f *fault) { s.cutFromZK(f.holder); f.what = "iptables DROP to/from the ensemble" },
		end:    func(s *suite, f *fault) { s.reconnect(f.holder) },
	},
	{
		name: "2-zk-cut-reconnect", title: "holder cut from ZooKeeper, then reconnected",
		inject: func(s *suite, f *fault) {
			d := between(f.rng, 500*time.Millisecond, 12*time.Second)
			f.what = fmt.Sprintf("cut for %s", d.Round(time.Millisecond))
			s.cutFromZK(f.holder)
			time.Sleep(d)
			s.reconnect(f.holder)
		},
	},
	{
		name: "3-extra-instances", title: "a second and third instance started for the same service", failover: true,
		inject: func(s *suite, f *fault) {
			for i := 1; i <= 2; i++ {
				time.Sleep(between(f.rng, 0, 1500*time.Millisecond))
				n := s.startNode(fmt.Sprintf("x%d", i), 30+i, s.zkAll())
				f.extras = append(f.extras, n)
				s.setNodes(append(s.nodeList(), n))
			}
			// The extras must queue; then the holder is stopped (docker
			// stop) and the lock goes to one of the three waiters.
			time.Sleep(between(f.rng, 2*time.Second, 5*time.Second))
			f.what = "2 extra instances, then docker stop of the holder"
			s.pool.Client.StopContainer(f.holder.id, 20)
		},
		end: func(s *suite, f *fault) {
			for _, n := range f.extras {
				s.pool.Client.StopContainer(n.id, 20)
			}
			for _, n := range f.extras {
				n.remove()
			}
			s.setNodes(s.nodes[:len(s.nodes)-len(f.extras)])
		},
	},
	{
		name: "4-fs-lost", title: "holder loses the FS while connected to ZooKeeper", failover: true,
		inject: func(s *suite, f *fault) {
			f.what = "pkill -KILL bindfs"
			f.holder.mustExec(s.t, "pkill", "-KILL", "-x", "bindfs")
		},
	},
	{
		// A database process caught in an uninterruptible FUSE request (D
		// state) survives SIGKILL: zkfence then holds the lock (its tree is
		// not confirmed dead) until the FS answers, so a failover may not
		// come; the FS is thawed after 20 s.
		name: "5-fs-hang", title: "holder's FS hangs (FUSE daemon frozen)", await: 20 * time.Second,
		inject: func(s *suite, f *fault) {
			f.what = "pkill -STOP bindfs"
			f.holder.mustExec(s.t, "pkill", "-STOP", "-x", "bindfs")
		},
		end: func(s *suite, f *fault) { f.holder.exec(10*time.Second, "pkill", "-CONT", "-x", "bindfs") },
	},
	{
		// The cgroup v2 freezer, as docker pause on a cgroup v2 host: the
		// freeze guard's timer kills zkfence, its child's PID namespace and
		// so the database while they are frozen, at the lease deadline.
		// Every process of the node is frozen but bindfs, which stands for
		// the kernel's NFS client (storageOutsideFreeze).
		name: "6-freeze", title: "holder frozen (cgroup v2 freezer) longer than the session timeout, then thawed", failover: true,
		inject: func(s *suite, f *fault) {
			fz, err := s.cgroupV2Freezer(f.holder.ctr)
			s.must(err)
			s.must(s.storageOutsideFreeze(fz))
			d := between(f.rng, 9*time.Second, 14*time.Second)
			f.what = fmt.Sprintf("cgroup v2 freeze for %s", d.Round(time.Millisecond))
			start := time.Now()
			if err := fz.Freeze(); err != nil {
				// Not every task frozen within 10 s: one in an
				// uninterruptible wait. The freeze stays in place, and the
				// trial says so.
				f.what += fmt.Sprintf(" (%v)", err)
			}
			time.Sleep(d - time.Since(start))
			thawUnlessFenced(s, f, fz)
		},
	},
	{
		name: "7-zk-leader-kill", title: "ZooKeeper leader killed",
		inject: func(s *suite, f *fault) {
			l, ok := s.leader()
			if !ok {
				s.t.Fatal("no leader")
			}
			d := between(f.rng, 2*time.Second, 8*time.Second)
			f.what = fmt.Sprintf("docker kill of the leader zk%d, restarted after %s", l.num, d.Round(time.Millisecond))
			s.must(s.pool.Client.KillContainer(dcKill(l.ctr.id)))
			time.Sleep(d)
			s.must(s.pool.Client.StartContainer(l.ctr.id, nil))
		},
	},
	{
		name: "8-isolated-follower", title: "the holder's ZooKeeper server cut from the other two, holder still reaches it",
		failover: true,
		setup:    setupIsolatedFollower,
		prepare:  prepareIsolatedFollower,
		inject: func(s *suite, f *fault) {
			z := s.memberAt(f.holder.zk)
			var rules []string
			for _, o := range s.zks {
				if o != z {
					rules = append(rules, "iptables -A OUTPUT -d "+o.ip+" -j DROP", "iptables -A INPUT -s "+o.ip+" -j DROP")
				}
			}
			f.what = fmt.Sprintf("zk%d (the holder's only server, a follower) cut from the other two", z.num)
			z.mustExec(s.t, "sh", "-c", strings.Join(rules, " && "))
		},
		end: func(s *suite, f *fault) {
			for _, z := range s.zks {
				z.exec(10*time.Second, "sh", "-c", "iptables -F INPUT; iptables -F OUTPUT")
			}
		},
	},
	{
		name: "9-node-kill", title: "holder node killed outright", failover: true,
		inject: func(s *suite, f *fault) {
			f.what = "docker kill"
			s.must(s.pool.Client.KillContainer(dcKill(f.holder.id)))
		},
	},
	{
		// docker pause where Docker still uses the cgroup v1 freezer: a
		// frozen process cannot die before the thaw, so the freeze guard's
		// SIGKILL, due at the lease deadline, lands at the thaw, and the
		// database runs for the few milliseconds the kernel takes to kill
		// zkfence, then its child's PID namespace (deadman's
		// BenchmarkThawWindowV1 measures them). Safe only with fencing: the
		// new holder has fence_docker kill the paused container (Docker
		// thaws it with SIGKILL pending) and starts once it is gone.
		name: "10-pause-v1", title: "holder frozen with docker pause on a cgroup v1 Docker, then thawed", failover: true,
		fence: true,
		applies: func(s *suite) (bool, string) {
			if h, _ := s.holder(); h != nil && !dockerFreezerV1(h.ctr) {
				return false, "Docker uses the cgroup v2 freezer here: docker pause is scenario 6"
			}
			return true, ""
		},
		inject: func(s *suite, f *fault) {
			d := between(f.rng, 9*time.Second, 14*time.Second)
			f.what = fmt.Sprintf("docker pause for %s", d.Round(time.Millisecond))
			s.must(s.pool.Client.PauseContainer(f.holder.id))
			time.Sleep(d)
			// A fenced node is gone: nothing to unpause. The fence's kill
			// may also land between the look and the unpause.
			if _, paused, _, err := f.holder.state(); err != nil || !paused {
				f.what += " (killed by the fence before the unpause)"
			} else if err := s.pool.Client.UnpauseContainer(f.holder.id); err != nil {
				if waitUntil(10*time.Second, 100*time.Millisecond, func() bool { return !f.holder.running() }) {
					f.what += " (killed by the fence during the unpause)"
				} else {
					s.must(err)
				}
			}
		},
	},
	{
		// Scenario 6 with the FUSE daemon frozen too, as with a FUSE
		// network filesystem client (GlusterFS, s3fs) in the database's
		// container: a write the daemon took before the freeze is carried
		// out at the thaw (without fencing: 170 acknowledged writes lost).
		// Safe only with fencing: the new holder has fence_docker kill the
		// frozen container, daemon included, before it starts.
		name: "11-freeze-fuse", title: "holder frozen whole, its FUSE daemon included (cgroup v2 freezer), past the session, then thawed",
		failover: true, fence: true,
		inject: func(s *suite, f *fault) {
			fz, err := s.cgroupV2Freezer(f.holder.ctr)
			s.must(err)
			d := between(f.rng, 9*time.Second, 14*time.Second)
			f.what = fmt.Sprintf("cgroup v2 freeze of the whole container, bindfs included, for %s", d.Round(time.Millisecond))
			start := time.Now()
			if err := fz.Freeze(); err != nil {
				f.what += fmt.Sprintf(" (%v)", err)
			}
			time.Sleep(d - time.Since(start))
			thawUnlessFenced(s, f, fz)
		},
	},
	{
		// Only the path between the two nodes is cut: the holder still
		// reaches ZooKeeper and its storage, so its session lives and,
		// without --fast-takeover, it keeps the lock (the fault is watched
		// for T + 4 s: no failover is expected). With --fast-takeover its
		// waiter's probes go unanswered: it must fence the holder
		// (fence_docker kills its container) before it takes over, never
		// run beside it.
		name: "12-node-partition", title: "the two nodes cut from each other, each still reaching ZooKeeper and the storage",
		fastFailover: true, awaitT: 4 * time.Second,
		inject: func(s *suite, f *fault) {
			others := s.cutFromNodes(f.holder)
			f.what = fmt.Sprintf("iptables DROP between the holder and %v", others)
		},
		end: func(s *suite, f *fault) {
			if f.holder.running() {
				s.reconnect(f.holder)
			}
		},
	},
}

// thawUnlessFenced thaws the holder's cgroup, unless the new holder's fence
// killed the container meanwhile (its cgroup is gone with it).
func thawUnlessFenced(s *suite, f *fault, fz *freezer.Freezer) {
	if !f.holder.running() {
		f.what += " (killed by the fence before the thaw)"
		return
	}
	if err := fz.Thaw(); err != nil && f.holder.running() {
		s.must(err)
	}
}

// setupIsolatedFollower recreates the nodes so that node a talks to one
// follower only and node b to the two other members.
func setupIsolatedFollower(s *suite, rng *rand.Rand) {
	l, ok := s.leader()
	if !ok {
		s.t.Fatal("no leader")
	}
	var others []string
	var follower *zkMember
	for _, z := range s.zks {
		if z != l && follower == nil {
			follower = z
		} else {
			others = append(others, z.ip+":2181")
		}
	}
	s.recreateNodes([]string{follower.ip + ":2181", strings.Join(others, ",")})
}

// prepareIsolatedFollower makes node a (on the single follower) the holder,
// and redoes the setup if its server has become the leader meanwhile.
func prepareIsolatedFollower(s *suite, rng *rand.Rand) {
	if l, ok := s.leader(); ok && s.memberAt(s.nodes[0].zk) == l {
		setupIsolatedFollower(s, rng)
	}
	for try := 0; try < 3; try++ {
		h, _ := s.holder()
		if h == s.nodes[0] {
			return
		}
		if h != nil {
			// Hand over cleanly: docker stop of the other holder, then start it again.
			s.pool.Client.StopContainer(h.id, 20)
			waitUntil(30*time.Second, 200*time.Millisecond, func() bool { n, _ := s.holder(); return n == s.nodes[0] })
			s.pool.Client.StartContainer(h.id, nil)
		}
		s.must(s.settle(90 * time.Second))
	}
	s.t.Fatal("node a does not become the holder")
}

func (s *suite) memberAt(zk string) *zkMember {
	for _, z := range s.zks {
		if z.ip+":2181" == zk {
			return z
		}
	}
	return nil
}

// recreateNodes replaces the nodes with new ones on the given --zk lists,
// the first one started first (and so the holder).
func (s *suite) recreateNodes(zk []string) {
	for _, n := range s.nodes {
		s.pool.Client.StopContainer(n.id, 20)
		n.remove()
	}
	s.setNodes(nil)
	for i, z := range zk {
		n := s.startNode(string(rune('a'+i)), 20+i, z)
		s.setNodes(append(s.nodeList(), n))
		if i == 0 {
			if !waitUntil(2*time.Minute, 200*time.Millisecond, func() bool {
				if running, _, _, _ := n.state(); !running {
					return true
				}
				st, err := n.status()
				return err == nil && st.State == "running"
			}) || !n.running() {
				s.t.Fatalf("%s does not serve:\n%s", n.name, n.logs(50))
			}
		}
	}
	s.must(s.settle(90 * time.Second))
}
