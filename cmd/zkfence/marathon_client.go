package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// The subcommands that talk to Marathon: deploy, tasks, volumes and wipe.
// Each takes the client flags (marathon_flags.go); --pod says the service is
// a pod.

func marathonDeployCommand() *cli.Command {
	return clientCommand("deploy",
		"validate, then create or update an app or pod (with ?force=true when its role changes)",
		"FILE (- for stdin)", marathonDeploy,
		&cli.BoolFlag{Name: "force", EnvVars: menv("deploy-force"),
			Usage: "send ?force=true even without a role change: overrides a deployment in progress"},
		&cli.StringFlag{Name: "mesos-role", EnvVars: menv("mesos-role"), Usage: "Marathon's --mesos_role (default: ask Marathon)"},
		&cli.BoolFlag{Name: "no-validate", EnvVars: menv("no-validate"), Usage: "send the definition without checking it first"},
		&cli.StringSliceFlag{Name: "enable-features", EnvVars: menv("enable-features"),
			Usage: "Marathon's --enable_features (default for an app with external volumes: ask Marathon)"},
	)
}

func marathonDeploy(c *cli.Context) error {
	name, doc, err := definitionArg(c)
	if err != nil {
		return err
	}
	cl, err := newMarathonClient(c)
	if err != nil {
		return err
	}
	opts := marathon.DeployOptions{Force: c.Bool("force"), MesosRole: c.String("mesos-role"), SkipValidation: c.Bool("no-validate")}
	if c.IsSet("enable-features") {
		opts.Features = append([]string{}, c.StringSlice("enable-features")...)
	}
	r, err := cl.Deploy(c.Context, serviceKind(c), doc, opts)
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
	return clientCommand("tasks",
		"list the tasks (or pod instances) of a service with their agents and local volumes",
		"ID", marathonTasks, jsonFlag())
}

func marathonTasks(c *cli.Context) error {
	id, cl, err := serviceClient(c)
	if err != nil {
		return err
	}
	list := appTaskRows
	if c.Bool("pod") {
		list = podInstanceRows
	}
	out, rows, err := list(c, cl, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	return printTable(c.App.Writer, []string{"TASK", "HOST", "AGENT", "STATE", "STARTED", "VOLUMES"}, rows)
}

// appTask is a task with the app's external volumes, which Marathon's
// task list leaves out: they are in the app's definition.
type appTask struct {
	marathon.Task
	ExternalVolumes []marathon.ExternalVolume `json:"externalVolumes,omitempty"`
}

// appTaskRows are an app's tasks, for --json and as table rows. VOLUMES
// lists the local volumes' persistence IDs and the external volumes
// (provider/driver:name), which are attached where the task runs.
func appTaskRows(c *cli.Context, cl *marathon.Client, id string) (any, [][]string, error) {
	tasks, err := cl.Tasks(c.Context, id)
	if err != nil {
		return nil, nil, err
	}
	ext, err := cl.ExternalVolumes(c.Context, id)
	if err != nil {
		return nil, nil, err
	}
	out := make([]appTask, len(tasks))
	var rows [][]string
	for i, t := range tasks {
		out[i] = appTask{Task: t, ExternalVolumes: ext}
		rows = append(rows, []string{t.ID, t.Host, t.SlaveID, orDash(t.State), orDash(t.StartedAt), taskVolumes(t.LocalVolumes, ext)})
	}
	return out, rows, nil
}

// podInstanceRows are a pod's instances, for --json and as table rows.
func podInstanceRows(c *cli.Context, cl *marathon.Client, id string) (any, [][]string, error) {
	st, err := cl.PodStatus(c.Context, id)
	if err != nil {
		return nil, nil, err
	}
	var rows [][]string
	for _, in := range st.Instances {
		rows = append(rows, []string{in.ID, in.AgentHostname, in.AgentID, in.Status, "-", volumeIDs(in.LocalVolumes)})
	}
	return st.Instances, rows, nil
}

func marathonVolumesCommand() *cli.Command {
	return clientCommand("volumes",
		"list the detached volumes of a service: reserved on their agent, their task not running",
		"ID", marathonVolumes, jsonFlag())
}

func marathonVolumes(c *cli.Context) error {
	id, cl, err := serviceClient(c)
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
	if !c.Bool("pod") {
		if err := noteExternalVolumes(c, cl, id); err != nil {
			return err
		}
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

// noteExternalVolumes says on stderr what volumes does not list for an
// app with external volumes, and why.
func noteExternalVolumes(c *cli.Context, cl *marathon.Client, id string) error {
	ext, err := cl.ExternalVolumes(c.Context, id)
	if err != nil || len(ext) == 0 {
		return err
	}
	_, err = fmt.Fprintf(c.App.ErrWriter, "app %s has external volumes (%s): they are not listed here. They are kept by "+
		"their storage service, not reserved on an agent: with no task running they are detached and wait for the "+
		"next task, wherever it starts. There is no reservation to free and wipe does not delete them.\n",
		id, externalNames(ext))
	return err
}

func marathonWipeCommand() *cli.Command {
	return clientCommand("wipe",
		"kill a task (or pod instance) and destroy its local volumes and reservation: its data is lost",
		"ID TASK", marathonWipe,
		&cli.BoolFlag{Name: "yes", EnvVars: menv("yes"), Usage: "do not ask for confirmation"},
		&cli.BoolFlag{Name: "scale", EnvVars: menv("scale"),
			Usage: "refused: Marathon cannot scale down and wipe in one request; scale the service down first"},
	)
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
		ok, err := confirm(c, "Wipe "+what+"?\n"+wipeConsequences(c, cl, id))
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

// wipeConsequences says what a wipe destroys, and what it does not: an
// app's external volumes outlive the task, and nothing is reserved.
func wipeConsequences(c *cli.Context, cl *marathon.Client, id string) string {
	local := "Its local volumes are destroyed and their reservation released: the data on them is lost. " +
		"If the service still wants this instance, Marathon starts a new one with new, empty volumes, on any agent."
	if c.Bool("pod") {
		return local
	}
	ext, err := cl.ExternalVolumes(c.Context, id)
	if err != nil || len(ext) == 0 {
		return local
	}
	return "The task is killed and forgotten. Its external volumes (" + externalNames(ext) + ") are NOT destroyed: " +
		"they outlive the task, and the next task attaches them again, on whichever agent it starts; there is no " +
		"reservation to free. To delete their data, delete the volumes in their storage service. " +
		"Any local volumes of the task are destroyed."
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

// describeTask finds the task or instance and says where it is and what it holds.
func describeTask(c *cli.Context, cl *marathon.Client, id, task string) (string, error) {
	if c.Bool("pod") {
		return describePodInstance(c, cl, id, task)
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
			ext, err := cl.ExternalVolumes(c.Context, id)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("task %s of app %s on %s (agent %s, %s, volumes %s)",
				t.ID, id, t.Host, t.SlaveID, state, taskVolumes(t.LocalVolumes, ext)), nil
		}
	}
	return "", fmt.Errorf("app %s has no task %s: %w", id, task, marathon.ErrNotFound)
}

func describePodInstance(c *cli.Context, cl *marathon.Client, id, instance string) (string, error) {
	st, err := cl.PodStatus(c.Context, id)
	if err != nil {
		return "", err
	}
	for _, in := range st.Instances {
		if in.ID == instance {
			return fmt.Sprintf("instance %s of pod %s on %s (agent %s, status %s, volumes %s)",
				in.ID, id, in.AgentHostname, in.AgentID, in.Status, volumeIDs(in.LocalVolumes)), nil
		}
	}
	return "", fmt.Errorf("pod %s has no instance %s: %w", id, instance, marathon.ErrNotFound)
}
