package main

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// `zkfence marathon render`: a definition from --spec and the flags.

func marathonRenderCommand() *cli.Command {
	str := func(name, usage string) cli.Flag {
		return &cli.StringFlag{Name: name, EnvVars: menv(name), Usage: usage}
	}
	return &cli.Command{
		Name:  "render",
		Usage: "write an app or pod definition for a fenced PostgreSQL or MySQL/MariaDB with a local persistent volume or an external volume",
		Description: "The definition comes from --spec (a JSON file with the fields of marathon.Spec) and the flags, " +
			"which win over the file. It is validated before it is written.",
		Flags: []cli.Flag{
			str("spec", "JSON spec `FILE`; flags override its fields"),
			str("output", "write the definition to this `FILE` instead of stdout"),
			str("kind", "app (default) or pod"),
			str("id", "service id, e.g. /db/orders"),
			str("engine", "postgres or mysql (MySQL and MariaDB)"),
			str("zk", "ZooKeeper servers for zkfence run, `host:port[,host:port...][/chroot]`"),
			str("lock", "lock path (default /zkfence<id>)"),
			str("role", "the service's role (default: what Marathon gives it; never *)"),
			str("mesos-role", "Marathon's --mesos_role (default *)"),
			str("image", "container image (default: none, the task runs on the agent)"),
			str("containerizer", "MESOS (default) or DOCKER (apps with an image)"),
			&cli.Float64Flag{Name: "cpus", EnvVars: menv("cpus"), Usage: "CPUs", DefaultText: "1"},
			&cli.Float64Flag{Name: "mem", EnvVars: menv("mem"), Usage: "memory in MiB", DefaultText: "1024"},
			&cli.Float64Flag{Name: "disk", EnvVars: menv("disk"), Usage: "sandbox disk in MiB"},
			str("volume-name", "local: the volume's container path or name (default pgdata or mysqldata); "+
				"external: the volume's name in the storage service, unique in the cluster (required)"),
			str("volume-type", "root (default), path, mount (local persistent volumes) or external (a volume driver's, e.g. EBS through REX-Ray)"),
			&cli.Int64Flag{Name: "volume-size", EnvVars: menv("volume-size"), Usage: "volume size in MiB (external: rounded up to GiB; optional)"},
			str("volume-driver", "external: the Docker volume driver (default rexray)"),
			&cli.StringSliceFlag{Name: "volume-option", EnvVars: menv("volume-option"),
				Usage: "external: driver option `KEY=VALUE`, e.g. volumetype=gp3 (dvdi/ is added; repeatable)"},
			str("fence-agent", "zkfence run --fence-agent: fences the previous holder's node (default for external volumes: fence_aws; none: no fencing)"),
			&cli.StringSliceFlag{Name: "fence-option", EnvVars: menv("fence-option"),
				Usage: "zkfence run --fence-option `NAME=VALUE` (repeatable); credentials only as NAME=env:VAR or NAME=@FILE"},
			str("fence-id", "zkfence run --fence-id: this node's id for the agent (default for fence_aws: the EC2 instance id, read when the task starts)"),
			str("fence-timeout", "zkfence run --fence-timeout (1s to 10m)"),
			&cli.StringSliceFlag{Name: "fence-peers", EnvVars: menv("fence-peers"),
				Usage: "zkfence run --fence-peers `ID[,ID...]`: the fence ids of the service's nodes, the only ones the agent " +
					"is asked to fence (an id read from a volume's fence record is fenced only when listed)"},
			&cli.BoolFlag{Name: "fence-required", EnvVars: menv("fence-required"), Value: true,
				Usage: "zkfence run --fence-required: refuse to start when the previous holder cannot be fenced (--fence-required=false to wait out the lock-delay instead)"},
			&cli.Int64Flag{Name: "volume-max-size", EnvVars: menv("volume-max-size"), Usage: "largest mount disk to take, MiB"},
			str("volume-profile", "storage profile of the disk"),
			str("volume-path-regex", "only disks whose path matches this `regex` (path and mount disks)"),
			&cli.BoolFlag{Name: "claim-volume", EnvVars: menv("claim-volume"),
				Usage: "zkfence run --claim-volume: for the first deployment of a new volume, which has no fence record yet; render and deploy again without it once the task runs"},
			&cli.BoolFlag{Name: "mysql-hostpath", EnvVars: menv("mysql-hostpath"),
				Usage: "mount the volume at /var/lib/mysql through a host volume (MySQL images; needs --image)"},
			str("user", "user the database runs as (default postgres or mysql)"),
			str("stop-signal", "signal that stops the database (default SIGINT for postgres, SIGTERM for mysql)"),
			str("stop-grace", "zkfence --stop-grace: time the database gets to stop on lock loss before SIGKILL; it counts in the timing budget (default 1s)"),
			str("zkfence-path", "the zkfence binary in the task (default zkfence)"),
			str("fstype", "expected file system type of the volume"),
			&cli.StringSliceFlag{Name: "env", EnvVars: menv("env"), Usage: "environment `KEY=VALUE` of the task (repeatable)"},
			&cli.StringSliceFlag{Name: "constraint", EnvVars: menv("constraint"),
				Usage: "placement constraint `field:OPERATOR[:value]`, e.g. hostname:UNIQUE (repeatable)"},
		},
		Action: marathonRender,
	}
}

func marathonRender(c *cli.Context) error {
	spec, err := renderSpec(c)
	if err != nil {
		return err
	}
	out, err := marathon.Render(spec)
	if err != nil {
		return reportInvalid(c, "render", err)
	}
	if name := c.String("output"); name != "" {
		return os.WriteFile(name, out, 0o644)
	}
	_, err = c.App.Writer.Write(out)
	return err
}

// renderSpec reads --spec, then lets the flags that are set override it.
func renderSpec(c *cli.Context) (marathon.Spec, error) {
	var s marathon.Spec
	if name := c.String("spec"); name != "" {
		b, err := readInput(c, name)
		if err != nil {
			return s, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return s, refused("--spec %s: %v", name, err)
		}
	}
	for name, p := range map[string]*string{"kind": &s.Kind, "id": &s.ID, "engine": &s.Engine, "zk": &s.ZK, "lock": &s.Lock,
		"role": &s.Role, "mesos-role": &s.MesosRole, "image": &s.Image, "containerizer": &s.Containerizer,
		"volume-name": &s.Volume.Name, "volume-type": &s.Volume.Type, "volume-profile": &s.Volume.ProfileName,
		"volume-path-regex": &s.Volume.PathRegex, "user": &s.User, "stop-signal": &s.StopSignal,
		"stop-grace": &s.StopGrace, "zkfence-path": &s.Zkfence, "fstype": &s.Fstype} {
		if c.IsSet(name) {
			*p = c.String(name)
		}
	}
	for name, p := range map[string]*float64{"cpus": &s.CPUs, "mem": &s.Mem, "disk": &s.Disk} {
		if c.IsSet(name) {
			*p = c.Float64(name)
		}
	}
	for name, p := range map[string]*int64{"volume-size": &s.Volume.Size, "volume-max-size": &s.Volume.MaxSize} {
		if c.IsSet(name) {
			*p = c.Int64(name)
		}
	}
	if c.IsSet("mysql-hostpath") {
		s.MySQLHostPath = c.Bool("mysql-hostpath")
	}
	if c.IsSet("claim-volume") {
		s.ClaimVolume = c.Bool("claim-volume")
	}
	if c.IsSet("volume-driver") {
		s.Volume.Driver = c.String("volume-driver")
	}
	renderFenceFlags(c, &s)
	return s, renderLists(c, &s)
}

// renderFenceFlags lets the --fence-* flags that are set override the spec's fence.
func renderFenceFlags(c *cli.Context, s *marathon.Spec) {
	set := false
	for _, f := range []string{"fence-agent", "fence-option", "fence-id", "fence-timeout", "fence-required", "fence-peers"} {
		set = set || c.IsSet(f)
	}
	if !set {
		return
	}
	if s.Fence == nil {
		s.Fence = &marathon.FenceSpec{}
	}
	for name, p := range map[string]*string{"fence-agent": &s.Fence.Agent, "fence-id": &s.Fence.ID, "fence-timeout": &s.Fence.Timeout} {
		if c.IsSet(name) {
			*p = c.String(name)
		}
	}
	if c.IsSet("fence-option") {
		s.Fence.Options = c.StringSlice("fence-option")
	}
	if c.IsSet("fence-peers") {
		s.Fence.Peers = c.StringSlice("fence-peers") // split on commas, repeatable
	}
	if c.IsSet("fence-required") {
		req := c.Bool("fence-required")
		s.Fence.Required = &req
	}
}

// renderLists reads --env, --constraint and --volume-option.
func renderLists(c *cli.Context, s *marathon.Spec) error {
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return refused("--env %q: want KEY=VALUE", kv)
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = v
	}
	for _, kv := range c.StringSlice("volume-option") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return refused("--volume-option %q: want KEY=VALUE", kv)
		}
		if s.Volume.Options == nil {
			s.Volume.Options = map[string]string{}
		}
		s.Volume.Options[k] = v
	}
	for _, con := range c.StringSlice("constraint") {
		parts := strings.SplitN(con, ":", 3)
		if len(parts) < 2 || parts[0] == "" {
			return refused("--constraint %q: want field:OPERATOR[:value]", con)
		}
		s.Constraints = append(s.Constraints, parts)
	}
	return nil
}
