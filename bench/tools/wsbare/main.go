// Command wsbare is the baseline of the idle-WebSocket memory benchmark: a
// bare net/http server whose /live endpoint accepts a coder/websocket
// connection (the library the todo web service uses, with its defaults),
// sends one short text message, and then only waits for the client to go,
// as coder/websocket's CloseRead does. Whatever the web service spends per
// idle client beyond this is its own.
//
//	wsbare -addr 127.0.0.1:18085
//
// /metrics answers go_goroutines and go_memstats_heap_inuse_bytes in the
// Prometheus text format (the two series bench/run.sh reads from the demo's
// /metrics too).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"

	"github.com/coder/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18085", "listen address")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /live", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if err := c.Write(r.Context(), websocket.MessageText, []byte(`{"kind":"state"}`)); err != nil {
			return
		}
		<-c.CloseRead(r.Context()).Done()
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "go_goroutines %d\ngo_memstats_heap_inuse_bytes %d\n", runtime.NumGoroutine(), ms.HeapInuse)
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", l.Addr())
	log.Fatal(http.Serve(l, mux))
}
