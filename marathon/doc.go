// Package marathon is zkfence's scheduler side: it writes, checks and
// deploys the Marathon apps and pods that run a fenced database on a local
// persistent volume (a dynamic reservation plus a persistent volume, pinned
// to the agent where it was created), and the apps that run one on an
// external volume (a DVDI volume such as EBS through REX-Ray, which
// follows the task from agent to agent, render_external.go).
//
// What it guarantees:
//
//   - Validate agrees with Marathon: for every case of the conformance
//     corpora (../shared/marathon-corpus and testdata/corpus-external, taken
//     from Marathon's own repository) it accepts what Marathon accepts and
//     refuses what Marathon refuses, with Marathon's message and path, in
//     Marathon's 422 shape.
//     It runs Marathon's stages in Marathon's order (JSON reads, deprecated
//     API, normalization, canonical API, state model and role enforcement),
//     each stopping at the first stage that fails, as Marathon does.
//   - Render only returns definitions that Validate accepts: an upgrade
//     never runs two instances; with a local volume unreachable instances
//     are never replaced and the role is never "*"; the task's command is
//     `zkfence run` with the database behind it (and the fence agent's
//     flags, when one is set) and a health check on zkfence's /healthz.
//   - Types read and write definitions without losing the members they do
//     not model, so a definition read from Marathon can be sent back.
//   - Client never sends a wipe together with a scale, bounds every request
//     with a timeout, never logs its token, sends it only to Marathon's
//     scheme, host and port, and redacts credentials from every message.
//
// Known differences from Marathon: regular expressions are compiled with Go's
// RE2, which lacks lookaround and backreferences; the cluster-wide rule on
// DVDI volume names and CSI's own rules are not checked
// (validate_external.go); and acceptedResourceRoles
// that are neither "*" nor the service's role are refused, as Marathon does
// with --deprecated_features=disable_sanitize_accepted_resource_roles
// (otherwise Marathon silently drops them).
//
// This package never imports the run pipeline or supervise: it only speaks
// JSON and HTTP.
package marathon
