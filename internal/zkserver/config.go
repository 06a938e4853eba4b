package zkserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Options configures the servers started by Start, StartMain, StartEnsemble
// and StartEnsembleMain. The zero value is ZooKeeper's sample configuration
// (tickTime 2 s, initLimit 10, syncLimit 5).
type Options struct {
	// TickTime is ZooKeeper's tickTime (whole milliseconds). Default 2s.
	// Tests usually want 200-500ms.
	TickTime time.Duration
	// InitLimit and SyncLimit are in ticks. Defaults 10 and 5.
	InitLimit int
	SyncLimit int
	// MinSessionTimeout and MaxSessionTimeout bound the session timeout the
	// server negotiates (whole milliseconds). Zero leaves ZooKeeper's
	// defaults: 2 x TickTime and 20 x TickTime.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// ForceSync makes the server fsync its transaction log on every write
	// (ZooKeeper's default). The harness turns it off unless asked: the data
	// still survives a SIGKILL of the JVM (it is in the page cache), and
	// writes are much faster.
	ForceSync bool
	// StartTimeout bounds the wait for a (re)started server or ensemble to
	// serve. Default 60s.
	StartTimeout time.Duration
	// Extra lines for zoo.cfg, key=value, written last.
	Extra map[string]string
	// JVMFlags replaces the harness's default JVM flags (small heap, serial
	// GC, C1 only), which keep start-up fast on small machines.
	JVMFlags []string
}

// defaultJVMFlags keep a test JVM small and quick to start.
var defaultJVMFlags = []string{
	"-Xms32m", "-Xmx256m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:-UsePerfData",
	"-Djava.awt.headless=true",
}

// withDefaults returns o with defaults filled in, or an error for values
// ZooKeeper would reject or misread.
func (o Options) withDefaults() (Options, error) {
	if o.TickTime == 0 {
		o.TickTime = 2 * time.Second
	}
	if o.InitLimit == 0 {
		o.InitLimit = 10
	}
	if o.SyncLimit == 0 {
		o.SyncLimit = 5
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.JVMFlags == nil {
		o.JVMFlags = defaultJVMFlags
	}
	switch {
	case o.TickTime < time.Millisecond:
		return o, fmt.Errorf("zkserver: TickTime %v is below 1ms", o.TickTime)
	case o.TickTime%time.Millisecond != 0:
		return o, fmt.Errorf("zkserver: TickTime %v is not a whole number of milliseconds", o.TickTime)
	case o.InitLimit < 1 || o.SyncLimit < 1:
		return o, fmt.Errorf("zkserver: InitLimit %d and SyncLimit %d must be positive", o.InitLimit, o.SyncLimit)
	case o.MinSessionTimeout < 0 || o.MaxSessionTimeout < 0:
		return o, errors.New("zkserver: negative session timeout bound")
	case o.MinSessionTimeout%time.Millisecond != 0 || o.MaxSessionTimeout%time.Millisecond != 0:
		return o, errors.New("zkserver: session timeout bounds must be whole milliseconds")
	case o.MinSessionTimeout > 0 && o.MaxSessionTimeout > 0 && o.MinSessionTimeout > o.MaxSessionTimeout:
		return o, fmt.Errorf("zkserver: MinSessionTimeout %v above MaxSessionTimeout %v", o.MinSessionTimeout, o.MaxSessionTimeout)
	}
	return o, nil
}

// peerAddrs is one server.N line: the quorum and election ports a server
// uses to reach peer N (its own real ports for itself, proxies for others).
type peerAddrs struct {
	id           int
	quorumPort   int
	electionPort int
}

// renderConfig returns the zoo.cfg of one server. peers is empty for a
// standalone server.
func renderConfig(o Options, dataDir string, clientPort int, peers []peerAddrs) string {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
	b.WriteString("# written by github.com/zkfence/zkfence/internal/zkserver\n")
	line("tickTime", ms(o.TickTime))
	line("initLimit", o.InitLimit)
	line("syncLimit", o.SyncLimit)
	if o.MinSessionTimeout > 0 {
		line("minSessionTimeout", ms(o.MinSessionTimeout))
	}
	if o.MaxSessionTimeout > 0 {
		line("maxSessionTimeout", ms(o.MaxSessionTimeout))
	}
	line("dataDir", dataDir)
	line("clientPort", clientPort)
	line("clientPortAddress", "127.0.0.1")
	line("maxClientCnxns", 0)
	line("4lw.commands.whitelist", "*")
	line("admin.enableServer", false)
	line("forceSync", map[bool]string{true: "yes", false: "no"}[o.ForceSync])
	line("preAllocSize", 1024) // KB; ZooKeeper's default is 64 MB per log file
	line("snapshot.trust.empty", true)
	line("reconfigEnabled", false)
	line("standaloneEnabled", true)
	for _, p := range peers {
		line(fmt.Sprintf("server.%d", p.id), fmt.Sprintf("127.0.0.1:%d:%d", p.quorumPort, p.electionPort))
	}
	keys := make([]string, 0, len(o.Extra))
	for k := range o.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line(k, o.Extra[k])
	}
	return b.String()
}

// renderLog4j sends everything at INFO and above to one file.
func renderLog4j(logFile string) string {
	return strings.Join([]string{
		"log4j.rootLogger=INFO, FILE",
		"log4j.appender.FILE=org.apache.log4j.FileAppender",
		"log4j.appender.FILE.File=" + logFile,
		"log4j.appender.FILE.Append=true",
		"log4j.appender.FILE.layout=org.apache.log4j.PatternLayout",
		"log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n",
		"",
	}, "\n")
}

// serverFiles is the layout of one server's directory.
type serverFiles struct {
	dir     string // the server's own temporary directory
	dataDir string
	cfg     string // zoo.cfg
	log4j   string
	log     string // the server's log4j output
	stdout  string // the JVM's stdout and stderr
}

func newServerFiles(dir string) serverFiles {
	return serverFiles{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		cfg:     filepath.Join(dir, "zoo.cfg"),
		log4j:   filepath.Join(dir, "log4j.properties"),
		log:     filepath.Join(dir, "zookeeper.log"),
		stdout:  filepath.Join(dir, "stdout.log"),
	}
}

// write creates the data directory (with myid when id > 0), zoo.cfg and
// log4j.properties.
func (f serverFiles) write(cfg string, id int) error {
	if err := os.MkdirAll(f.dataDir, 0o755); err != nil {
		return fmt.Errorf("zkserver: creating data dir: %w", err)
	}
	if id > 0 {
		if err := os.WriteFile(filepath.Join(f.dataDir, "myid"), []byte(fmt.Sprintf("%d\n", id)), 0o644); err != nil {
			return fmt.Errorf("zkserver: writing myid: %w", err)
		}
	}
	if err := os.WriteFile(f.cfg, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("zkserver: writing zoo.cfg: %w", err)
	}
	if err := os.WriteFile(f.log4j, []byte(renderLog4j(f.log)), 0o644); err != nil {
		return fmt.Errorf("zkserver: writing log4j.properties: %w", err)
	}
	return nil
}
