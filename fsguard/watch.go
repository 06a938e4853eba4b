package fsguard

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Probe timings. A failure is detected within Interval + Timeout of the
// instant the mount broke (a probe starts at most Interval after the last one
// ended, and ends or times out within Timeout).
//
// The default timeout is long next to a healthy probe (a statfs and a 4 KiB
// read answer in well under 100 ms, even under load) because a false "mount
// lost" kills a healthy database and moves it to a node that sees the same
// storage: 10 s rides out an NFS server's or a FUSE daemon's brief stall,
// a storage path failover and a long GC pause, while a hung mount, which
// never answers, is still caught within 12 s, less than the default lock
// budget (about 15.6 s, README).
const (
	DefaultProbeInterval = 2 * time.Second
	DefaultProbeTimeout  = 10 * time.Second
	// MinProbeInterval and MinProbeTimeout: below these a probe is not a
	// measurement of the storage but of the scheduler.
	MinProbeInterval = 100 * time.Millisecond
	MinProbeTimeout  = 100 * time.Millisecond
	// MaxProbeInterval and MaxProbeTimeout: a mount loss found after more
	// than an hour is not guarded; they also keep Interval + Timeout far
	// from overflowing.
	MaxProbeInterval = time.Hour
	MaxProbeTimeout  = time.Hour
)

// ProbeConfig is how often the live probe runs and how long one may take.
type ProbeConfig struct {
	Interval, Timeout time.Duration
}

// Validate refuses timings outside the limits; its error wraps
// ErrStorageRefused.
func (c ProbeConfig) Validate() error {
	if c.Interval < MinProbeInterval || c.Interval > MaxProbeInterval {
		return refusef("probe interval %s is outside [%s, %s]", c.Interval, MinProbeInterval, MaxProbeInterval)
	}
	if c.Timeout < MinProbeTimeout || c.Timeout > MaxProbeTimeout {
		return refusef("probe timeout %s is outside [%s, %s]", c.Timeout, MinProbeTimeout, MaxProbeTimeout)
	}
	return nil
}

// MaxDetection is the longest time from a mount breaking to Lost closing.
func (c ProbeConfig) MaxDetection() time.Duration { return c.Interval + c.Timeout }

// Watcher probes the prepared volumes while the child runs.
type Watcher struct {
	cfg     ProbeConfig
	log     *slog.Logger
	observe func(time.Duration, error) // may be nil
	lost    chan struct{}              // closed on the first failure
	quit    chan struct{}              // closed by Stop
	wg      sync.WaitGroup

	mu       sync.Mutex
	err      error
	stopOnce sync.Once
}

// Watch probes every volume of p every interval, each probe bounded by
// timeout (values <= 0 mean the defaults), until the first failure or Stop.
// The watch never waits on a stuck system call: at most one probe per volume
// is in flight, a probe that runs past the timeout IS the failure, and its
// goroutine (with one OS thread, stuck in the kernel) is abandoned until the
// kernel lets go. A nil log means slog.Default().
func Watch(p *Prepared, interval, timeout time.Duration, log *slog.Logger) *Watcher {
	return WatchObserved(p, interval, timeout, log, nil)
}

// WatchObserved is Watch with observe, if not nil, called after every probe
// with its latency and outcome (for metrics); it must not block.
func WatchObserved(p *Prepared, interval, timeout time.Duration, log *slog.Logger, observe func(time.Duration, error)) *Watcher {
	if interval <= 0 {
		interval = DefaultProbeInterval
	}
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Watcher{cfg: ProbeConfig{interval, timeout}, log: log, observe: observe, lost: make(chan struct{}), quit: make(chan struct{})}
	if p != nil {
		log.Info("watching storage", "paths", p.Paths(), "interval", interval, "timeout", timeout,
			"detects_within", w.cfg.MaxDetection())
		for _, g := range p.vols {
			w.wg.Add(1)
			go w.loop(g)
		}
	}
	return w
}

// Lost is closed when a probe failed; Err then says why.
func (w *Watcher) Lost() <-chan struct{} { return w.lost }

// Err returns nil while no probe failed, then an error wrapping ErrMountLost
// and the cause (an errno such as unix.ENOTCONN when there is one).
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the watch and returns at once: it never waits for a probe in
// flight. Lost is not closed by Stop. Safe to call more than once.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() { close(w.quit) })
	w.wg.Wait()
}

// loop probes one volume until a failure, another volume's failure, or Stop.
func (w *Watcher) loop(g *guarded) {
	defer w.wg.Done()
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-w.lost:
			return
		case <-next.C:
		}
		start := time.Now()
		err := w.probe(g)
		if errors.Is(err, errWatchEnded) {
			return
		}
		if w.observe != nil {
			w.observe(time.Since(start), err)
		}
		if errors.Is(err, ErrInconclusive) {
			w.log.Warn("storage probe inconclusive: zkfence is out of a local resource; not a mount loss",
				"path", g.path, "err", err)
		} else if err != nil {
			w.fail(fmt.Errorf("%w: %s: %w", ErrMountLost, g.path, err))
			return
		}
		if took := time.Since(start); took > w.cfg.Timeout/2 {
			w.log.Warn("slow storage probe", "path", g.path, "took", took.Round(time.Millisecond), "timeout", w.cfg.Timeout)
		}
		next.Reset(w.cfg.Interval - time.Since(start))
	}
}

var (
	// errProbeTimeout is the cause when a probe does not return in time.
	errProbeTimeout = errors.New("probe timed out")
	// errWatchEnded: the watch ended while a probe was in flight.
	errWatchEnded = errors.New("watch ended")
)

// probe runs (or joins) the probe of g and waits for it for at most the
// timeout, or until the watch ends (errWatchEnded).
func (w *Watcher) probe(g *guarded) error {
	c := g.probe.start(g.probeOnce)
	timer := time.NewTimer(w.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-c.done:
		return c.err
	case <-timer.C:
		return fmt.Errorf("%w after %s (the filesystem does not answer)", errProbeTimeout, w.cfg.Timeout)
	case <-w.quit:
		return errWatchEnded
	case <-w.lost:
		return errWatchEnded
	}
}

// fail records the first failure and closes Lost.
func (w *Watcher) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	w.err = err
	w.log.Error("mount lost", "err", err)
	close(w.lost)
}
