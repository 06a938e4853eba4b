package marathon

import (
	"fmt"
	"strings"
)

// Health checks. zkfence's own health endpoint is checked over HTTP on a
// port of the task: for an app, portIndex 0 (the port zkfence gets as
// $PORT0); for a pod, a named endpoint.

// healthCheckRules: a check on a port names a port the app has (an index
// into container.portMappings, or else portDefinitions), or gives the port
// itself; an app has at most one Mesos (MESOS_*) check besides COMMAND ones.
func healthCheckRules(v *violations, a *App) {
	ports := len(a.PortDefinitions)
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		ports = len(a.Container.PortMappings)
	}
	mesos, commands := 0, 0
	for i, hc := range a.HealthChecks {
		proto := hc.Protocol
		if proto == "" {
			proto = "HTTP"
		}
		isCommand := hc.Command != nil || proto == "COMMAND"
		if !isCommand && !portIndexValid(hc, ports) {
			v.add(fmt.Sprintf("/healthChecks(%d)", i),
				"Health check port indices must address an element of the ports array or container port mappings.")
		}
		if hc.Command != nil {
			commands++
		}
		if isCommand || strings.HasPrefix(proto, "MESOS_") {
			mesos++
		}
	}
	if mesos-commands > 1 {
		v.add("/", "AppDefinition can contain at most one Mesos health check")
	}
}

func portIndexValid(hc HealthCheck, ports int) bool {
	if hc.PortIndex != nil {
		return *hc.PortIndex >= 0 && *hc.PortIndex < ports
	}
	return hc.Port != nil || ports == 1
}

// Defaults of a pod health check (RAML HealthCheck).
const (
	podCheckInterval = 60
	podCheckTimeout  = 20
)

// podHealthCheckRules: exactly one of http, tcp and exec; an http or tcp
// check names an endpoint of its container; the timeout is shorter than
// the interval.
func podHealthCheckRules(v *violations, hc *PodHealthCheck, endpoints []Endpoint, prefix string) {
	n := 0
	for _, set := range []bool{hc.HTTP != nil, hc.TCP != nil, hc.Exec != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.add(prefix, "Only one of http, tcp, or command may be specified")
	}
	for _, c := range []struct {
		name  string
		check *EndpointCheck
	}{{"/http", hc.HTTP}, {"/tcp", hc.TCP}} {
		if c.check != nil && !hasEndpoint(endpoints, c.check.Endpoint) {
			v.add(prefix+c.name+"/endpoint", "contained in the container endpoints")
		}
	}
	interval, timeout := podCheckInterval, podCheckTimeout
	if hc.IntervalSeconds != nil {
		interval = *hc.IntervalSeconds
	}
	if hc.TimeoutSeconds != nil {
		timeout = *hc.TimeoutSeconds
	}
	if timeout >= interval {
		v.addf(prefix+"/timeoutSeconds", "got %d, expected less than %d", timeout, interval)
	}
}

func hasEndpoint(endpoints []Endpoint, name string) bool {
	for _, e := range endpoints {
		if e.Name == name {
			return true
		}
	}
	return false
}
