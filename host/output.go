package host

import (
	"bytes"
	"io"
	"sync"
)

// lineWriter prefixes each complete line written to it (a command service's
// output, with its instance id); a partial line waits for its end or flush.
// Lines longer than maxLine are cut.
type lineWriter struct {
	prefix string
	w      io.Writer

	mu  sync.Mutex
	buf []byte
}

const maxLine = 64 << 10

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if room := maxLine - len(l.buf); len(chunk) > room {
			l.buf = append(l.buf, chunk[:room]...)
			l.emit()
			b = b[room:]
			continue
		}
		l.buf = append(l.buf, chunk...)
		if i < 0 {
			break
		}
		l.emit()
		b = b[i+1:]
	}
	return n, nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit()
	}
}

// emit writes the buffered line; l.mu is held.
func (l *lineWriter) emit() {
	if l.w != nil {
		line := make([]byte, 0, len(l.prefix)+len(l.buf)+1)
		line = append(append(append(line, l.prefix...), l.buf...), '\n')
		_, _ = l.w.Write(line)
	}
	l.buf = l.buf[:0]
}
