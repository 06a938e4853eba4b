package supervise

import "testing"

func TestZZLeak(t *testing.T) { go func() { select {} }() }
