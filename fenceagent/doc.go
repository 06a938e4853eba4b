// Package fenceagent runs a fence agent (STONITH) through ClusterLabs' stdin
// protocol, so that a new lock holder can make sure the previous one is off
// before it touches shared storage (DESIGN.md, I8).
//
// The protocol, as ClusterLabs' fence-agents read it (lib/fencing.py,
// _parse_input_stdin): the agent is run without arguments and reads
// `name=value` lines on its stdin until EOF: `action=off|on|status|monitor|
// metadata` and the target in `plug=` (its old name, `port=`, is accepted by
// the same agents; Agent.PlugParam chooses). Exit 0 is success; for
// action=status, exit 0 means on and exit 2 means off; anything else is a
// failure.
//
// Invariants:
//
//   - An agent never outlives the call that ran it: it runs in a process
//     group of its own and the whole group gets SIGKILL when the caller's
//     context ends or Agent.Timeout passes, whichever is first; the group is
//     killed again once its leader has exited, so a helper the agent left in
//     its group dies with it. (A helper that makes a session of its own, as
//     pexpect does for ssh, is out of reach of the group kill; it loses its
//     terminal when the agent dies.)
//   - Off returns nil only when the agent exited 0 for action=off AND then
//     reported the plug off (status exit 2). Anything else is an error
//     wrapping ErrFenceFailed, so a caller can never mistake a failure, a
//     timeout or an unsupported status for a confirmed fence.
//   - Option values never reach logs, errors or metrics: only option names
//     are logged, and the agent's own output is shown with every secret
//     value (from a file, the environment, or a secret-looking name)
//     replaced by "[redacted]".
//   - A plug or option value that would break the line protocol (a newline,
//     NUL, surrounding blanks or quotes the agent would strip) is refused
//     with ErrInvalid before anything runs: a fence id read from ZooKeeper
//     cannot smuggle an `action=` line into the agent's stdin.
package fenceagent
