// Package marathon is zkfence's scheduler side: it writes, checks and
// deploys the Marathon apps and pods that run a fenced database on a local
// persistent volume (a dynamic reservation plus a persistent volume, pinned
// to the agent where it was created).
//
// What it guarantees:
//
//   - Validate agrees with Marathon: for every case of the conformance
//     corpus (../shared/marathon-corpus, taken from Marathon's own
//     repository) it accepts what Marathon accepts and refuses what Marathon
//     refuses, with Marathon's message and path, in Marathon's 422 shape.
//     It runs Marathon's stages in Marathon's order (JSON reads, deprecated
//     API, normalization, canonical API, state model and role enforcement),
//     each stopping at the first stage that fails, as Marathon does.
//   - Render only returns definitions that Validate accepts: unreachable
//     instances are never replaced, an upgrade never runs two instances, the
//     role is never "*", and the task's command is `zkfence run` with the
//     database behind it and a health check on zkfence's /healthz.
//   - Types read and write definitions without losing the members they do
//     not model, so a definition read from Marathon can be sent back.
//   - Client never sends a wipe together with a scale, never logs its token,
//     and bounds every request with a timeout.
//
// Known differences from Marathon: regular expressions are compiled with Go's
// RE2, which lacks lookaround and backreferences; and acceptedResourceRoles
// that are neither "*" nor the service's role are refused, as Marathon does
// with --deprecated_features=disable_sanitize_accepted_resource_roles
// (otherwise Marathon silently drops them).
//
// This package never imports the run pipeline or supervise: it only speaks
// JSON and HTTP.
package marathon
