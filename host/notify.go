package host

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// notifySocket is the sd_notify(3) socket a node gives one command service
// instance in NOTIFY_SOCKET: the child says READY=1 there once it serves, as
// it would to systemd, so a child in any language can use a library it
// already has.
type notifySocket struct {
	addr string
	conn *net.UnixConn
	path string // a file to remove, where abstract sockets do not exist
	done chan struct{}
	once sync.Once
}

// listenNotify opens a notify socket; ready is called for each READY=1.
func listenNotify(ready func()) (*notifySocket, error) {
	var b [9]byte
	_, _ = rand.Read(b[:])
	name := "troupe-notify-" + hex.EncodeToString(b[:])
	ns := &notifySocket{done: make(chan struct{})}
	if runtime.GOOS == "linux" {
		ns.addr = "@" + name // Linux's abstract namespace: no file to clean up
	} else {
		ns.path = filepath.Join(os.TempDir(), name+".sock")
		ns.addr = ns.path
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	ns.conn = conn
	go func() {
		defer close(ns.done)
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				if line == "READY=1" {
					ready()
				}
			}
		}
	}()
	return ns, nil
}

func (ns *notifySocket) close() {
	if ns == nil {
		return
	}
	ns.once.Do(func() {
		_ = ns.conn.Close()
		<-ns.done
		if ns.path != "" {
			_ = os.Remove(ns.path)
		}
	})
}
