package dbtest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Engines, named as zkfence names them.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
)

// PGBin holds Debian's PostgreSQL 15 binaries.
const PGBin = "/usr/lib/postgresql/15/bin"

// osUser is the OS user each engine runs as.
var osUser = map[string]string{Postgres: "postgres", MySQL: "mysql"}

// User returns the uid and gid of the engine's OS user.
func User(engine string) (uid, gid int, err error) {
	name, ok := osUser[engine]
	if !ok {
		return 0, 0, fmt.Errorf("unknown engine %q", engine)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// mkdirFor creates dir (and parents), owned by the engine's user, mode 0700.
func mkdirFor(engine, dir string) error {
	uid, gid, err := User(engine)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// credential runs a process as the engine's user.
func credential(engine string) (*syscall.SysProcAttr, error) {
	uid, gid, err := User(engine)
	if err != nil {
		return nil, err
	}
	return &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
		Setpgid:    true,
	}, nil
}

// pgSocket is the socket file PostgreSQL creates in its socket directory.
func pgSocket(sockDir string) string { return filepath.Join(sockDir, ".s.PGSQL.5432") }

// mysqlSocket is the socket file a MariaDB server of this package uses.
func mysqlSocket(sockDir string) string { return filepath.Join(sockDir, "mysqld.sock") }
