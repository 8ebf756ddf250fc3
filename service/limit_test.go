package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/service"
)

// TestLimitShedsASaturatedHandlerAndServesTheOthers: stock.list is slow and
// limited to one at a time with one waiting; on both transports, a third
// request is shed at once with an unavailable Error (not left to time out),
// while stock.get, another handler of the same instance, keeps answering;
// once stock.list is released, the waiting request is served.
func TestLimitShedsASaturatedHandlerAndServesTheOthers(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newRig(t, tr, shopApp())
			release := make(chan struct{})
			var entered sync.WaitGroup
			entered.Add(1)
			var once sync.Once
			st := r.start(service.Config{
				Name:   "stock",
				Limits: []troupe.LimitPolicy{{Name: "stock.list", Concurrency: 1, Queue: 1, MaxWait: time.Hour}},
			}, func(s *service.Service) {
				if err := service.Handle(s, "stock.list", "stock.list", func(ctx context.Context, _ struct{}) (struct{}, error) {
					once.Do(entered.Done)
					select {
					case <-release:
					case <-ctx.Done():
					}
					return struct{}{}, nil
				}); err != nil {
					t.Fatal(err)
				}
				if err := service.Handle(s, "stock.get", "stock.get", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil }); err != nil {
					t.Fatal(err)
				}
			})
			web, err := r.bus.Join(t.Context(), "web", "web-1")
			if err != nil {
				t.Fatal(err)
			}
			defer web.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			results := make(chan error, 2)
			go func() { _, err := web.Request(ctx, "stock.list", struct{}{}); results <- err }()
			entered.Wait()
			go func() { _, err := web.Request(ctx, "stock.list", struct{}{}); results <- err }()
			waitFor(t, "the second stock.list queued", func() bool { return limitOf(st, "stock.list").Queued == 1 })

			_, err = web.Request(ctx, "stock.list", struct{}{})
			if !errors.Is(err, troupe.ErrUnavailable) || !strings.Contains(err.Error(), "stock.list at service stock: overloaded, shed") {
				t.Fatalf("third stock.list: %v, want it shed at once as unavailable", err)
			}
			for range 20 {
				if _, err := web.Request(ctx, "stock.get", struct{}{}); err != nil {
					t.Fatalf("stock.get while stock.list is saturated: %v", err)
				}
			}
			close(release)
			for range 2 {
				if err := <-results; err != nil {
					t.Errorf("a stock.list that was admitted: %v", err)
				}
			}
			// A slot comes back once the handler returned, which may be
			// after its reply arrived.
			waitFor(t, "stock.list's slots back", func() bool { return limitOf(st, "stock.list").InFlight == 0 })
			ls := limitOf(st, "stock.list")
			if ls.Arrived != 3 || ls.Shed != 1 || ls.InFlight != 0 || ls.Queued != 0 || ls.Concurrency != 1 || ls.Instance == "" {
				t.Errorf("stock.list's limit: %+v, want 3 arrived, 1 shed, none left, concurrency 1", ls)
			}
			if g := limitOf(st, "stock.get"); g.Concurrency != service.DefaultConcurrency || g.Shed != 0 {
				t.Errorf("stock.get's limit: %+v, want the default concurrency and nothing shed", g)
			}
		})
	}
}

// TestLimitOff: a handler whose limit is off has no limit stats and is
// never shed.
func TestLimitOff(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := r.start(service.Config{Name: "stock", Limit: troupe.LimitPolicy{Off: true}}, func(s *service.Service) {
		if err := service.Handle(s, "stock.get", "stock.get", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil }); err != nil {
			t.Fatal(err)
		}
	})
	if got := st.Limits(); len(got) != 0 {
		t.Errorf("Limits with the limit off: %+v, want none", got)
	}
}

func limitOf(s *service.Service, name string) troupe.LimitStats {
	for _, l := range s.Limits() {
		if l.Name == name {
			return l
		}
	}
	return troupe.LimitStats{}
}

// waitFor polls cond until it holds, within a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestStopServesTheQueued: a service that stops while messages wait in a
// handler's limit gives them their turn and answers them before it stops.
func TestStopServesTheQueued(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	release := make(chan struct{})
	st := r.start(service.Config{
		Name:   "stock",
		Limits: []troupe.LimitPolicy{{Name: "stock.list", Concurrency: 1, Queue: 5, MaxWait: time.Hour}},
	}, func(s *service.Service) {
		if err := service.Handle(s, "stock.list", "stock.list", func(ctx context.Context, _ struct{}) (struct{}, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return struct{}{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	web, err := r.bus.Join(t.Context(), "web", "web-1")
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	results := make(chan error, 3)
	for range 3 {
		go func() { _, err := web.Request(ctx, "stock.list", struct{}{}); results <- err }()
	}
	waitFor(t, "one in progress, two waiting", func() bool {
		l := limitOf(st, "stock.list")
		return l.InFlight == 1 && l.Queued == 2
	})
	stopped := make(chan error, 1)
	go func() { stopped <- st.Stop(ctx) }()
	close(release)
	for range 3 {
		if err := <-results; err != nil {
			t.Errorf("a request delivered before the stop: %v, want its reply (limit %+v)", err, limitOf(st, "stock.list"))
		}
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// TestStopLetsHandlersSend: a handler that is running when its service
// begins to stop may still send and publish: its event goes out with its
// reply, and the other services see both.
func TestStopLetsHandlersSend(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			app := &troupe.App{
				Name: "stopsend",
				Services: []troupe.ServiceDecl{
					{Name: "web", Sends: []string{"stock.list"}, Receives: []string{"stock.changed"}},
					{Name: "stock", Receives: []string{"stock.list"}, Sends: []string{"stock.changed"}},
				},
			}
			r := newRig(t, transport, app)
			started, release := make(chan struct{}), make(chan struct{})
			st := r.start(service.Config{Name: "stock"}, func(s *service.Service) {
				if err := service.Handle(s, "stock.list", "stock.list", func(ctx context.Context, _ struct{}) (struct{}, error) {
					close(started)
					<-release
					return struct{}{}, s.Publish(ctx, "stock.changed", struct{}{})
				}); err != nil {
					t.Fatal(err)
				}
			})
			changed := make(chan struct{}, 1)
			r.start(service.Config{Name: "web"}, func(s *service.Service) {
				if err := service.On(s, "stock.changed", func(context.Context, struct{}) error {
					changed <- struct{}{}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			})
			web, err := r.bus.Join(t.Context(), "web", "web-caller")
			if err != nil {
				t.Fatal(err)
			}
			defer web.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			replied := make(chan error, 1)
			go func() {
				env, err := web.Request(ctx, "stock.list", struct{}{})
				if err == nil && env.Err() != nil {
					err = env.Err()
				}
				replied <- err
			}()
			<-started
			stopped := make(chan error, 1)
			go func() { stopped <- st.Stop(ctx) }()
			time.Sleep(50 * time.Millisecond) // Stop is under way: the handler still runs
			close(release)
			if err := <-replied; err != nil {
				t.Errorf("the request in progress when Stop began: %v, want its reply", err)
			}
			if err := <-stopped; err != nil {
				t.Errorf("Stop: %v", err)
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Error("the event the handler published while its service stopped never arrived")
			}
		})
	}
}
