package dbtest

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// Init creates and initialises a data directory for engine, owned by the
// engine's user: initdb for PostgreSQL (trust authentication, no fsync: it
// is for tests), mariadb-install-db for MariaDB (root without a password).
func Init(engine, dataDir string) error {
	if err := mkdirFor(engine, dataDir); err != nil {
		return err
	}
	var cmd *exec.Cmd
	switch engine {
	case Postgres:
		cmd = exec.Command(PGBin+"/initdb", "-N", "-A", "trust", "-U", "postgres", "-E", "UTF8", "-D", dataDir)
		attr, err := credential(engine)
		if err != nil {
			return err
		}
		cmd.SysProcAttr = attr
	case MySQL:
		// A private tmpdir: the shared /tmp is cleaned by other test runs on
		// this machine, and mariadbd's bootstrap fails when a temporary table
		// file vanishes under it.
		tmp := filepath.Join(filepath.Dir(dataDir), filepath.Base(dataDir)+".tmp")
		if err := mkdirFor(engine, tmp); err != nil {
			return err
		}
		cmd = exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+dataDir, "--user=mysql",
			"--auth-root-authentication-method=normal", "--skip-test-db", "--tmpdir="+tmp)
	default:
		return fmt.Errorf("unknown engine %q", engine)
	}
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("init %s in %s: %v\n%s", engine, dataDir, err, out)
	}
	return nil
}
