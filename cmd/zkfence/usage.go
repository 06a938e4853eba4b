package main

import "strings"

// isUsageError recognises urfave/cli's own errors for bad flags, which carry
// no type of their own.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"flag provided but not defined", "Required flag", "invalid value", "flag needs an argument"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
