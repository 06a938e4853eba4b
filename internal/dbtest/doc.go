// Package dbtest runs throwaway PostgreSQL 15 and MariaDB 10.11 servers for
// tests, benchmarks and the chaos suite: initialise a data directory, start
// a server on a Unix socket in a temporary directory (no TCP), query it,
// stop it. Servers run as the engines' own OS users (postgres, mysql), as
// Debian's packages create them; the caller is expected to be root.
//
//	dir := dbtest.TempDir(t)
//	if err := dbtest.Init(dbtest.Postgres, dir+"/pg"); err != nil { ... }
//	srv, err := dbtest.Start(dbtest.Postgres, dir+"/pg", dir+"/sock")
//	defer srv.Stop()
//	out, err := srv.Query("SELECT count(*) FROM t")
//
// Argv gives the foreground command line of a server, for `zkfence run
// --user postgres -- ...`.
package dbtest
