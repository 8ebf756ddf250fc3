// Command bare is the reference: the seed's hello protocol on a plain net/http handler,
// with nothing between the socket and the reply. It is the ceiling a framework is measured against.
package main

import (
	"encoding/json"
	"flag"
	"log"
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
	log.Fatal(http.ListenAndServe(*addr, nil))
}
