//go:build chaos

package chaos

import (
	"context"
	"database/sql"
	"net"
	"strconv"

	"github.com/go-sql-driver/mysql"

	"github.com/zkfence/zkfence/internal/images"
)

// The MariaDB variant of the nodes (-chaos.engine mariadb): MariaDB 10.11
// from Debian, the zkfence-local/mariadb image.
//
// The token. PostgreSQL takes it as a custom setting on its command line
// (-c zkfence.token=...); MariaDB has no custom server settings, so the
// child gives mariadbd --init-connect='SET @zkfence_token=<ZKFENCE_TOKEN>':
// the server runs that statement at the start of every connection, and the
// insert takes the token from the session's @zkfence_token. It is still the
// server process's own configuration, fixed when zkfence starts it, like
// PostgreSQL's setting. An init file (--init-file) would not do better: its
// statements run once, in a bootstrap thread, at startup, so the only ways
// from there to the clients' sessions are a table (state of the shared data
// directory, which the next holder overwrites, not of the process that
// commits) or SET GLOBAL init_connect, which the command line says
// directly. MariaDB skips init_connect for users with the CONNECTION ADMIN
// (formerly SUPER) privilege, so the client is a user of its own, chaos,
// with every privilege on the database chaos and none global (made by
// initCmd). For such a user @zkfence_token is NULL when init_connect did
// not run, and the insert fails (token is NOT NULL) instead of committing
// a row without a token; and when init_connect fails the server closes the
// connection.
//
// The server. --no-defaults, so that Debian's /etc/mysql does not matter
// (it binds 127.0.0.1); every setting the suite relies on is on the
// command line: durable commits (innodb_flush_log_at_trx_commit=1, the
// doublewrite buffer, no binary log, so sync_binlog does not apply),
// innodb_flush_method=fsync and no native AIO because the data directory
// is on a FUSE mount (bindfs), where O_DIRECT and kernel AIO are not
// what InnoDB expects; skip-name-resolve, so that a connection is not held
// up by a reverse DNS look-up of the client's address (the client gives up
// after 500 ms). sh execs mariadbd, so that mariadbd is the process
// zkfence supervises; zkfence's --engine mysql leaves its signals as they
// are (SIGTERM: InnoDB's clean shutdown, then SIGKILL after the grace).

var mariadbEngine = engine{
	name:        "mariadb",
	title:       "MariaDB 10.11",
	zkEngine:    "mysql",
	image:       func(s images.Set) string { return s.MariaDB },
	procs:       []string{"mariadbd", "mysqld"},
	port:        myPort,
	user:        "mysql",
	createTable: myCreateTable,
	connect:     connectMariaDB,
	child: `exec /usr/sbin/mariadbd --no-defaults --datadir=/data/my --bind-address=0.0.0.0 --port=3306 ` +
		`--socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --skip-name-resolve ` +
		`--skip-log-bin --innodb-flush-log-at-trx-commit=1 --innodb-doublewrite=1 ` +
		`--innodb-flush-method=fsync --innodb-use-native-aio=0 --innodb-buffer-pool-size=32M ` +
		`--max-connections=30 --init-connect="SET @zkfence_token=$ZKFENCE_TOKEN"`,
	// mariadb-install-db, then a server on a socket only, for the client's
	// database and user (root logs in through the socket, as the system's
	// root), shut down cleanly.
	initCmd: `set -e
install -d -o mysql -g mysql -m 750 /shared/my
mariadb-install-db --no-defaults --user=mysql --datadir=/shared/my --auth-root-authentication-method=socket --skip-test-db >/dev/null
su mysql -s /bin/sh -c 'exec mariadbd --no-defaults --datadir=/shared/my --skip-networking --socket=/tmp/init.sock --pid-file=/tmp/init.pid' >/tmp/init.log 2>&1 &
i=0
until mariadb-admin --no-defaults --socket=/tmp/init.sock ping >/dev/null 2>&1; do
	i=$((i+1)); [ $i -lt 240 ] || { cat /tmp/init.log; exit 1; }; sleep 0.25
done
mariadb --no-defaults --socket=/tmp/init.sock -uroot <<EOF
create database chaos;
create user chaos@'%' identified by 'chaos';
grant all on chaos.* to chaos@'%';
EOF
mariadb-admin --no-defaults --socket=/tmp/init.sock -uroot shutdown
wait`,
}

const myCreateTable = `create table if not exists w (
	id bigint not null auto_increment primary key, trial varchar(200) not null, seq bigint not null,
	token bigint not null, at datetime(6) not null default current_timestamp(6)) engine=InnoDB`

// One statement, as with PostgreSQL: MariaDB has INSERT ... RETURNING
// (10.5 and later), and the token comes from the session (init_connect).
const myInsertRow = `insert into w (trial, seq, token) values (?, ?, @zkfence_token) returning id, token`

// myConn is the MariaDB connection: go-sql-driver/mysql through
// database/sql, one dedicated connection (sql.Conn: database/sql never
// sends a statement again on another connection), user chaos. The
// placeholders are interpolated by the driver, so that a write is one
// text-protocol statement, not a prepare, execute and close.
type myConn struct {
	db *sql.DB
	c  *sql.Conn
}

func connectMariaDB(ctx context.Context, ip string, port int) (dbConn, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = "chaos", "chaos", "chaos"
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(ip, strconv.Itoa(port))
	cfg.Timeout = connectTimeout
	cfg.InterpolateParams = true
	// The driver would also print some errors (a reset connection when a
	// node is killed) to stderr; the client records every error it returns.
	cfg.Logger = &mysql.NopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	c, err := db.Conn(ctx) // a new DB has no idle connection: this dials
	if err != nil {
		db.Close()
		return nil, err
	}
	return myConn{db: db, c: c}, nil
}

func (m myConn) insert(ctx context.Context, trial string, seq int64) (id, token int64, err error) {
	err = m.c.QueryRowContext(ctx, myInsertRow, trial, seq).Scan(&id, &token)
	return id, token, err
}

func (m myConn) rows(ctx context.Context, trial string) ([]row, error) {
	r, err := m.c.QueryContext(ctx, "select id, seq, token from w where trial = ? order by id", trial)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var rows []row
	for r.Next() {
		var x row
		if err := r.Scan(&x.id, &x.seq, &x.token); err != nil {
			return nil, err
		}
		rows = append(rows, x)
	}
	return rows, r.Err()
}

func (m myConn) exec(ctx context.Context, stmt string) error {
	_, err := m.c.ExecContext(ctx, stmt)
	return err
}

func (m myConn) close() {
	m.c.Close()
	m.db.Close()
}
