package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
)

// The buffers a live connection reads and writes through for its whole life.
// net/http hands a hijacked connection its own 4 KiB reader and 4 KiB writer,
// which the WebSocket library keeps: 8 KiB that an idle connection holds
// without using. The live protocol needs far less: the browser sends only
// control frames and the read limit is 1 KiB, and a message larger than the
// writer's buffer goes through it to the connection in one write, as it
// does through a 4 KiB buffer.
const (
	liveReadBuffer  = 512
	liveWriteBuffer = 1 << 10
)

// smallBuffers is the ResponseWriter the live endpoint hands to
// websocket.Accept: its Hijack takes the connection from net/http and
// returns it with a reader and a writer of the sizes above, leaving
// net/http's to the garbage collector.
type smallBuffers struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker. net/http flushes the handshake's response
// before it lets the connection go, so its writer holds nothing; its reader
// may hold bytes the browser sent after the handshake, which move to the
// new reader's buffer before it is returned.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if n := brw.Writer.Buffered(); n > 0 {
		conn.Close()
		return nil, nil, fmt.Errorf("web: live: %d bytes of the response not flushed before the hijack", n)
	}
	ahead, _ := brw.Reader.Peek(brw.Reader.Buffered())
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(ahead)), conn), max(liveReadBuffer, len(ahead)))
	if len(ahead) > 0 {
		// One read from the bytes.Reader fills the buffer with all of
		// them; the connection is not read.
		if _, err := r.Peek(len(ahead)); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("web: live: moving %d bytes read ahead: %w", len(ahead), err)
		}
	}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, liveWriteBuffer)), nil
}
