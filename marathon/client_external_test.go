package marathon

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// TestExternalVolumesOfAnApp: the client reads an app's external volumes
// from its definition, as Marathon answers it (GET /v2/apps/{id}), and
// the task list of such an app has no local volumes (nothing detached).
func TestExternalVolumesOfAnApp(t *testing.T) {
	f := newFake()
	f.apps["/db/orders"] = func() []byte {
		out, err := Render(externalSpec(nil))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}()
	f.tasks["/db/orders"] = []Task{{ID: "db_orders.1", AppID: "/db/orders", Host: "10.0.0.7", SlaveID: "agent-S7",
		State: "TASK_RUNNING", StartedAt: "2024-05-01T10:00:05.000Z"}}
	c := serve(t, f, ClientConfig{})
	ctx := context.Background()
	vols, err := c.ExternalVolumes(ctx, "/db/orders")
	want := []ExternalVolume{{ContainerPath: "/var/lib/mysql", Name: "orders-mysql", Provider: "dvdi", Driver: "rexray", SizeGiB: 50}}
	if err != nil || !reflect.DeepEqual(vols, want) {
		t.Fatalf("external volumes %+v, %v; want %+v", vols, err, want)
	}
	if s := vols[0].String(); s != "dvdi/rexray:orders-mysql" {
		t.Errorf("String() = %q", s)
	}
	if d, err := c.DetachedVolumes(ctx, "/db/orders"); err != nil || len(d) != 0 {
		t.Fatalf("detached %+v, %v: an external volume is never a detached reservation", d, err)
	}
	// An app of local volumes has no external ones; a missing app is a 404.
	f.apps["/db/pg"] = renderTestApp(t, nil)
	if vols, err := c.ExternalVolumes(ctx, "/db/pg"); err != nil || len(vols) != 0 {
		t.Fatalf("local app: %+v, %v", vols, err)
	}
	if _, err := c.ExternalVolumes(ctx, "/db/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want 404, got %v", err)
	}
	wantLog(t, f, "GET /v2/apps/db/orders", "GET /v2/apps/db/orders/tasks", "GET /v2/apps/db/pg", "GET /v2/apps/db/none")
}

// TestDeployExternalAsksForFeatures: an app with an external volume is
// validated against the features Marathon runs with (GET /v2/info), so it
// is sent when Marathon has external_volumes and refused before sending
// when it has not.
func TestDeployExternalAsksForFeatures(t *testing.T) {
	def, err := Render(externalSpec(nil))
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	c := serve(t, f, ClientConfig{})
	_, err = c.Deploy(context.Background(), KindApp, def, DeployOptions{MesosRole: "foo"})
	var ve *ValidationError
	if !errors.As(err, &ve) || !ve.Has("/container/volumes(0)", "Feature external_volumes is not enabled") {
		t.Fatalf("want the feature refusal, got %v", err)
	}
	f.features = []string{"external_volumes"}
	if r, err := c.Deploy(context.Background(), KindApp, def, DeployOptions{MesosRole: "foo"}); err != nil || !r.Created {
		t.Fatalf("with the feature: %+v, %v", r, err)
	}
	wantLog(t, f, "GET /v2/apps/db/orders", "GET /v2/info", "GET /v2/apps/db/orders", "GET /v2/info", "POST /v2/apps")
}
