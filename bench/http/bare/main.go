// Command bare is the reference: the seed's hello protocol on a plain net/http handler,
// with nothing between the socket and the reply. It is the ceiling a framework is measured against.
// It prints "listening on http://ADDR" once it listens (-addr with port 0 picks a free port).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address")
	flag.Parse()
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Type string `json:"type"`
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"type":"Error","msg":"bad json"}`))
			return
		}
		switch m.Type {
		case "Hello":
			w.Write([]byte(`{"type":"World"}`))
		case "hello":
			w.Write([]byte(`{"type":"world"}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"type":"Error","msg":"unknown type"}`))
		}
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", l.Addr())
	log.Fatal(http.Serve(l, nil))
}
