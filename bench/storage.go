package main

// The storage table (issue 19): database throughput on local disk against
// network-like storage, each cell bare and through `zkfence run`, with 95%
// confidence intervals. What an operator choosing between local persistent
// volumes and shared storage wants to see, and what zkfence adds on top.
//
// For every tier, every server configuration, every repetition: one server
// run bare and one through zkfence, in the order A B, B A, A B, ... (a drift
// in the machine's load falls on both arms alike). A server run starts the
// server in the tier's cgroup, waits until it answers, warms its cache,
// then measures each workload of the configuration for -storage-time with
// the tier's throttle on, and stops the server.

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v3/load"
)

var (
	storageMode  = flag.String("storage", "short", "storage table: short (5s runs, 6 per arm; about 45 minutes on an idle 2-core machine), full (60s runs, 8 per arm; about 10 hours) or off")
	storageTime  = flag.Duration("storage-time", 0, "storage table: length of each measured client run (overrides -storage)")
	storageReps  = flag.Int("storage-reps", 0, "storage table: runs per arm and cell (overrides -storage)")
	storageTiers = flag.String("storage-tiers", "local,fuse,iops500,iops1000", "storage table: tiers, comma-separated (local, fuse, iopsN)")
	storageOnly  = flag.String("storage-only", "", "storage table: only the server configurations whose name contains this")
	storageOut   = flag.String("storage-out", "bench/results", "storage table: directory for storage.md, storage.png and storage.json (the runs)")
	storageAgain = flag.String("storage-rerender", "", "draw the storage table again from this storage.json into -storage-out, measuring nothing")
)

// storageRun is one storage table in the making.
type storageRun struct {
	e     *env
	base  string // on the local disk
	d     time.Duration
	reps  int
	locks int // lock paths used so far
	loads []float64
}

// cellKey names one cell of the table.
type cellKey struct{ tier, config, workload string }

// cell is one cell's runs, bare[i] and zk[i] adjacent in time.
type cell struct {
	bare, zk []float64
}

func storageSettings() (time.Duration, int, error) {
	d, reps := 5*time.Second, 6
	switch *storageMode {
	case "short":
	case "full":
		d, reps = 60*time.Second, 8
	default:
		return 0, 0, fmt.Errorf("-storage %q: want short, full or off", *storageMode)
	}
	if *storageTime > 0 {
		d = *storageTime
	}
	if *storageReps > 0 {
		reps = *storageReps
	}
	return d, reps, nil
}

func storageTable(e *env) ([]row, error) {
	if *storageMode == "off" {
		return nil, nil
	}
	d, reps, err := storageSettings()
	if err != nil {
		return nil, err
	}
	began := time.Now()
	base, err := os.MkdirTemp("/var/tmp", "zkfence-bench-storage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, err
	}
	ts, err := makeTiers(base, strings.Split(*storageTiers, ","), 4096)
	defer ts.close()
	if err != nil {
		return nil, err
	}
	s := &storageRun{e: e, base: base, d: d, reps: reps}
	var configs []dbConfig
	for _, c := range dbConfigs() {
		if strings.Contains(c.name, *storageOnly) {
			configs = append(configs, c)
		}
	}
	if err := s.install(ts.tiers, configs); err != nil {
		return nil, err
	}
	cells := map[cellKey]*cell{}
	total, done := len(ts.tiers)*len(configs)*reps*2, 0
	for _, t := range ts.tiers {
		for _, c := range configs {
			for rep := range reps {
				for _, wrapped := range [][]bool{{false, true}, {true, false}}[rep%2] {
					scores, err := s.session(t, c, wrapped)
					if err != nil {
						return nil, fmt.Errorf("%s, %s, wrapped %v: %w", t.name, c.name, wrapped, err)
					}
					for i, w := range c.workloads {
						k := cellKey{t.name, c.name, w.name}
						if cells[k] == nil {
							cells[k] = &cell{}
						}
						if wrapped {
							cells[k].zk = append(cells[k].zk, scores[i])
						} else {
							cells[k].bare = append(cells[k].bare, scores[i])
						}
					}
					done++
					fmt.Fprintf(os.Stderr, "bench: storage %d/%d server runs (%s, %s), %v so far\n", done, total, t.name, c.name, time.Since(began).Round(time.Second))
				}
			}
		}
	}
	rep := &storageReport{tiers: ts.tiers, configs: configs, cells: cells, d: d, reps: reps, took: time.Since(began), loads: s.loads, date: time.Now()}
	return rep.write(*storageOut)
}

// install makes each engine's template once and copies it into every tier.
func (s *storageRun) install(tiers []*tier, configs []dbConfig) error {
	seen := map[*engine]bool{}
	for _, c := range configs {
		if seen[c.engine] {
			continue
		}
		seen[c.engine] = true
		eng := c.engine
		fmt.Fprintf(os.Stderr, "bench: storage: loading %s\n", eng.name)
		cred, err := credential(eng.user)
		if err != nil {
			return err
		}
		tmpl := filepath.Join(s.base, "template-"+eng.name)
		if err := os.Mkdir(tmpl, 0o700); err != nil {
			return err
		}
		if err := os.Chown(tmpl, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		if err := eng.template(s, tmpl); err != nil {
			return fmt.Errorf("%s: load: %w", eng.name, err)
		}
		copied := map[string]bool{}
		for _, t := range tiers {
			if copied[t.dir] {
				continue // iops tiers share one device
			}
			copied[t.dir] = true
			if err := copyTree(tmpl, filepath.Join(t.dir, eng.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// session is one server run: start, warm, each workload measured, stop.
func (s *storageRun) session(t *tier, c dbConfig, wrapped bool) ([]float64, error) {
	data := filepath.Join(t.dir, c.engine.name)
	run, stop, err := s.start(c.engine, t, wrapped, data, c.serverArg)
	if err != nil {
		return nil, err
	}
	scores, err := func() ([]float64, error) {
		if err := c.engine.ready(run); err != nil {
			return nil, err
		}
		if err := c.engine.warm(run); err != nil {
			return nil, fmt.Errorf("warm: %w", err)
		}
		var scores []float64
		for _, w := range c.workloads {
			if err := t.throttle(true); err != nil {
				return nil, err
			}
			tps, err := c.engine.client(run, w, s.d)
			if terr := t.throttle(false); err == nil {
				err = terr
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.name, err)
			}
			scores = append(scores, tps)
		}
		return scores, nil
	}()
	if l, lerr := load.Avg(); lerr == nil {
		s.loads = append(s.loads, l.Load1)
	}
	if serr := stop(); err == nil && serr != nil {
		err = serr
	}
	return scores, err
}

// withServer runs fn against the engine's server on data, bare, outside
// any tier (for loading the templates).
func (s *storageRun) withServer(eng *engine, data string, extra []string, fn func(run string) error) error {
	run, stop, err := s.start(eng, nil, false, data, extra)
	if err != nil {
		return err
	}
	err = eng.ready(run)
	if err == nil {
		err = fn(run)
	}
	if serr := stop(); err == nil {
		err = serr
	}
	return err
}

// start starts the engine's server on data, bare (as the engine's user, by
// setpriv) or through zkfence (--user), inside the tier's cgroup when there
// is a tier, and returns its run directory and a stop function.
func (s *storageRun) start(eng *engine, t *tier, wrapped bool, data string, extra []string) (string, func() error, error) {
	cred, err := credential(eng.user)
	if err != nil {
		return "", nil, err
	}
	run, err := os.MkdirTemp(s.base, "run-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(run, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.Chown(run, int(cred.Uid), int(cred.Gid)); err != nil {
		return "", nil, err
	}
	argv := append(eng.argv(data, run), extra...)
	if wrapped {
		zk := append([]string{s.e.zkfence, "run", "--zk", s.e.zk.Addr(), "--user", eng.user}, defaultFlags...)
		if t != nil && t.mount != "" {
			// As in production: the volume guarded (probed every 2s, its
			// fence record's heartbeat written and fsynced every 1s), under
			// one lock per volume, since a volume belongs to one lock path.
			zk = append(zk, "--lock", "/bench/storage-volume-"+strings.ReplaceAll(strings.Trim(t.mount, "/"), "/", "-"),
				"--mount", t.mount, "--fstype", t.fstype, "--claim-volume")
		} else {
			s.locks++
			zk = append(zk, "--lock", fmt.Sprintf("/bench/storage-%d", s.locks))
		}
		argv = append(append(append(zk, eng.zkExtra...), "--"), argv...)
	} else {
		argv = append([]string{"setpriv", "--reuid=" + eng.user, "--regid=" + eng.user, "--clear-groups"}, argv...)
	}
	if t != nil {
		argv = t.inCgroup(argv)
	}
	proc, err := startLogged(argv, filepath.Join(run, "server.log"))
	if err != nil {
		return "", nil, err
	}
	stop := func() error {
		sig := eng.stopSig
		if wrapped {
			sig = syscall.SIGTERM // to zkfence, which maps it for the server
		}
		if !proc.stop(sig, 3*time.Minute) {
			return fmt.Errorf("%s did not stop within 3 minutes (killed); log %s", eng.name, filepath.Join(run, "server.log"))
		}
		return nil
	}
	return run, stop, nil
}

// startLogged starts argv in its own process group, in /, its output
// appended to logFile.
func startLogged(argv []string, logFile string) (*proc, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = log, log
	return startProc(cmd)
}
