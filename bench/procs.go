package main

// Processes the peer comparisons run: the bench child, zkfence with its JSON
// log parsed, a local etcd, and `etcdctl lock`. Every process is started in
// its own process group so that a "node death" can take the wrapper and its
// child at once, and so that cleanup reaches every descendant.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childBin builds bench/benchchild once per bench run (static, no race
// detector) into the work directory and returns its path.
var childBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "zkfence-benchchild-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "benchchild")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/zkfence/zkfence/bench/benchchild")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build bench/benchchild: %v\n%s", err, out)
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	return bin, nil
})

// cleanups run when the bench ends (see runCleanups in main.go).
var cleanups []func()

func runCleanups() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

// readStamp waits for a file written by benchchild -start/-end and returns
// the instant and the pid in it.
func readStamp(path string, d time.Duration) (time.Time, int, error) {
	deadline := time.Now().Add(d)
	for {
		if b, err := os.ReadFile(path); err == nil {
			f := strings.Fields(string(b))
			if len(f) == 2 {
				ns, err1 := strconv.ParseInt(f[0], 10, 64)
				pid, err2 := strconv.Atoi(f[1])
				if err1 == nil && err2 == nil {
					return time.Unix(0, ns), pid, nil
				}
			}
			return time.Time{}, 0, fmt.Errorf("%s: malformed stamp %q", path, b)
		}
		if time.Now().After(deadline) {
			return time.Time{}, 0, fmt.Errorf("%s not written within %v", path, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readHeartbeat returns the last heartbeat benchchild -hb wrote.
func readHeartbeat(path string) (time.Time, error) {
	for range 10 {
		b, err := os.ReadFile(path)
		if err != nil {
			return time.Time{}, err
		}
		if len(b) == 21 && b[20] == '\n' {
			if ns, err := strconv.ParseInt(string(b[:20]), 10, 64); err == nil {
				return time.Unix(0, ns), nil
			}
		}
		time.Sleep(time.Millisecond) // a rewrite in progress
	}
	return time.Time{}, fmt.Errorf("%s: no readable heartbeat", path)
}

// proc is a process in its own process group.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(cmd *exec.Cmd) (*proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// killGroup SIGKILLs the process group and waits for the leader.
func (p *proc) killGroup() {
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// wait waits up to d for the process to exit by itself; then kills its group.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		p.killGroup()
		return false
	}
}

// stopGroup sends sig to the leader, waits up to d, then kills the group.
func (p *proc) stop(sig syscall.Signal, d time.Duration) bool {
	p.cmd.Process.Signal(sig)
	return p.wait(d)
}

// fenced is one `zkfence run` with --log-format json, its log parsed as it
// comes.
type fenced struct {
	*proc
	mu   sync.Mutex
	logs []map[string]any
}

func startFenced(bin, zk, lockPath string, flags []string, child ...string) (*fenced, error) {
	args := append([]string{"run", "--zk", zk, "--lock", lockPath}, flags...)
	if !contains(flags, "--log-format") {
		args = append(args, "--log-format", "json")
	}
	cmd := exec.Command(bin, append(append(args, "--"), child...)...)
	// An *os.File as Stderr: no copying goroutine, so Wait (in startProc)
	// does not race with the reader below, which reads to EOF.
	stderr, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = w
	p, err := startProc(cmd)
	w.Close()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	f := &fenced{proc: p}
	go func() {
		defer stderr.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				f.mu.Lock()
				f.logs = append(f.logs, l)
				f.mu.Unlock()
			}
		}
	}()
	return f, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// waitMsg returns the first log line with message msg and its time.
func (f *fenced) waitMsg(msg string, d time.Duration) (map[string]any, time.Time, error) {
	deadline := time.Now().Add(d)
	for {
		f.mu.Lock()
		for _, l := range f.logs {
			if l["msg"] == msg {
				f.mu.Unlock()
				t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"]))
				return l, t, err
			}
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			f.mu.Lock()
			var last []string
			for _, l := range f.logs[max(0, len(f.logs)-5):] {
				last = append(last, fmt.Sprint(l))
			}
			f.mu.Unlock()
			return nil, time.Time{}, fmt.Errorf("zkfence: no %q log line within %v; last lines: %s", msg, d, strings.Join(last, " | "))
		}
		select {
		case <-f.done:
			// One last look: the line may have been parsed just now.
			deadline = time.Now()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// negotiated returns the session timeout the wrapper logged.
func (f *fenced) negotiated() (time.Duration, error) {
	l, _, err := f.waitMsg("zookeeper session established", 20*time.Second)
	if err != nil {
		return 0, err
	}
	ns, ok := l["negotiated_timeout"].(float64) // slog's JSON handler writes nanoseconds
	if !ok {
		return 0, fmt.Errorf("zkfence: negotiated_timeout %v", l["negotiated_timeout"])
	}
	return time.Duration(ns), nil
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// etcdServer is one etcd (Debian's etcd-server, 3.4) on loopback, its data
// on tmpfs when there is one: ZooKeeper runs with forceSync=no here, and etcd
// 3.4 cannot turn its fsyncs off, so neither pays for the disk.
type etcdServer struct {
	p       *proc
	dir     string
	Addr    string // host:port for clients
	Version string
}

const etcdTTL = 6 // seconds: etcdctl lock --ttl, the same as zkfence's T in these comparisons

// peerSetup is what every side-by-side measurement needs: the recording
// child and a local etcd for etcdctl lock.
func peerSetup() (child string, etcd *etcdServer, err error) {
	if child, err = childBin(); err != nil {
		return "", nil, err
	}
	if etcd, err = startEtcd(); err != nil {
		return "", nil, err
	}
	return child, etcd, nil
}

func startEtcd() (*etcdServer, error) {
	if _, err := exec.LookPath("etcd"); err != nil {
		return nil, errors.New("etcd not found: apt-get install etcd-server etcd-client (scripts/install-deps.sh)")
	}
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "zkfence-bench-etcd-")
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s, err := tryEtcd(dir)
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
		os.RemoveAll(filepath.Join(dir, "data"))
	}
}

func tryEtcd(dir string) (*etcdServer, error) {
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cp)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pp)
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command("etcd", "--name", "bench", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "bench="+peer, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-outputs", "stderr")
	cmd.Stdout, cmd.Stderr = log, log
	p, err := startProc(cmd)
	if err != nil {
		return nil, err
	}
	s := &etcdServer{p: p, dir: dir, Addr: fmt.Sprintf("127.0.0.1:%d", cp)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := etcdctl(s.Addr, 5*time.Second, "endpoint", "status", "-w", "json")
		if err == nil {
			var st []struct {
				Status struct {
					Version string `json:"version"`
				} `json:"Status"`
			}
			if json.Unmarshal([]byte(out), &st) == nil && len(st) == 1 {
				s.Version = st[0].Status.Version
			}
			return s, nil
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			return nil, fmt.Errorf("etcd exited: %s", tail(string(b), 10))
		default:
		}
		if time.Now().After(deadline) {
			p.killGroup()
			return nil, fmt.Errorf("etcd not serving after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *etcdServer) stop() {
	s.p.stop(syscall.SIGTERM, 10*time.Second)
	os.RemoveAll(s.dir)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// etcdctl runs one etcdctl command (API v3) against addr.
func etcdctl(addr string, d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, "etcdctl", append([]string{"--endpoints", addr}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("etcdctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// startEtcdLock runs `etcdctl lock --ttl etcdTTL NAME -- CHILD...` against addr.
func startEtcdLock(addr, name, logFile string, child ...string) (*proc, error) {
	args := append([]string{"--endpoints", addr, "lock", "--ttl", strconv.Itoa(etcdTTL), name, "--"}, child...)
	cmd := exec.Command("etcdctl", args...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	return startProc(cmd)
}

// waitEtcdQueued waits until n contenders have keys under the lock name
// (etcd's lock recipe: one key per session, NAME/<lease id>).
func waitEtcdQueued(addr, name string, n int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		out, err := etcdctl(addr, 5*time.Second, "get", "--prefix", "--keys-only", name+"/")
		if err == nil {
			keys := 0
			for _, l := range strings.Split(out, "\n") {
				if strings.TrimSpace(l) != "" {
					keys++
				}
			}
			if keys >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd lock %s: fewer than %d contenders queued after %v", name, n, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
