package marathon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// fakeMarathon answers the parts of Marathon's /v2 API that the client
// uses, with the request and answer shapes of Marathon's documentation
// (docs/docs/rest-api, persistent-volumes.md) and RAML:
//
//	GET    /v2/info                                    {"marathon_config": {"mesos_role": ...}}
//	POST   /v2/apps                                    201 app + "deployments"; 409 if it exists
//	GET    /v2/apps/{id}                               {"app": ...}; 404 {"message": "App '/x' does not exist"}
//	PUT    /v2/apps/{id}[?force=true]                  200 {"deploymentId", "version"}; 409 while locked
//	GET    /v2/apps/{id}/tasks                         {"tasks": [...]}
//	DELETE /v2/apps/{id}/tasks/{task}?wipe=true        {"task": ...}
//	POST   /v2/pods, PUT|GET /v2/pods/{id}             pod; header Marathon-Deployment-Id
//	GET    /v2/pods/{id}::status                       {"id", "status", "instances": [...]}
//	DELETE /v2/pods/{id}::instances/{id}?wipe=true     the instance
//
// It requires "Authorization: token=<token>" when token is set, refuses a
// definition with negative cpus with Marathon's 422 body, and waits delay
// before answering (or until the client gives up).
type fakeMarathon struct {
	mu        sync.Mutex
	token     string
	delay     time.Duration
	mesosRole string
	features  []string // --enable_features, in /v2/info
	apps      map[string]json.RawMessage
	pods      map[string]json.RawMessage
	tasks     map[string][]Task
	instances map[string][]PodInstance
	locked    map[string]string // service id -> deployment holding it
	requests  []string          // "METHOD /path?query"
	deploys   int
}

func newFake() *fakeMarathon {
	return &fakeMarathon{mesosRole: "foo", apps: map[string]json.RawMessage{}, pods: map[string]json.RawMessage{},
		tasks: map[string][]Task{}, instances: map[string][]PodInstance{}, locked: map[string]string{}}
}

func (f *fakeMarathon) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeMarathon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	req := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		req += "?" + r.URL.RawQuery
	}
	f.requests = append(f.requests, req)
	if f.token != "" && r.Header.Get("Authorization") != "token="+f.token {
		reply(w, http.StatusUnauthorized, map[string]any{"message": "Not Authenticated!"})
		return
	}
	p := r.URL.Path
	switch {
	case p == "/v2/info" && r.Method == "GET":
		reply(w, 200, map[string]any{"name": "marathon", "version": "1.10.17",
			"marathon_config": map[string]any{"mesos_role": f.mesosRole, "features": f.features}})
	case strings.HasPrefix(p, "/v2/apps"):
		f.apps2(w, r, strings.TrimPrefix(p, "/v2/apps"))
	case strings.HasPrefix(p, "/v2/pods"):
		f.pods2(w, r, strings.TrimPrefix(p, "/v2/pods"))
	default:
		reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

func (f *fakeMarathon) apps2(w http.ResponseWriter, r *http.Request, rest string) {
	switch id, task, _ := strings.Cut(rest, "/tasks"); {
	case r.Method == "POST" && rest == "":
		f.create(w, r, f.apps, "app", func(id string, def json.RawMessage) any {
			var m map[string]any
			json.Unmarshal(def, &m)
			m["deployments"] = []any{map[string]any{"id": f.lastDeployment()}}
			m["version"] = "2024-05-01T10:00:00.000Z"
			return m
		})
	case r.Method == "GET" && task == "" && !strings.HasSuffix(rest, "/tasks"):
		if def, ok := f.apps[rest]; ok {
			reply(w, 200, map[string]any{"app": def})
		} else {
			notFound(w, "App", rest)
		}
	case r.Method == "PUT":
		f.put(w, r, f.apps, rest, func() any {
			return map[string]any{"deploymentId": f.lastDeployment(), "version": "2024-05-01T11:00:00.000Z"}
		})
	case r.Method == "GET":
		if _, ok := f.apps[id]; !ok {
			notFound(w, "App", id)
			return
		}
		reply(w, 200, map[string]any{"tasks": f.tasks[id]})
	case r.Method == "DELETE":
		f.killTask(w, r, id, strings.TrimPrefix(task, "/"))
	default:
		reply(w, http.StatusMethodNotAllowed, map[string]any{"message": "HTTP 405 Method Not Allowed"})
	}
}

func (f *fakeMarathon) pods2(w http.ResponseWriter, r *http.Request, rest string) {
	id, sub, _ := strings.Cut(rest, "::")
	switch {
	case r.Method == "POST" && rest == "":
		f.create(w, r, f.pods, "pod", func(id string, def json.RawMessage) any { return def })
	case r.Method == "GET" && sub == "" && f.pods[id] != nil:
		reply(w, 200, f.pods[id])
	case r.Method == "PUT" && sub == "":
		f.put(w, r, f.pods, id, func() any { return f.pods[id] })
	case r.Method == "GET" && sub == "status" && f.pods[id] != nil:
		reply(w, 200, map[string]any{"id": id, "status": "STABLE", "instances": f.instances[id]})
	case r.Method == "DELETE" && strings.HasPrefix(sub, "instances/") && f.pods[id] != nil:
		iid := strings.TrimPrefix(sub, "instances/")
		for i, in := range f.instances[id] {
			if in.ID == iid {
				f.instances[id] = append(f.instances[id][:i], f.instances[id][i+1:]...)
				reply(w, 200, in)
				return
			}
		}
		notFound(w, "Instance", iid)
	default:
		notFound(w, "Pod", id)
	}
}

// create stores a new app or pod: 201, or 409 if it exists, or 422.
func (f *fakeMarathon) create(w http.ResponseWriter, r *http.Request, store map[string]json.RawMessage, what string,
	answer func(string, json.RawMessage) any) {
	def, id, ok := readDefinition(w, r)
	if !ok {
		return
	}
	if _, exists := store[id]; exists {
		reply(w, http.StatusConflict, map[string]any{"message": fmt.Sprintf("An %s with id [%s] already exists.", what, id)})
		return
	}
	store[id] = def
	w.Header().Set(deploymentHeader, f.deployment())
	body := answer(id, def)
	reply(w, http.StatusCreated, body)
}

// put replaces (or creates) a definition: 409 while a deployment holds it,
// unless ?force=true.
func (f *fakeMarathon) put(w http.ResponseWriter, r *http.Request, store map[string]json.RawMessage, id string, answer func() any) {
	if dep, ok := f.locked[id]; ok && r.URL.Query().Get("force") != "true" {
		reply(w, http.StatusConflict, map[string]any{
			"message": fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. "+
				"View details at '/v2/deployments/%s'.", dep),
			"deployments": []any{map[string]any{"id": dep}}})
		return
	}
	def, _, ok := readDefinition(w, r)
	if !ok {
		return
	}
	status := http.StatusOK
	if _, exists := store[id]; !exists {
		status = http.StatusCreated
	}
	store[id] = def
	w.Header().Set(deploymentHeader, f.deployment())
	body := answer()
	reply(w, status, body)
}

func (f *fakeMarathon) killTask(w http.ResponseWriter, r *http.Request, appID, taskID string) {
	q := r.URL.Query()
	if q.Get("wipe") == "true" && q.Get("scale") == "true" {
		reply(w, http.StatusBadRequest, map[string]any{"message": "You cannot use scale and wipe at the same time."})
		return
	}
	for i, t := range f.tasks[appID] {
		if t.ID == taskID {
			f.tasks[appID] = append(f.tasks[appID][:i], f.tasks[appID][i+1:]...)
			reply(w, 200, map[string]any{"task": t})
			return
		}
	}
	notFound(w, "Task", taskID)
}

// readDefinition reads a posted definition; negative cpus get Marathon's 422.
func readDefinition(w http.ResponseWriter, r *http.Request) (json.RawMessage, string, bool) {
	var def json.RawMessage
	var head struct {
		ID   string  `json:"id"`
		CPUs float64 `json:"cpus"`
	}
	if json.NewDecoder(r.Body).Decode(&def) != nil || json.Unmarshal(def, &head) != nil {
		reply(w, http.StatusBadRequest, map[string]any{"message": "Invalid JSON"})
		return nil, "", false
	}
	if head.CPUs < 0 {
		reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Object is not valid",
			"details": []any{map[string]any{"path": "/cpus", "errors": []string{"got " + jdouble(head.CPUs) + ", expected 0.0 or more"}}}})
		return nil, "", false
	}
	return def, absolutePath(head.ID), true
}

func (f *fakeMarathon) deployment() string {
	f.deploys++
	return f.lastDeployment()
}

func (f *fakeMarathon) lastDeployment() string { return fmt.Sprintf("dep-%d", f.deploys) }

func notFound(w http.ResponseWriter, what, id string) {
	reply(w, http.StatusNotFound, map[string]any{"message": fmt.Sprintf("%s '%s' does not exist", what, id)})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
