package zkserver

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestStandaloneServes(t *testing.T) {
	t.Parallel()
	c := connect(t, shared.Addr(), 4*time.Second)
	if _, err := c.Create("/standalone", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("Create: %v", err)
	}
	data, _, err := c.Get("/standalone")
	if err != nil || string(data) != "hello" {
		t.Fatalf("Get = %q, %v; want hello", data, err)
	}
	if mode, err := shared.Mode(); err != nil || mode != "standalone" {
		t.Fatalf("Mode = %q, %v; want standalone", mode, err)
	}
	// Every four-letter word is whitelisted.
	for cmd, want := range map[string]string{
		"ruok": "imok",
		"srvr": "Mode: standalone",
		"stat": "Clients:",
		"mntr": "zk_server_state\tstandalone",
		"cons": "sid=0x",
		"wchc": "", // no watches: an empty but successful reply
		"conf": "tickTime=200",
	} {
		reply, err := shared.FourLetter(cmd)
		if err != nil {
			t.Errorf("FourLetter(%s): %v", cmd, err)
			continue
		}
		if strings.Contains(reply, "is not executed because it is not in the whitelist") || !strings.Contains(reply, want) {
			t.Errorf("FourLetter(%s) = %q, want it to contain %q", cmd, reply, want)
		}
	}
	if shared.Pid() == 0 || !shared.Running() {
		t.Fatalf("Pid = %d, Running = %v", shared.Pid(), shared.Running())
	}
}

// A client asking for 10s gets the server's MaxSessionTimeout, 4s: visible
// in go-zookeeper's log and in the server's cons output.
func TestNegotiatedSessionTimeout(t *testing.T) {
	t.Parallel()
	c := connect(t, shared.Addr(), 10*time.Second)
	id := c.SessionID()
	if id == 0 {
		t.Fatal("no session ID")
	}
	got, err := shared.SessionTimeout(id)
	if err != nil {
		t.Fatal(err)
	}
	if got != 4*time.Second {
		t.Fatalf("server negotiated %v, want 4s", got)
	}
	if line, ok := c.log.find("timeout=4000"); !ok {
		t.Fatalf("go-zookeeper did not log the negotiated 4000ms timeout")
	} else {
		t.Logf("client log: %s", line)
	}
}

func TestFreezeThaw(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{TickTime: 200 * time.Millisecond})
	c := connect(t, s.Addr(), 4*time.Second)
	if _, err := c.Create("/freeze", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	must(t, s.Freeze())
	if !s.Frozen() {
		t.Fatal("Frozen() = false after Freeze")
	}
	if _, err := FourLetter(s.Addr(), "ruok", 500*time.Millisecond); err == nil {
		t.Fatal("a frozen server answered ruok")
	}
	// A request to a frozen server never gets an answer: go-zookeeper gives
	// up on the connection after 2/3 of the session timeout.
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Get("/freeze")
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Get succeeded on a frozen server")
		}
		t.Logf("Get on a frozen server: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Get on a frozen server did not fail within 20s")
	}

	must(t, s.Thaw())
	if s.Pid() != pid {
		t.Fatalf("pid changed across Freeze/Thaw: %d -> %d", pid, s.Pid())
	}
	eventually(t, 30*time.Second, "Get after Thaw", func() error {
		_, _, err := c.Get("/freeze")
		return err
	})
}

// Stop, Kill and Restart keep the ports and the data.
func TestStopKillRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{TickTime: 200 * time.Millisecond})
	addr, dir := s.Addr(), s.DataDir()
	c := connect(t, s.Addr(), 4*time.Second)
	if _, err := c.Create("/durable", []byte("v1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	must(t, s.Stop())
	if s.Running() || s.Pid() != 0 {
		t.Fatal("still running after Stop")
	}
	if _, err := FourLetter(addr, "ruok", time.Second); err == nil {
		t.Fatal("a stopped server answered")
	}
	must(t, s.Restart())
	must(t, s.Freeze()) // Kill must work on a frozen JVM too
	must(t, s.Kill())
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	must(t, s.Restart())
	if s.Addr() != addr || s.DataDir() != dir {
		t.Fatalf("Restart moved the server: %s %s -> %s %s", addr, dir, s.Addr(), s.DataDir())
	}
	c2 := connect(t, s.Addr(), 4*time.Second)
	data, _, err := c2.Get("/durable")
	if err != nil || string(data) != "v1" {
		t.Fatalf("Get after restarts = %q, %v; want v1", data, err)
	}
}

// fatalTB records Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()        {}
func (f *fatalTB) Cleanup(func()) {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A missing installation fails the test with a message that says what to
// install; it never skips. Not parallel: it changes where the jars are.
func TestMissingInstallIsFatal(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func()
	}{
		{"no zookeeper jar", func() { zookeeperJar = "/nonexistent/zookeeper.jar" }},
		{"no java", func() { javaName = "no-such-java-binary"; t.Setenv("JAVA_HOME", "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldJar, oldJava := zookeeperJar, javaName
			t.Cleanup(func() { zookeeperJar, javaName = oldJar, oldJava })
			tc.set()

			_, err := findInstall()
			if err == nil || !strings.Contains(err.Error(), "apt-get install zookeeper") {
				t.Fatalf("findInstall error = %v; want one saying apt-get install zookeeper", err)
			}
			ftb := &fatalTB{TB: t}
			done := make(chan *Server)
			go func() {
				defer close(done)
				done <- Start(ftb, Options{})
			}()
			if s := <-done; s != nil {
				t.Fatal("Start returned a server without an installation")
			}
			if !strings.Contains(ftb.msg, "apt-get install zookeeper") {
				t.Fatalf("Start's Fatalf message = %q", ftb.msg)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{TickTime: 1500 * time.Microsecond},
		{SyncLimit: -1},
		{MinSessionTimeout: 5 * time.Second, MaxSessionTimeout: 4 * time.Second},
	} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("withDefaults(%+v) accepted", o)
		}
	}
	o, err := Options{}.withDefaults()
	if err != nil || o.TickTime != 2*time.Second || o.SyncLimit != 5 || o.InitLimit != 10 {
		t.Fatalf("defaults = %+v, %v", o, err)
	}
}

func TestParseCons(t *testing.T) {
	reply := " /127.0.0.1:41234[1](queued=0,recved=5,sent=5,sid=0x1000a3f7e2b0000,lop=PING,est=1700000000000,to=4000,lcxid=0x1,lzxid=0x4,lresp=1700000000100,llat=0,minlat=0,avglat=0.5,maxlat=1)\n" +
		" /127.0.0.1:41240[0](queued=0,recved=1,sent=0)\n\n"
	ss, err := parseCons(reply)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].ID != 0x1000a3f7e2b0000 || ss[0].Timeout != 4*time.Second || ss[0].Client != "127.0.0.1:41234" {
		t.Fatalf("parseCons = %+v", ss)
	}
	if st := parseSrvr("This ZooKeeper instance is not currently serving requests\n"); st.Serving {
		t.Fatal("not-serving reply parsed as serving")
	}
	if _, err := FourLetter("127.0.0.1:1", "ruok", time.Second); err == nil {
		t.Fatalf("FourLetter to a closed port: %v", err)
	}
}
