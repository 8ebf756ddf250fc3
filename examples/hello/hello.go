// Package hello is seed 001's manageable hello-world service: a Hello message
// is answered with World within the bus's budget, or with an Error.
//
// The service receives both the spec's capitalised form (Hello → World) and
// the lower-case form the seed's livebook experiment sends (hello → world).
// It has no HTTP code of its own: the gateway turns POST {"type": "Hello"}
// into the bus request Hello and the reply World into {"type": "World"}.
//
// For demonstrations and tests, Options.PanicRate makes the handler panic for
// that fraction of requests; each panic becomes one crash report in the log and
// an Error with the same incident id for the client, and the service keeps
// serving.
package hello

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"

	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
)

// Name is the service's name in the manifest.
const Name = "hello"

// Hello is the request. It has no fields; any extra fields are ignored.
type Hello struct{}

// World is the reply. It has no fields.
type World struct{}

// The service's endpoints: seed 001's spec (Hello → World) and its livebook
// experiment's lower-case form (hello → world). A caller uses the same
// declaration: hello.HelloWorld.Call(ctx, s, hello.Hello{}).
var (
	HelloWorld = service.Endpoint[Hello, World]{Name: "Hello", Reply: "World"}
	LowerCase  = service.Endpoint[Hello, World]{Name: "hello", Reply: "world"}
)

// Options configure the service.
type Options struct {
	// PanicRate is the fraction of requests, from 0 (the default) to 1, whose
	// handler panics on purpose: exactly that share, spread evenly (with 0.1,
	// every tenth request).
	PanicRate float64
}

// New returns the hello service with its handlers registered.
func New(cfg service.Config, opt Options) (*service.Service, error) {
	if opt.PanicRate < 0 || opt.PanicRate > 1 {
		return nil, fmt.Errorf("hello: panic rate %v is not between 0 and 1", opt.PanicRate)
	}
	if cfg.Name == "" {
		cfg.Name = Name
	}
	s := service.New(cfg)
	f := &faults{rate: opt.PanicRate}
	for _, e := range []service.Endpoint[Hello, World]{HelloWorld, LowerCase} {
		if err := e.Handle(s, func(context.Context, Hello) (World, error) {
			f.maybePanic()
			return World{}, nil
		}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Service returns the service's registration for a node (host.Program), with
// its fault-injection flag -hello-panic-rate. Each call has flags of its own.
func Service() host.Service {
	var opt Options
	return host.Service{
		Name: Name,
		Flags: func(fs *flag.FlagSet) {
			fs.Float64Var(&opt.PanicRate, "hello-panic-rate", 0, "fraction of hello requests that panic on purpose (fault injection)")
		},
		New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
			return New(in.Config(), opt)
		},
	}
}

// faults decides which requests panic: request n panics when the running
// total of the rate crosses an integer, so the share is exact.
type faults struct {
	rate float64
	n    atomic.Uint64
}

// InjectedPanic is the value the handler panics with on purpose.
const InjectedPanic = "hello: injected fault (Options.PanicRate)"

func (f *faults) maybePanic() {
	if f.rate == 0 {
		return
	}
	n := f.n.Add(1)
	if uint64(float64(n)*f.rate) > uint64(float64(n-1)*f.rate) {
		panic(InjectedPanic)
	}
}
