package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// `zkfence marathon ...`: the scheduler side. render and validate work
// offline; deploy, tasks, volumes and wipe talk to Marathon. Every flag has
// an environment variable ZKFENCE_MARATHON_<FLAG> (--marathon is
// ZKFENCE_MARATHON_URL). A definition Marathon would refuse is printed as
// Marathon's 422 body on stdout, and the command fails.

func marathonCommand() *cli.Command {
	return &cli.Command{
		Name:  "marathon",
		Usage: "render, validate and deploy Marathon apps and pods for a fenced database",
		Subcommands: []*cli.Command{
			marathonRenderCommand(),
			marathonValidateCommand(),
			marathonDeployCommand(),
			marathonTasksCommand(),
			marathonVolumesCommand(),
			marathonWipeCommand(),
			marathonConformanceCommand(),
		},
	}
}

// menv names the environment variable of a marathon flag: --ca-file is ZKFENCE_MARATHON_CA_FILE.
func menv(flag string) []string {
	return []string{"ZKFENCE_MARATHON_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}
}

// clientFlags are the flags of the commands that talk to Marathon.
func clientFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "marathon", EnvVars: []string{"ZKFENCE_MARATHON_URL"}, Required: true,
			Usage: "Marathon's `URL`: http(s)://host:8080, or https://<dcos>/service/marathon"},
		&cli.StringFlag{Name: "token", EnvVars: menv("token"),
			Usage: "DC/OS authentication `token`, sent as \"Authorization: token=...\" (prefer the environment variable)"},
		&cli.StringFlag{Name: "ca-file", EnvVars: menv("ca-file"), Usage: "PEM `file` of the CAs that sign Marathon's certificate"},
		&cli.DurationFlag{Name: "timeout", EnvVars: menv("timeout"), Value: marathon.DefaultTimeout,
			Usage: "give up on a request Marathon does not answer within this time"},
		&cli.BoolFlag{Name: "pod", EnvVars: menv("pod"), Usage: "the service is a pod, not an app"},
	}
}

func newMarathonClient(c *cli.Context) (*marathon.Client, error) {
	cl, err := marathon.NewClient(marathon.ClientConfig{URL: c.String("marathon"), Token: c.String("token"),
		CAFile: c.String("ca-file"), Timeout: c.Duration("timeout")})
	if err != nil {
		return nil, refused("%v", err)
	}
	return cl, nil
}

func serviceKind(c *cli.Context) marathon.Kind {
	if c.Bool("pod") {
		return marathon.KindPod
	}
	return marathon.KindApp
}

// readInput reads a file, or stdin for "-".
func readInput(c *cli.Context, name string) ([]byte, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(c.App.Reader)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, refused("%v", err)
	}
	return b, nil
}

// oneArg is the command's single argument.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", refused("want one argument, %s; got %d", what, c.NArg())
	}
	return c.Args().First(), nil
}

// reportInvalid prints a refusal as Marathon's 422 body and returns an error
// for the exit code; other errors pass through.
func reportInvalid(c *cli.Context, what string, err error) error {
	var ve *marathon.ValidationError
	var ae *marathon.APIError
	switch {
	case errors.As(err, &ve):
	case errors.As(err, &ae) && ae.ValidationError() != nil:
		ve = ae.ValidationError()
	case errors.Is(err, marathon.ErrBadInput):
		return refused("%s: %v", what, err)
	default:
		return err
	}
	if _, werr := fmt.Fprintf(c.App.Writer, "%s\n", ve.JSON()); werr != nil {
		return werr
	}
	n := 0
	for _, d := range ve.Details {
		n += len(d.Errors)
	}
	return refused("%s: Marathon would refuse it: %d error(s), listed above", what, n)
}

func marathonValidateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a definition against Marathon's rules for resident apps and pods",
		ArgsUsage: "FILE (- for stdin)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", EnvVars: menv("kind"), Value: "app",
				Usage: "app, pod, volume, container, update-app or update-pod ({\"from\": old, \"to\": new})"},
			&cli.StringFlag{Name: "update-from", EnvVars: menv("update-from"),
				Usage: "the current definition (`FILE`): also check the update rules of resident services"},
			&cli.StringFlag{Name: "rules", EnvVars: menv("rules"), Value: "head",
				Usage: "head (Marathon 1.9+ with role enforcement), schema (without it) or legacy (1.1-1.5)"},
			&cli.StringFlag{Name: "mesos-role", EnvVars: menv("mesos-role"), Value: "*", Usage: "Marathon's --mesos_role"},
			&cli.StringFlag{Name: "previous-role", EnvVars: menv("previous-role"), Usage: "the role the service has now"},
			&cli.BoolFlag{Name: "force", EnvVars: menv("force"), Usage: "the request will carry ?force=true"},
			&cli.BoolFlag{Name: "enforce-group-role", EnvVars: menv("enforce-group-role"),
				Usage: "the service's top-level group has enforceRole"},
		},
		Action: marathonValidate,
	}
}

func marathonValidate(c *cli.Context) error {
	name, err := oneArg(c, "the definition file")
	if err != nil {
		return err
	}
	doc, err := readInput(c, name)
	if err != nil {
		return err
	}
	opts := marathon.Options{Rules: marathon.RuleSet(c.String("rules")), MesosRole: c.String("mesos-role"),
		PreviousRole: c.String("previous-role"), Force: c.Bool("force"), EnforceGroupRole: c.Bool("enforce-group-role")}
	kind := marathon.Kind(c.String("kind"))
	var verr error
	if from := c.String("update-from"); from != "" {
		old, err := readInput(c, from)
		if err != nil {
			return err
		}
		verr = marathon.ValidateUpdate(kind, old, doc, opts)
	} else {
		verr = marathon.Validate(kind, doc, opts)
	}
	if verr != nil {
		return reportInvalid(c, name, verr)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s: valid %s\n", name, kind)
	return err
}

func marathonDeployCommand() *cli.Command {
	return &cli.Command{
		Name:      "deploy",
		Usage:     "validate, then create or update an app or pod (with ?force=true when its role changes)",
		ArgsUsage: "FILE (- for stdin)",
		Flags: append(clientFlags(),
			&cli.BoolFlag{Name: "force", EnvVars: menv("deploy-force"),
				Usage: "send ?force=true even without a role change: overrides a deployment in progress"},
			&cli.StringFlag{Name: "mesos-role", EnvVars: menv("mesos-role"), Usage: "Marathon's --mesos_role (default: ask Marathon)"},
			&cli.BoolFlag{Name: "no-validate", EnvVars: menv("no-validate"), Usage: "send the definition without checking it first"},
		),
		Action: marathonDeploy,
	}
}

func marathonDeploy(c *cli.Context) error {
	name, err := oneArg(c, "the definition file")
	if err != nil {
		return err
	}
	doc, err := readInput(c, name)
	if err != nil {
		return err
	}
	cl, err := newMarathonClient(c)
	if err != nil {
		return err
	}
	r, err := cl.Deploy(c.Context, serviceKind(c), doc, marathon.DeployOptions{Force: c.Bool("force"),
		MesosRole: c.String("mesos-role"), SkipValidation: c.Bool("no-validate")})
	if err != nil {
		return reportInvalid(c, name, err)
	}
	verb := "updated"
	if r.Created {
		verb = "created"
	}
	msg := fmt.Sprintf("%s %s: deployment %s", verb, name, r.DeploymentID)
	if r.Forced {
		msg += " (sent with ?force=true: instances that exist keep their reservations under their old role until replaced)"
	}
	_, err = fmt.Fprintln(c.App.Writer, msg)
	return err
}

func marathonTasksCommand() *cli.Command {
	return &cli.Command{
		Name:      "tasks",
		Usage:     "list the tasks (or pod instances) of a service with their agents and local volumes",
		ArgsUsage: "ID",
		Flags:     append(clientFlags(), &cli.BoolFlag{Name: "json", EnvVars: menv("json"), Usage: "print JSON"}),
		Action:    marathonTasks,
	}
}

func marathonTasks(c *cli.Context) error {
	id, err := oneArg(c, "the app or pod id")
	if err != nil {
		return err
	}
	cl, err := newMarathonClient(c)
	if err != nil {
		return err
	}
	var rows [][]string
	var out any
	if c.Bool("pod") {
		st, err := cl.PodStatus(c.Context, id)
		if err != nil {
			return err
		}
		out = st.Instances
		for _, in := range st.Instances {
			rows = append(rows, []string{in.ID, in.AgentHostname, in.AgentID, in.Status, "-", volumeIDs(in.LocalVolumes)})
		}
	} else {
		tasks, err := cl.Tasks(c.Context, id)
		if err != nil {
			return err
		}
		out = tasks
		for _, t := range tasks {
			rows = append(rows, []string{t.ID, t.Host, t.SlaveID, orDash(t.State), orDash(t.StartedAt), volumeIDs(t.LocalVolumes)})
		}
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	return printTable(c.App.Writer, []string{"TASK", "HOST", "AGENT", "STATE", "STARTED", "VOLUMES"}, rows)
}

func marathonVolumesCommand() *cli.Command {
	return &cli.Command{
		Name:      "volumes",
		Usage:     "list the detached volumes of a service: reserved on their agent, their task not running",
		ArgsUsage: "ID",
		Flags:     append(clientFlags(), &cli.BoolFlag{Name: "json", EnvVars: menv("json"), Usage: "print JSON"}),
		Action:    marathonVolumes,
	}
}

func marathonVolumes(c *cli.Context) error {
	id, err := oneArg(c, "the app or pod id")
	if err != nil {
		return err
	}
	cl, err := newMarathonClient(c)
	if err != nil {
		return err
	}
	list := cl.DetachedVolumes
	if c.Bool("pod") {
		list = cl.DetachedPodVolumes
	}
	vols, err := list(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, append([]marathon.DetachedVolume{}, vols...))
	}
	var rows [][]string
	for _, v := range vols {
		rows = append(rows, []string{v.TaskID, v.Host, v.AgentID, v.ContainerPath, v.PersistenceID})
	}
	return printTable(c.App.Writer, []string{"TASK", "HOST", "AGENT", "VOLUME", "PERSISTENCE ID"}, rows)
}

func marathonConformanceCommand() *cli.Command {
	return &cli.Command{
		Name:  "conformance",
		Usage: "run the Marathon conformance corpus and print the agreement by rule set",
		Flags: []cli.Flag{&cli.StringFlag{Name: "corpus", EnvVars: menv("corpus"), Required: true,
			Usage: "the corpus `DIR` (with cases.tsv)"}},
		Action: func(c *cli.Context) error {
			results, err := marathon.RunCorpus(c.String("corpus"))
			if err != nil {
				return refused("%v", err)
			}
			var failed []string
			for _, r := range results {
				if !r.Agreed {
					failed = append(failed, fmt.Sprintf("  %s: %s", r.File, r.Why))
				}
			}
			if _, err := fmt.Fprint(c.App.Writer, marathon.ConformanceTable(results)); err != nil {
				return err
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d case(s) disagree with Marathon:\n%s", len(failed), strings.Join(failed, "\n"))
			}
			return nil
		},
	}
}

func volumeIDs(vs []marathon.LocalVolume) string {
	if len(vs) == 0 {
		return "-"
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.PersistenceID
	}
	return strings.Join(ids, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// confirm asks a question on stderr and reads the answer from stdin.
func confirm(c *cli.Context, question string) (bool, error) {
	if _, err := fmt.Fprintf(c.App.ErrWriter, "%s\nType yes to continue: ", question); err != nil {
		return false, err
	}
	line, err := bufio.NewReader(c.App.Reader).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return strings.TrimSpace(line) == "yes", nil
}

func marathonWipeCommand() *cli.Command {
	return &cli.Command{
		Name:      "wipe",
		Usage:     "kill a task (or pod instance) and destroy its local volumes and reservation: its data is lost",
		ArgsUsage: "ID TASK",
		Flags: append(clientFlags(),
			&cli.BoolFlag{Name: "yes", EnvVars: menv("yes"), Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "scale", EnvVars: menv("scale"),
				Usage: "refused: Marathon cannot scale down and wipe in one request; scale the service down first"},
		),
		Action: marathonWipe,
	}
}

func marathonWipe(c *cli.Context) error {
	if c.NArg() != 2 {
		return refused("want two arguments, the app or pod id and the task or instance id; got %d", c.NArg())
	}
	id, task := c.Args().Get(0), c.Args().Get(1)
	if c.Bool("scale") {
		return refused("--scale: %v: scale the service down first (set its instances), then wipe the task", marathon.ErrScaleAndWipe)
	}
	cl, err := newMarathonClient(c)
	if err != nil {
		return err
	}
	what, err := describeTask(c, cl, id, task)
	if err != nil {
		return err
	}
	if !c.Bool("yes") {
		ok, err := confirm(c, "Wipe "+what+"?\nIts local volumes are destroyed and their reservation released: the data on them is lost. "+
			"If the service still wants this instance, Marathon starts a new one with new, empty volumes, on any agent.")
		if err != nil {
			return err
		}
		if !ok {
			return refused("wipe not confirmed: nothing was changed")
		}
	}
	if c.Bool("pod") {
		_, err = cl.WipePodInstance(c.Context, id, task)
	} else {
		_, err = cl.WipeTask(c.Context, id, task)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "wiped %s\n", what)
	return err
}

// describeTask finds the task or instance and says where it is and what it holds.
func describeTask(c *cli.Context, cl *marathon.Client, id, task string) (string, error) {
	if c.Bool("pod") {
		st, err := cl.PodStatus(c.Context, id)
		if err != nil {
			return "", err
		}
		for _, in := range st.Instances {
			if in.ID == task {
				return fmt.Sprintf("instance %s of pod %s on %s (agent %s, status %s, volumes %s)",
					in.ID, id, in.AgentHostname, in.AgentID, in.Status, volumeIDs(in.LocalVolumes)), nil
			}
		}
		return "", fmt.Errorf("pod %s has no instance %s: %w", id, task, marathon.ErrNotFound)
	}
	tasks, err := cl.Tasks(c.Context, id)
	if err != nil {
		return "", err
	}
	for _, t := range tasks {
		if t.ID == task {
			state := "not running"
			if t.StartedAt != "" {
				state = "RUNNING since " + t.StartedAt
			}
			return fmt.Sprintf("task %s of app %s on %s (agent %s, %s, volumes %s)",
				t.ID, id, t.Host, t.SlaveID, state, volumeIDs(t.LocalVolumes)), nil
		}
	}
	return "", fmt.Errorf("app %s has no task %s: %w", id, task, marathon.ErrNotFound)
}

func marathonRenderCommand() *cli.Command {
	str := func(name, usage string) cli.Flag {
		return &cli.StringFlag{Name: name, EnvVars: menv(name), Usage: usage}
	}
	return &cli.Command{
		Name:  "render",
		Usage: "write an app or pod definition for a fenced PostgreSQL or MySQL/MariaDB with a local persistent volume",
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
			&cli.Float64Flag{Name: "cpus", EnvVars: menv("cpus"), Usage: "CPUs (default 1)"},
			&cli.Float64Flag{Name: "mem", EnvVars: menv("mem"), Usage: "memory in MiB (default 1024)"},
			&cli.Float64Flag{Name: "disk", EnvVars: menv("disk"), Usage: "sandbox disk in MiB (default 0)"},
			str("volume-name", "the volume's container path or name (default pgdata or mysqldata)"),
			str("volume-type", "root (default), path or mount"),
			&cli.Int64Flag{Name: "volume-size", EnvVars: menv("volume-size"), Usage: "volume size in MiB"},
			&cli.Int64Flag{Name: "volume-max-size", EnvVars: menv("volume-max-size"), Usage: "largest mount disk to take, MiB"},
			str("volume-profile", "storage profile of the disk"),
			str("volume-path-regex", "only disks whose path matches this `regex` (path and mount disks)"),
			&cli.BoolFlag{Name: "mysql-hostpath", EnvVars: menv("mysql-hostpath"),
				Usage: "mount the volume at /var/lib/mysql through a host volume (MySQL images; needs --image)"},
			str("user", "user the database runs as (default postgres or mysql)"),
			str("stop-signal", "signal that stops the database (default SIGINT for postgres, SIGTERM for mysql)"),
			str("stop-grace", "time the database gets to stop before SIGKILL (default 30s)"),
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
	return s, renderLists(c, &s)
}

// renderLists reads --env and --constraint.
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
	for _, con := range c.StringSlice("constraint") {
		parts := strings.SplitN(con, ":", 3)
		if len(parts) < 2 || parts[0] == "" {
			return refused("--constraint %q: want field:OPERATOR[:value]", con)
		}
		s.Constraints = append(s.Constraints, parts)
	}
	return nil
}
