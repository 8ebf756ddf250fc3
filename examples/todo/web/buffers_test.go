package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSmallBuffersKeepWhatWasReadAhead: the connection smallBuffers hands
// over reads and writes through buffers of the live sizes, and loses none
// of the bytes the client sent with its request, which net/http had read
// ahead into its own buffer, nor any it sends later; a write larger than the
// buffer arrives whole.
func TestSmallBuffersKeepWhatWasReadAhead(t *testing.T) {
	big := strings.Repeat("x", 5*liveWriteBuffer) + "\n"
	failed := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := smallBuffers{w}.Hijack()
		if err != nil {
			failed <- "hijack: " + err.Error()
			return
		}
		defer conn.Close()
		if brw.Reader.Size() != max(liveReadBuffer, brw.Reader.Buffered()) || brw.Writer.Size() != liveWriteBuffer {
			failed <- "buffer sizes"
		}
		if n := brw.Reader.Buffered(); n != len("ahead\n") {
			failed <- fmt.Sprintf("%d bytes read ahead, want %d", n, len("ahead\n"))
		}
		for _, answer := range []string{"ready\n", big} {
			line, err := brw.Reader.ReadString('\n')
			if err != nil {
				failed <- "read: " + err.Error()
				return
			}
			brw.Writer.WriteString(strings.ToUpper(line[:1]) + line[1:])
			brw.Writer.WriteString(answer)
			if err := brw.Writer.Flush(); err != nil {
				failed <- "flush: " + err.Error()
				return
			}
		}
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// One write: the request and a line after it, which the server reads
	// with the request.
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: test\r\n\r\nahead\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	expect := func(want string) {
		t.Helper()
		got, err := br.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("read %.40q (%v), want %.40q", got, err, want)
		}
	}
	expect("Ahead\n")
	expect("ready\n")
	if _, err := io.WriteString(c, "later\n"); err != nil {
		t.Fatal(err)
	}
	expect("Later\n")
	expect(big)
	close(failed)
	for f := range failed {
		t.Error(f)
	}
}
