package fenceagent

import "errors"

// Why a fence action failed. Errors returned by this package wrap one or
// more of these; test with errors.Is.
var (
	// ErrInvalid: the configuration or the plug was refused before the agent
	// ran (a refused configuration, exit 78, at the command line).
	ErrInvalid = errors.New("invalid fence agent configuration")
	// ErrFenceFailed: the node may still be running. Every error of Off
	// wraps it, together with a more precise one when there is one.
	ErrFenceFailed = errors.New("fencing failed")
	// ErrNotConfirmed: the agent accepted action=off but never reported the
	// plug off (status exit 2) before the deadline.
	ErrNotConfirmed = errors.New("fence not confirmed off")
	// ErrTimeout: the agent was still running at the deadline and was killed.
	ErrTimeout = errors.New("fence agent timed out")
	// ErrAgentFailed: the agent could not run, or exited with a code that
	// means failure for the action asked.
	ErrAgentFailed = errors.New("fence agent failed")
	// ErrUnsupported: the agent's metadata lacks an action zkfence needs.
	ErrUnsupported = errors.New("fence agent lacks a needed action")
)
