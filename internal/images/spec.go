package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// recipeVersion is part of every base image's hash: bump it when the way a
// root file system is made changes (buildRootfs, importRootfs), so that old
// bases are not reused.
const recipeVersion = "1"

// Defaults of a Spec.
const (
	DefaultSuite  = "bookworm"
	DefaultMirror = "http://deb.debian.org/debian"
)

// BaseRepository is the repository of every base image: zkfence-base/<role>.
const BaseRepository = "zkfence-base"

// Spec describes a base image: a Debian root file system with a role's
// packages.
type Spec struct {
	// Name is the role, e.g. "db-node": the image is zkfence-base/<Name>:<hash>.
	Name string
	// Packages are installed with apt-get --no-install-recommends.
	Packages []string
	// Suite and Mirror default to bookworm and deb.debian.org. The suite's
	// -updates and -security archives are used too (from the same host).
	Suite, Mirror string
	// Setup is a shell script run in the root file system (chroot, /bin/sh
	// -e) after the packages are installed.
	Setup string
	// Logf receives progress lines; nil writes them to stderr. It is not
	// part of the image's identity.
	Logf func(format string, args ...any)
}

// DBNode is the one base image the container tests share: PostgreSQL 15,
// MariaDB 10.11 and ZooKeeper 3.8 from Debian, a JRE, and the tools the
// chaos suite needs to break things (iproute2, iptables, bindfs, e2fsprogs,
// procps, psmisc, netcat) and to fence a node (fence-agents: fence_docker). The data directories the packages create are
// removed: an image's volumes start empty, as with the official images.
var DBNode = Spec{
	Name: "db-node",
	Packages: []string{
		"postgresql-15", "mariadb-server",
		"zookeeper", "openjdk-17-jre-headless",
		"iproute2", "iptables", "bindfs", "e2fsprogs", "procps", "psmisc", "netcat-openbsd",
		"fence-agents",
	},
	Setup: `rm -rf /var/lib/mysql/* /var/lib/postgresql/15 /etc/postgresql/15`,
}

var roleName = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)

func (s Spec) withDefaults() (Spec, error) {
	if s.Suite == "" {
		s.Suite = DefaultSuite
	}
	if s.Mirror == "" {
		s.Mirror = DefaultMirror
	}
	if !roleName.MatchString(s.Name) {
		return s, fmt.Errorf("images: role name %q: want lower-case letters, digits, '.', '_', '-'", s.Name)
	}
	for _, p := range s.Packages {
		if strings.ContainsAny(p, " \t\n'\"$`\\;&|") || p == "" {
			return s, fmt.Errorf("images: package name %q", p)
		}
	}
	if s.Logf == nil {
		s.Logf = stderrLogf
	}
	return s, nil
}

// Tag is the image's name: zkfence-base/<Name>:<first 12 hex digits of the
// hash of the package list (sorted), suite, mirror, setup and recipe>.
func (s Spec) Tag() string {
	s, _ = s.withDefaults()
	pkgs := slices.Clone(s.Packages)
	slices.Sort(pkgs)
	h := sha256.New()
	fmt.Fprintf(h, "recipe %s\nsuite %s\nmirror %s\npackages %s\nsetup %s\n",
		recipeVersion, s.Suite, s.Mirror, strings.Join(pkgs, " "), s.Setup)
	return BaseRepository + "/" + s.Name + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

func stderrLogf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "images: "+format+"\n", args...)
}

// lineLogger is an io.Writer that hands each complete line to logf when it
// passes keep (all lines when keep is nil), and remembers the last lines for
// an error message.
type lineLogger struct {
	logf    func(string, ...any)
	prefix  string
	keep    func(string) bool
	partial []byte
	tail    []string
}

var _ io.Writer = (*lineLogger)(nil)

const tailLines = 40

func (l *lineLogger) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := slices.Index(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(string(l.partial[:i]), "\r")
		l.partial = l.partial[i+1:]
		l.tail = append(l.tail, line)
		if len(l.tail) > tailLines {
			l.tail = l.tail[1:]
		}
		if l.keep == nil || l.keep(line) {
			l.logf("%s%s", l.prefix, line)
		}
	}
}

// Tail is the last lines written, for an error message.
func (l *lineLogger) Tail() string {
	t := l.tail
	if len(l.partial) > 0 {
		t = append(slices.Clone(t), string(l.partial))
	}
	return strings.Join(t, "\n")
}
