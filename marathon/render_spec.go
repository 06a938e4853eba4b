package marathon

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Spec is what render needs to know to write a definition for a fenced
// database. Only ID, Engine, ZK and Volume.Size have no default (an
// external volume needs Volume.Name instead of Volume.Size).
type Spec struct {
	Kind          string            `json:"kind,omitempty"`          // app (default) or pod
	ID            string            `json:"id"`                      // "/db/orders"
	Engine        string            `json:"engine"`                  // postgres or mysql (MySQL and MariaDB)
	ZK            string            `json:"zk"`                      // ZooKeeper for zkfence run --zk
	Lock          string            `json:"lock,omitempty"`          // default /zkfence<ID>
	Role          string            `json:"role,omitempty"`          // default: the role Marathon would give
	MesosRole     string            `json:"mesosRole,omitempty"`     // Marathon's --mesos_role (default "*")
	Image         string            `json:"image,omitempty"`         // container image; none runs on the agent
	Containerizer string            `json:"containerizer,omitempty"` // MESOS (default) or DOCKER; apps only
	CPUs          float64           `json:"cpus,omitempty"`          // default 1
	Mem           float64           `json:"mem,omitempty"`           // MiB, default 1024
	Disk          float64           `json:"disk,omitempty"`          // MiB of sandbox, default 0
	Volume        VolumeSpec        `json:"volume"`
	MySQLHostPath bool              `json:"mysqlHostPath,omitempty"` // mount the volume at /var/lib/mysql (needs Image; apps only)
	User          string            `json:"user,omitempty"`          // default postgres or mysql
	StopSignal    string            `json:"stopSignal,omitempty"`    // default SIGINT (postgres) or SIGTERM (mysql)
	StopGrace     string            `json:"stopGrace,omitempty"`     // zkfence --stop-grace, on lock loss; default 1s
	Zkfence       string            `json:"zkfence,omitempty"`       // the zkfence binary in the task, default "zkfence"
	Fstype        string            `json:"fstype,omitempty"`        // expected file system type of the volume
	ClaimVolume   bool              `json:"claimVolume,omitempty"`   // zkfence run --claim-volume: for the first deployment of a new volume only
	Env           map[string]string `json:"env,omitempty"`
	Constraints   [][]string        `json:"constraints,omitempty"` // placement: [field, operator, value?]
	Fence         *FenceSpec        `json:"fence,omitempty"`       // zkfence run's fence agent (render_fence.go)
}

// VolumeSpec is the volume: a local persistent volume (type root, path or
// mount), or an external volume (type external) that a Docker volume
// driver attaches to whichever agent runs the task (render_external.go).
type VolumeSpec struct {
	Name        string            `json:"name,omitempty"`        // local: container path or pod volume name, default pgdata or mysqldata; external: the volume in the storage service (required)
	Type        string            `json:"type,omitempty"`        // root (default), path, mount or external
	Size        int64             `json:"size,omitempty"`        // MiB (an external volume: rounded up to GiB; optional)
	MaxSize     int64             `json:"maxSize,omitempty"`     // MiB, mount disks only
	ProfileName string            `json:"profileName,omitempty"` // storage profile of the disk
	PathRegex   string            `json:"pathRegex,omitempty"`   // only disks whose path matches (path and mount disks)
	Driver      string            `json:"driver,omitempty"`      // external: the Docker volume driver, default rexray
	Options     map[string]string `json:"options,omitempty"`     // external: driver options, "dvdi/" prefixed when not given
}

// engine is what differs between PostgreSQL and MySQL.
type engine struct {
	volume, user, signal string
	port                 int
	command              func(dataDir string) string
}

var engines = map[string]engine{
	"postgres": {volume: "pgdata", user: "postgres", signal: "SIGINT", port: 5432,
		command: func(d string) string { return "postgres -D " + d }},
	"mysql": {volume: "mysqldata", user: "mysql", signal: "SIGTERM", port: 3306,
		command: func(d string) string { return "mysqld --datadir=" + d }},
}

// volumeName is what a volume name may be: one path element, safe in a shell word.
var volumeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$`)

// withDefaults checks s and fills in its defaults.
func (s Spec) withDefaults() (Spec, engine, error) {
	if s.Kind == "" {
		s.Kind = "app"
	}
	eng, ok := engines[s.Engine]
	switch {
	case s.Kind != "app" && s.Kind != "pod":
		return s, eng, fmt.Errorf("%w: kind %q: want app or pod", ErrBadInput, s.Kind)
	case !ok:
		return s, eng, fmt.Errorf("%w: engine %q: want postgres or mysql", ErrBadInput, s.Engine)
	case s.ID == "":
		return s, eng, fmt.Errorf("%w: an id is needed, e.g. /db/orders", ErrBadInput)
	case s.ZK == "":
		return s, eng, fmt.Errorf("%w: the ZooKeeper servers (zk) are needed", ErrBadInput)
	case s.Volume.Type != volumeExternal && s.Volume.Size <= 0:
		return s, eng, fmt.Errorf("%w: the volume size (MiB) must be positive, got %d", ErrBadInput, s.Volume.Size)
	}
	if s.Volume.Type == volumeExternal {
		return s.externalDefaults(eng)
	}
	defaultString(&s.Volume.Name, eng.volume)
	defaultString(&s.Volume.Type, "root")
	s, eng, err := s.commonDefaults(eng)
	if err != nil {
		return s, eng, err
	}
	return s, eng, s.check()
}

// commonDefaults fills in what every kind of volume shares, and checks it.
func (s Spec) commonDefaults(eng engine) (Spec, engine, error) {
	s.ID = absolutePath(s.ID)
	defaultString(&s.Lock, "/zkfence"+s.ID)
	defaultString(&s.Containerizer, "MESOS")
	defaultString(&s.User, eng.user)
	defaultString(&s.StopSignal, eng.signal)
	// --stop-grace is the grace on lock loss and counts in the timing
	// budget (K); a longer one is refused by zkfence run with default
	// timings (about 6.8s is the most a 30s session allows).
	defaultString(&s.StopGrace, "1s")
	defaultString(&s.Zkfence, "zkfence")
	if s.CPUs == 0 {
		s.CPUs = 1
	}
	if s.Mem == 0 {
		s.Mem = 1024
	}
	if s.Role == "" {
		s.Role = renderRole(s)
	}
	return s, eng, s.checkCommon()
}

// checkCommon refuses what no Marathon would run, whatever the volume.
func (s Spec) checkCommon() error {
	if s.Containerizer != "MESOS" && s.Containerizer != "DOCKER" {
		return fmt.Errorf("%w: containerizer %q: want MESOS or DOCKER", ErrBadInput, s.Containerizer)
	}
	if s.Containerizer == "DOCKER" && (s.Image == "" || s.Kind == "pod") {
		return fmt.Errorf("%w: the DOCKER containerizer runs apps with an image", ErrBadInput)
	}
	if s.MySQLHostPath && (s.Engine != "mysql" || s.Image == "" || s.Kind == "pod") {
		return fmt.Errorf("%w: the MySQL hostPath workaround is for a mysql app with an image", ErrBadInput)
	}
	if g, err := time.ParseDuration(s.StopGrace); err != nil || g <= 0 {
		return fmt.Errorf("%w: stop grace %q: want a positive duration such as 30s", ErrBadInput, s.StopGrace)
	}
	return s.Fence.check()
}

// check refuses a local volume no Marathon would run, with a message
// about the spec.
func (s Spec) check() error {
	if !volumeName.MatchString(s.Volume.Name) {
		return fmt.Errorf("%w: volume name %q: want one path element of a-z, 0-9, '-', '_', '.'", ErrBadInput, s.Volume.Name)
	}
	if t := s.Volume.Type; t != "root" && t != "path" && t != "mount" {
		return fmt.Errorf("%w: volume type %q: want root, path, mount or external", ErrBadInput, t)
	}
	if s.Volume.Driver != "" || len(s.Volume.Options) > 0 {
		return fmt.Errorf("%w: a volume driver and its options are for an external volume (type external)", ErrBadInput)
	}
	if s.Role == "*" {
		return fmt.Errorf("%w: a service with a persistent volume needs a role other than \"*\": "+
			"set role, set Marathon's mesos role, or put the service in a group (its name is a valid role)", ErrBadInput)
	}
	v := &violations{}
	persistentInfoRules(v, s.persistentInfo(), "/volume")
	if err := v.err(msgNotValid); err != nil {
		return fmt.Errorf("%w: volume: %v", ErrBadInput, err)
	}
	return nil
}

// renderRole is the role Marathon would give the service, or else the
// name of its top-level group, which Marathon always accepts.
func renderRole(s Spec) string {
	opts := Options{MesosRole: s.MesosRole}
	if r := roleSettingsFor(s.ID, opts).def; r != "*" {
		return r
	}
	if top, ok := topLevelGroup(s.ID); ok {
		return top
	}
	return "*"
}

// persistentInfo is the volume as Marathon's persistent member.
func (s Spec) persistentInfo() *PersistentVolumeInfo {
	info := &PersistentVolumeInfo{Type: s.Volume.Type, Size: s.Volume.Size}
	if s.Volume.MaxSize > 0 {
		info.MaxSize = &s.Volume.MaxSize
	}
	if s.Volume.ProfileName != "" {
		info.ProfileName = Str(s.Volume.ProfileName)
	}
	if s.Volume.PathRegex != "" {
		info.Constraints = [][]string{{"path", "LIKE", s.Volume.PathRegex}}
	}
	return info
}

// dbShutdown is what a database gets for its clean shutdown when Marathon
// kills the task: zkfence forwards the SIGTERM and waits for it.
const dbShutdown = 30 * time.Second

// killGraceSeconds is how long Mesos waits after SIGTERM before it kills
// the task: the database's clean shutdown, plus zkfence's stop grace and
// 10 s for zkfence to stop the whole tree, release the lock and unmount.
func (s Spec) killGraceSeconds() float64 {
	g, _ := time.ParseDuration(s.StopGrace)
	return (dbShutdown + g + 10*time.Second).Seconds()
}

func defaultString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// shQuote quotes s as one literal shell word.
func shQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shExpand quotes s as one shell word in which $VARIABLES expand. s is
// built by render from checked parts only.
func shExpand(s string) string { return `"` + s + `"` }
