package marathon

import (
	"fmt"
	"strings"
)

// Role enforcement, Marathon 1.9 and later (AppDefinition.validWithRoleEnforcement,
// PodsValidation.validPodDefinitionWithRoleEnforcement, util/RoleSettings):
//
//   - a service in the root group may use --mesos_role only; a service
//     below a top-level group may use --mesos_role, the group's name, or the
//     role it already has; with the group's enforceRole, only the group's name
//     (or the role it already has);
//   - a resident service may not use role "*": its reservations would be
//     unreserved resources;
//   - a resident service below a top-level group may change its role only
//     with ?force=true: existing instances keep the old role's reservations;
//   - acceptedResourceRoles may only hold "*" and the service's role.

// roleSettings are the roles a service may use (RoleSettings.forService).
type roleSettings struct {
	valid    map[string]bool
	def      string
	previous string // "" when Marathon does not look at a previous role
}

func roleSettingsFor(id string, opts Options) roleSettings {
	mesos := opts.mesosRole()
	top, nested := topLevelGroup(id)
	if !nested {
		return roleSettings{valid: map[string]bool{mesos: true}, def: mesos}
	}
	s := roleSettings{valid: map[string]bool{top: true}, def: top, previous: opts.PreviousRole}
	if !opts.EnforceGroupRole {
		s.valid[mesos] = true
		s.def = mesos
	}
	if opts.PreviousRole != "" {
		s.valid[opts.PreviousRole] = true
	}
	return s
}

// defaultRole is the role Marathon gives a service that names none. Before
// 1.9 there were no service roles: every service ran as "*".
func defaultRole(id string, opts Options) string {
	if opts.rules() != RulesHead {
		return "*"
	}
	return roleSettingsFor(id, opts).def
}

// topLevelGroup is the first path element of a service below a group.
func topLevelGroup(id string) (string, bool) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) < 2 {
		return "", false
	}
	return parts[0], true
}

// service is what role enforcement needs to know of an app or a pod.
type service struct {
	noun          string // "apps" or "pods"
	id, role      string
	resident      bool
	acceptedRoles []string
}

// enforceRoles adds the role violations of s under opts.
func enforceRoles(v *violations, s service, opts Options) {
	rs := roleSettingsFor(s.id, opts)
	if !rs.valid[s.role] {
		v.addf("/role", "got %s, expected one of: [%s]", s.role, strings.Join(sortedKeys(rs.valid), ", "))
	}
	if s.resident && s.role == "*" {
		v.addf("/role", "Resident %s cannot have the role *", s.noun)
	}
	if s.resident && rs.previous != "" && rs.previous != s.role && !opts.Force {
		v.add("/role", residentRoleChangeMessage(rs.previous, s.role))
	}
	for _, r := range s.acceptedRoles {
		if r != "*" && r != s.role {
			v.add("/acceptedResourceRoles", "acceptedResourceRoles can only contain * and "+s.role)
			break
		}
	}
}

// residentRoleChangeMessage is RoleSettings.residentRoleChangeWarningMessage.
func residentRoleChangeMessage(previous, role string) string {
	return "It is not possible to change the role for existing reservations. If you proceed with this change, all existing " +
		"instances will continue to run under the previous role, " + previous + ". Only new instances will be " +
		"allocated with the new role, " + role + ". In order to continue, retry your request with ?force=true"
}

// acceptedRolesRules is ResourceRole.validAcceptedResourceRoles: at least one
// role, every one a valid role name, and only "*" for a resident service
// (its reservations are made for the service's role from unreserved
// resources). kind is "app" or "pod".
func acceptedRolesRules(v *violations, roles []string, kind string, resident bool) {
	const path = "/acceptedResourceRoles"
	if len(roles) == 0 {
		v.add(path, "must not be empty")
		return
	}
	for i, r := range roles {
		if msg := roleNameProblem(r); msg != "" {
			v.add(fmt.Sprintf("%s(%d)", path, i), msg)
		}
	}
	if resident && !(len(dedupe(roles)) == 1 && roles[0] == "*") {
		v.addf(path, "A resident %s must have `acceptedResourceRoles = [\"*\"]`.", kind)
	}
}

// roleNameProblem is ResourceRole.validResourceRole: Mesos' rules for role names.
func roleNameProblem(r string) string {
	switch {
	case r == "":
		return `A role name must not be "".`
	case r == ".":
		return `A role name must not be ".".`
	case r == "..":
		return `A role name must not be "..".`
	case strings.HasPrefix(r, "-"):
		return "A role name must not start with a '-'."
	}
	bad := map[rune]string{'\t': "a tab (\\x09)", '\n': "a line feed (\\x0a)", '\v': "a vertical tab (\\x0b)",
		'\f': "a form feed (\\x0c)", '\r': "a carriage return (\\x0d)", ' ': "a space (\\x20)",
		'/': "a slash (\\x2f)", '\\': "a backslash (\\x5c)"}
	for _, c := range r {
		if name, ok := bad[c]; ok {
			return "A role name must not include " + name + " character."
		}
	}
	return ""
}

// dedupe is xs without its repeats, in order: callers compare lengths to
// find duplicate names, ports or roles.
func dedupe[T comparable](xs []T) []T {
	seen := map[T]bool{}
	var out []T
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
