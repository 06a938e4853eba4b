package main

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// env names the environment variable of a flag: --stop-grace is ZKFENCE_STOP_GRACE.
func env(flag string) []string {
	return []string{"ZKFENCE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}
}

// zkFlags are shared by every command that talks to ZooKeeper.
func zkFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "zk", EnvVars: env("zk"), Required: true,
			Usage: "ZooKeeper `servers`: host:port[,host:port...][/chroot]"},
		&cli.StringFlag{Name: "lock", EnvVars: env("lock"), Required: true,
			Usage: "lock `path` in ZooKeeper, one per service (e.g. /zkfence/orders-db)"},
		&cli.DurationFlag{Name: "session-timeout", EnvVars: env("session-timeout"), Value: 30 * time.Second,
			Usage: "requested ZooKeeper session timeout T; the server may grant less and zkfence uses what it grants"},
		&cli.StringFlag{Name: "zk-auth-file", EnvVars: env("zk-auth-file"),
			Usage: "`file` holding ZooKeeper digest credentials user:password (or set ZKFENCE_ZK_AUTH); " +
				"lock nodes then get an ACL that only this user may change"},
	}
}

// zkAuthEnv carries credentials without putting them on the command line.
const zkAuthEnv = "ZKFENCE_ZK_AUTH"

// credentials reads --zk-auth-file or ZKFENCE_ZK_AUTH; never both.
func credentials(c *cli.Context) (lock.Credentials, error) {
	file, inline := c.String("zk-auth-file"), os.Getenv(zkAuthEnv)
	switch {
	case file != "" && inline != "":
		return lock.Credentials{}, refused("give ZooKeeper credentials with --zk-auth-file or %s, not both", zkAuthEnv)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return lock.Credentials{}, refused("--zk-auth-file: %v", err)
		}
		creds, err := lock.ParseCredentials(string(data))
		if err != nil {
			return lock.Credentials{}, refused("--zk-auth-file %s: %v", file, err)
		}
		return creds, nil
	case inline != "":
		creds, err := lock.ParseCredentials(inline)
		if err != nil {
			return lock.Credentials{}, refused("%s: %v", zkAuthEnv, err)
		}
		return creds, nil
	}
	return lock.Credentials{}, nil
}

// logFlags choose the log format and level.
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", EnvVars: env("log-format"), Value: "text", Usage: "`text` or json"},
		&cli.StringFlag{Name: "log-level", EnvVars: env("log-level"), Value: "info", Usage: "debug, info, warn or error"},
	}
}

// newLogger builds the logger the flags ask for; logs go to stderr so that
// the child's stdout stays its own.
func newLogger(c *cli.Context, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, refused("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	opts := &slog.HandlerOptions{Level: level}
	if w == os.Stderr {
		w = stderrQueue() // never block the safety path on a stalled stderr
	}
	switch c.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, refused("--log-format %q: want text or json", c.String("log-format"))
}

// sessionConfig reads --zk and --session-timeout.
func sessionConfig(c *cli.Context, log *slog.Logger) (lock.SessionConfig, error) {
	servers, chroot, err := lock.ParseConnectString(c.String("zk"))
	if err != nil {
		return lock.SessionConfig{}, refused("--zk: %v", err)
	}
	if err := lock.ValidateLockPath(c.String("lock")); err != nil {
		return lock.SessionConfig{}, refused("--lock: %v", err)
	}
	t := c.Duration("session-timeout")
	if t <= 0 || t > lock.MaxSessionTimeout {
		return lock.SessionConfig{}, refused("--session-timeout must be positive and at most %s, got %s", lock.MaxSessionTimeout, t)
	}
	creds, err := credentials(c)
	if err != nil {
		return lock.SessionConfig{}, err
	}
	return lock.SessionConfig{Servers: servers, Chroot: chroot, SessionTimeout: t, Credentials: creds, Logger: log}, nil
}

// suspends reports the signals that suspend a process instead of stopping
// it: SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU.
func suspends(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		return true
	}
	return false
}

// checkStopSignals refuses stop signals that cannot stop anything: a
// suspending signal (see suspends) freezes the child instead, so its grace
// is spent on a process that never shuts down cleanly. That goes for the
// stop signal zkfence sends on lock loss, and for what --signal-map makes of
// SIGTERM and SIGINT, the signals docker stop, systemd and Ctrl-C send to
// stop the run. SIGKILL is allowed: the child dies at once, without its own
// clean shutdown.
func checkStopSignals(stop syscall.Signal, m supervise.SignalMap) error {
	if suspends(stop) {
		return refused("--stop-signal %s suspends the child instead of stopping it: use TERM, INT, QUIT or KILL",
			supervise.SignalName(stop))
	}
	for _, from := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		if to := m.Translate(from); suspends(to) {
			return refused("--signal-map: %s would become %s, which suspends the child instead of stopping it",
				supervise.SignalName(from), supervise.SignalName(to))
		}
	}
	return nil
}
