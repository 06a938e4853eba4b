package restore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// maxLine caps one logged line of a script's output.
const maxLine = 4096

// tailLines are kept for an error message when a tool fails.
const tailLines = 15

// lineLogger logs what a script writes, one log record per line.
type lineLogger struct {
	mu    sync.Mutex
	log   *slog.Logger
	level slog.Level
	what  string
	buf   []byte
	tail  []string
}

func newLineLogger(log *slog.Logger, level slog.Level, what string) *lineLogger {
	return &lineLogger{log: log, level: level, what: what}
}

// Tail returns the last lines written, for an error message.
func (l *lineLogger) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > maxLine {
		l.emit(l.buf)
		l.buf = nil
	}
	return len(p), nil
}

// Flush logs a last line without a newline.
func (l *lineLogger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineLogger) emit(line []byte) {
	s := string(bytes.TrimRight(line, "\r"))
	l.log.Log(context.Background(), l.level, l.what, "line", s)
	if l.tail = append(l.tail, s); len(l.tail) > tailLines {
		l.tail = l.tail[1:]
	}
}
