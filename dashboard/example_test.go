package dashboard_test

import (
	"log"
	"net/http"

	"github.com/troupe-go/troupe/dashboard"
	"github.com/troupe-go/troupe/observe"
)

// The dashboard of the agents of this process, under /observe/ of a
// listener of one's own (a node serves it on its admin listener itself).
func ExampleNew() {
	var agent *observe.Agent // observe.New(...)
	d, err := dashboard.New(dashboard.Config{Client: observe.Local(agent), App: "shop"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	mux := http.NewServeMux()
	mux.Handle("/observe/", http.StripPrefix("/observe", d))
	log.Fatal(http.ListenAndServe("127.0.0.1:8081", mux))
}
