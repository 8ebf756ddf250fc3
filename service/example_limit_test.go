package service_test

import (
	"context"
	"fmt"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/service"
)

// A slow message cannot take the whole service: report is handled one at a
// time with no queue, so a second report while one is in progress is shed
// at once with an unavailable error (the gateway would answer 503 with
// Retry-After), while ping, under the defaults, is answered meanwhile.
func ExampleConfig_limits() {
	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "store", Receives: []string{"report", "ping"}},
			{Name: "web", Sends: []string{"report", "ping"}},
		},
	}
	ctx := context.Background()
	b, sys := startExample(app)
	defer stopExample(b, sys)

	type Empty struct{}
	release := make(chan struct{})
	store := service.New(service.Config{
		Name:   "store",
		Limits: []troupe.LimitPolicy{{Name: "report", Concurrency: 1, Queue: -1}},
	})
	_ = service.Handle(store, "report", "report", func(ctx context.Context, _ Empty) (Empty, error) {
		<-release
		return Empty{}, nil
	})
	_ = service.Handle(store, "ping", "pong", func(ctx context.Context, _ Empty) (Empty, error) {
		return Empty{}, nil
	})
	_ = store.Start(ctx, b, sys)
	defer store.Stop(ctx)
	web := service.New(service.Config{Name: "web"})
	_ = web.Start(ctx, b, sys)
	defer web.Stop(ctx)

	first := make(chan error, 1)
	go func() {
		_, err := service.Request[Empty](ctx, web, "report", Empty{})
		first <- err
	}()
	for store.Limits()[0].InFlight == 0 { // the first report is in progress
		time.Sleep(time.Millisecond)
	}

	_, err := service.Request[Empty](ctx, web, "report", Empty{})
	fmt.Println("second report:", troupe.CodeOf(err))
	_, err = service.Request[Empty](ctx, web, "ping", Empty{})
	fmt.Println("ping:", err)

	close(release)
	fmt.Println("first report:", <-first)
	st := store.Limits()[0]
	fmt.Printf("%s: arrived %d, shed %d\n", st.Name, st.Arrived, st.Shed)
	// Output:
	// second report: unavailable
	// ping: <nil>
	// first report: <nil>
	// report: arrived 2, shed 1
}
