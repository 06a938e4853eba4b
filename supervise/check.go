package supervise

// Check is the preflight of Start: it resolves spec exactly as Start does —
// the working directory, the user and group (LookupUser), Argv[0] in the
// PATH of Env or else the wrapper's (lookPath) — without starting anything,
// so that the run pipeline refuses a command that cannot run before it
// connects to ZooKeeper (I7). Its errors are Start's: they wrap ErrNotFound,
// ErrNotExecutable or ErrBadUser (see ExitCodeOf).
//
// What only the child's execve can tell is not checked: a script's missing
// interpreter, a binary for another architecture, a file whose execute bit
// is not the child's user's (lookPath accepts any execute bit). Start still
// reports those, with the same errors.
func Check(spec Spec) error {
	_, _, _, err := resolve(spec)
	return err
}
