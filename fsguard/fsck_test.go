package fsguard

import (
	"strings"
	"testing"
)

func TestJudgeFsck(t *testing.T) {
	for code, want := range map[int]verdict{
		0: verdictOK, 1: verdictOK, 2: verdictWarn, 3: verdictWarn, 4: verdictRefuse, 5: verdictRefuse,
		8: verdictRefuse, 12: verdictRefuse, 16: verdictRefuse, 32: verdictRefuse, 128: verdictRefuse, -1: verdictRefuse,
	} {
		if got, _ := judgeFsck(code, ""); got != want {
			t.Errorf("e2fsck exit %d: verdict %d, want %d", code, got, want)
		}
	}
}

func TestJudgeXFSRepair(t *testing.T) {
	dirty := "ALERT: The filesystem has valuable metadata changes in a log which is being\nignored because the -n option was used."
	cases := []struct {
		code int
		out  string
		want verdict
	}{
		{0, "", verdictOK}, {1, dirty, verdictReplay}, {1, "bad magic number", verdictRefuse}, {2, dirty, verdictRefuse},
	}
	for _, c := range cases {
		if got, _ := judgeXFSRepair(c.code, c.out); got != c.want {
			t.Errorf("xfs_repair exit %d %q: verdict %d, want %d", c.code, c.out, got, c.want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 10}
	b.Write([]byte("0123456789"))
	if b.String() != "0123456789" {
		t.Errorf("got %q", b.String())
	}
	b.Write([]byte("abc"))
	if got := b.String(); !strings.HasSuffix(got, "3456789abc") || !strings.HasPrefix(got, "[...]") {
		t.Errorf("got %q", got)
	}
}

func TestCheckers(t *testing.T) {
	if got := strings.Join(Checkers(), ","); got != "ext2,ext3,ext4,xfs" {
		t.Errorf("Checkers() = %s", got)
	}
}
