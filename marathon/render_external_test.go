package marathon

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var externalFeatures = Options{Rules: RulesHead, Features: []string{featureExternalVolumes}}

func externalSpec(edit func(*Spec)) Spec {
	s := Spec{ID: "/db/orders", Engine: "mysql", ZK: "zk1:2181", Image: "mysql:8.0", MySQLHostPath: true,
		Volume: VolumeSpec{Type: volumeExternal, Name: "orders-mysql", Size: 51200, Options: map[string]string{"volumetype": "gp3"}},
		Fence:  &FenceSpec{Options: []string{"region=us-east-1", "secret_key=env:AWS_SECRET"}, Timeout: "2m"}}
	if edit != nil {
		edit(&s)
	}
	return s
}

// TestRenderExternal renders external-volume apps and checks what keeps
// the database safe: Marathon's rules for DVDI volumes hold, one instance,
// upgrade 0/0, the volume as asked, and zkfence guarding the mount with
// the fence agent.
func TestRenderExternal(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spec  Spec
		cpath string
		ext   ExternalVolumeInfo
	}{
		{"mysql image on the Mesos containerizer at /var/lib/mysql", externalSpec(nil), "/var/lib/mysql",
			ExternalVolumeInfo{Name: Str("orders-mysql"), Provider: Str("dvdi"), Size: Int64(50),
				Options: map[string]string{"dvdi/driver": "rexray", "dvdi/volumetype": "gp3", "dvdi/newfstype": "ext4"}}},
		{"postgres on the agent, default size, xfs", externalSpec(func(s *Spec) {
			s.Engine, s.Image, s.MySQLHostPath, s.Fstype = "postgres", "", false, "xfs"
			s.Volume = VolumeSpec{Type: volumeExternal, Name: "orders-pg"}
		}), "pgdata", ExternalVolumeInfo{Name: Str("orders-pg"), Provider: Str("dvdi"),
			Options: map[string]string{"dvdi/driver": "rexray", "dvdi/newfstype": "xfs"}}},
		{"docker containerizer: driver only", externalSpec(func(s *Spec) {
			s.Containerizer = "DOCKER"
			s.Volume = VolumeSpec{Type: volumeExternal, Name: "orders-mysql"}
		}), "/var/lib/mysql", ExternalVolumeInfo{Name: Str("orders-mysql"), Provider: Str("dvdi"),
			Options: map[string]string{"dvdi/driver": "rexray"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(KindApp, out, externalFeatures); err != nil {
				t.Fatalf("not valid with external_volumes: %v\n%s", err, out)
			}
			var verr *ValidationError
			if err := Validate(KindApp, out, Options{Rules: RulesHead}); !errors.As(err, &verr) ||
				!verr.Has("", "Feature external_volumes is not enabled") {
				t.Fatalf("without the feature Marathon refuses it; Validate says %v", err)
			}
			var a App
			if err := json.Unmarshal(out, &a); err != nil {
				t.Fatal(err)
			}
			if *a.Instances != 1 || *a.UpgradeStrategy.MinimumHealthCapacity != 0 || *a.UpgradeStrategy.MaximumOverCapacity != 0 {
				t.Errorf("instances %d, upgrade %+v", *a.Instances, a.UpgradeStrategy)
			}
			if u := a.UnreachableStrategy; u.Disabled || deref(u.InactiveAfterSeconds) != 300 || deref(u.ExpungeAfterSeconds) != 600 {
				t.Errorf("unreachableStrategy %+v, want 300/600", u)
			}
			vols := a.Container.Volumes
			if len(vols) != 1 || deref(vols[0].ContainerPath) != tt.cpath || vols[0].Mode != "RW" || vols[0].External == nil {
				t.Fatalf("volumes %+v", vols)
			}
			got := *vols[0].External
			got.raw = nil
			if !reflect.DeepEqual(got, tt.ext) {
				t.Errorf("external %+v, want %+v", got, tt.ext)
			}
			s, eng, _ := tt.spec.withDefaults()
			checkFencedCommand(t, s, eng, *a.Cmd)
		})
	}
}

// checkFencedCommand runs the rendered command with stand-ins for curl
// (EC2's metadata service) and zkfence, and compares zkfence's arguments
// with what the spec asks for.
func checkFencedCommand(t *testing.T, s Spec, eng engine, cmd string) {
	t.Helper()
	got, err := runRendered(t, cmd, "i-0123456789abcdef0")
	if err != nil {
		t.Fatalf("%v\n%s", err, cmd)
	}
	mount, _ := s.dataPaths(eng)
	mount = strings.Replace(mount, "$MESOS_SANDBOX", "/sandbox", 1)
	want := []string{"run", "--zk", s.ZK, "--lock", s.Lock, "--mount", mount, "--fstype", s.Fstype,
		"--data-dir", mount + "/data", "--engine", s.Engine, "--http", "0.0.0.0:31005", "--user", s.User,
		"--stop-signal", s.StopSignal, "--stop-grace", s.StopGrace, "--fence-agent", "fence_aws"}
	for _, o := range s.Fence.Options {
		want = append(want, "--fence-option", o)
	}
	want = append(want, "--fence-id", "i-0123456789abcdef0", "--fence-timeout", s.Fence.Timeout, "--fence-required", "--")
	want = append(want, strings.Fields(eng.command(mount+"/data"))...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zkfence got\n%q\nwant\n%q", got, want)
	}
}

// runRendered runs cmd as Mesos would (sh -c) with a fake zkfence that
// prints its arguments and a fake curl that answers the metadata service
// with instanceID ("" = the service cannot be reached).
func runRendered(t *testing.T, cmd, instanceID string) ([]string, error) {
	t.Helper()
	dir := t.TempDir()
	scripts := map[string]string{
		"zkfence": "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n",
		"curl": "#!/bin/sh\ncase \"$*\" in\n*api/token*) echo tok ;;\n*instance-id*) [ -n \"$ID\" ] || exit 7; " +
			"case \"$*\" in *'X-aws-ec2-metadata-token: tok'*) printf '%s' \"$ID\" ;; *) exit 22 ;; esac ;;\nesac\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "MESOS_SANDBOX=/sandbox", "PORT0=31005", "ID=" + instanceID}
	out, err := c.Output()
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), err
}

// TestRenderedFenceIDFailsClosed: without an instance id from EC2's
// metadata service the task exits 78 before zkfence runs, rather than
// record an id that would make the next holder fence the wrong node.
func TestRenderedFenceIDFailsClosed(t *testing.T) {
	out, err := Render(externalSpec(nil))
	if err != nil {
		t.Fatal(err)
	}
	var a App
	json.Unmarshal(out, &a)
	got, err := runRendered(t, *a.Cmd, "")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 78 || strings.Join(got, "") != "" {
		t.Fatalf("want exit 78 and zkfence not run, got %v, %q", err, got)
	}
}

func TestRenderFenceOnLocalVolume(t *testing.T) {
	s := Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk:2181", Volume: VolumeSpec{Size: 100},
		Fence: &FenceSpec{Agent: "fence_virsh", ID: "node-1", Options: []string{"ip=10.0.0.1", "password=@/etc/zkfence/virsh-pw"},
			Required: new(bool)}}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	var a App
	json.Unmarshal(out, &a)
	want := "--stop-grace 1s --fence-agent fence_virsh --fence-option ip=10.0.0.1 --fence-option password=@/etc/zkfence/virsh-pw " +
		"--fence-id node-1 -- postgres"
	if !strings.Contains(*a.Cmd, want) || strings.HasPrefix(*a.Cmd, "ZKFENCE_FENCE_ID") {
		t.Fatalf("cmd %s\nwant %s", *a.Cmd, want)
	}
}

// TestRenderFencePeers: the service's fence ids go to zkfence run as one
// --fence-peers list.
func TestRenderFencePeers(t *testing.T) {
	s := Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk:2181", Volume: VolumeSpec{Size: 100},
		Fence: &FenceSpec{Agent: "fence_virsh", ID: "node-1", Peers: []string{"node-1", "node-2", "db 3"}, Required: new(bool)}}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	var a App
	json.Unmarshal(out, &a)
	if want := "--fence-id node-1 --fence-peers 'node-1,node-2,db 3' -- postgres"; !strings.Contains(*a.Cmd, want) {
		t.Fatalf("cmd %s\nwant %s", *a.Cmd, want)
	}
	s.Fence.Peers = nil
	out, _ = Render(s)
	if strings.Contains(string(out), "--fence-peers") {
		t.Fatal("--fence-peers rendered without peers")
	}
}

// TestRenderClaimVolume: the first deployment claims the new volume.
func TestRenderClaimVolume(t *testing.T) {
	out, err := Render(externalSpec(func(s *Spec) { s.ClaimVolume = true }))
	if err != nil {
		t.Fatal(err)
	}
	var a App
	json.Unmarshal(out, &a)
	if !strings.Contains(*a.Cmd, "--fstype ext4 --claim-volume --data-dir") {
		t.Fatalf("cmd %s", *a.Cmd)
	}
	out, _ = Render(externalSpec(nil))
	if strings.Contains(string(out), "--claim-volume") {
		t.Fatal("--claim-volume rendered without being asked for")
	}
}

func TestRenderExternalRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"no name", func(s *Spec) { s.Volume.Name = "" }, "needs a name"},
		{"pod", func(s *Spec) { s.Kind = "pod"; s.MySQLHostPath = false }, "Marathon pods have none"},
		{"maxSize", func(s *Spec) { s.Volume.MaxSize = 10 }, "for local volumes"},
		{"path regex", func(s *Spec) { s.Volume.PathRegex = "/mnt" }, "for local volumes"},
		{"docker with size", func(s *Spec) { s.Containerizer = "DOCKER"; s.Volume.Options = nil }, "no size"},
		{"docker with options", func(s *Spec) { s.Containerizer = "DOCKER"; s.Volume.Size = 0 }, "no size and no driver options"},
		{"credential in clear", func(s *Spec) { s.Fence.Options = []string{"secret_key=AKIAxyz"} }, "never in the app definition"},
		{"fence option shape", func(s *Spec) { s.Fence.Options = []string{"region"} }, "NAME=VALUE"},
		{"fence timeout", func(s *Spec) { s.Fence.Timeout = "1h" }, "1s to 10m"},
		{"fence options without agent", func(s *Spec) { s.Fence.Agent = "none" }, "need a fence agent"},
		{"fence peers without agent", func(s *Spec) { s.Fence = &FenceSpec{Agent: "none", Peers: []string{"n1"}} }, "need a fence agent"},
		{"empty fence peer", func(s *Spec) { s.Fence.Peers = []string{"n1", ""} }, "want 1 to 255 bytes"},
		{"fence peer with a comma", func(s *Spec) { s.Fence.Peers = []string{"n1,n2"} }, "separates --fence-peers"},
		{"fence peer with a newline", func(s *Spec) { s.Fence.Peers = []string{"n1\naction=on"} }, "control character"},
		{"quoted fence peer", func(s *Spec) { s.Fence.Peers = []string{`"n1"`} }, "double quotes"},
		{"driver as an option", func(s *Spec) { s.Volume.Options["driver"] = "pxd" }, "not as an option"},
		{"bad rexray option", func(s *Spec) { s.Volume.Options["iops"] = "0" }, "positive integer"},
		{"driver on a local volume", func(s *Spec) { s.Volume.Type = "root"; s.Volume.Name = ""; s.Fence = nil }, "for an external volume"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := externalSpec(tt.edit)
			_, err := Render(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error about %q, got %v", tt.want, err)
			}
		})
	}
}

// TestRenderKeepsTheSpec: the defaults go into Render's copy, not into
// the caller's spec.
func TestRenderKeepsTheSpec(t *testing.T) {
	s := externalSpec(nil)
	opts := map[string]string{"volumetype": "gp3"}
	if _, err := Render(s); err != nil {
		t.Fatal(err)
	}
	if s.Fence.Agent != "" || !reflect.DeepEqual(s.Volume.Options, opts) {
		t.Fatalf("Render changed its argument: fence %+v, options %v", s.Fence, s.Volume.Options)
	}
}

// TestRenderExternalWithoutFencing: "none" is an explicit choice.
func TestRenderExternalWithoutFencing(t *testing.T) {
	out, err := Render(externalSpec(func(s *Spec) { s.Fence = &FenceSpec{Agent: "none"} }))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "--fence") || strings.Contains(string(out), "ZKFENCE_FENCE_ID") {
		t.Fatalf("fence flags rendered with agent none:\n%s", out)
	}
}

// TestExampleMySQLOnEBS: examples/marathon/mysql-ebs-app.json is what its
// spec renders, byte for byte, is valid for a Marathon with external
// volumes, and its command runs zkfence with the mount guard and fence_aws.
func TestExampleMySQLOnEBS(t *testing.T) {
	raw, err := os.ReadFile("../examples/marathon/specs/mysql-ebs-app.json")
	if err != nil {
		t.Fatal(err)
	}
	var s Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../examples/marathon/mysql-ebs-app.json")
	if err != nil || string(have) != string(out) {
		t.Fatalf("the example differs from what its spec renders (go test ./examples -run Rendered -update): %v", err)
	}
	if err := Validate(KindApp, have, Options{Rules: RulesHead, MesosRole: "marathon", Features: []string{featureExternalVolumes}}); err != nil {
		t.Fatal(err)
	}
	var a App
	json.Unmarshal(have, &a)
	if v := a.Container.Volumes[0]; v.External == nil || deref(v.External.Name) != "orders-mysql-ebs" || deref(v.External.Size) != 100 {
		t.Fatalf("volume %+v", v)
	}
	s, eng, _ := s.withDefaults()
	checkFencedCommand(t, s, eng, *a.Cmd)
}
