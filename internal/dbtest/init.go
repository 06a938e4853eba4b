package dbtest

import (
	"fmt"
	"os/exec"
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
		cmd = exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+dataDir, "--user=mysql",
			"--auth-root-authentication-method=normal", "--skip-test-db")
	default:
		return fmt.Errorf("unknown engine %q", engine)
	}
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("init %s in %s: %v\n%s", engine, dataDir, err, out)
	}
	return nil
}
