package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// outgoing is a started service's calling side, read without a lock by
// every call: the client, the chain of interceptors, and what is known of
// each name the service sends. It is replaced, never changed, except for
// closing.
type outgoing struct {
	client  *bus.Client
	invoke  Invoker
	routes  map[string]*route // by message name, one per name in the service's sends
	closing atomic.Bool       // Stop began: failures from now on are not the targets'
}

// route is one name the service sends: the target that receives it (nil
// when several services or none do) and whether its requests may be
// retried.
type route struct {
	t       *target
	retry   bool // listed in the target's Retry.Messages
	durable bool // the bus redelivers it; never retried by the caller
}

// target is one service that this service calls, and what protects the
// calls: a breaker (nil if off), a retry policy and budget, and counters.
type target struct {
	out    *outgoing
	caller troupe.Member
	name   string
	br     *breaker
	retry  retryPolicy
	budget budget

	failures      atomic.Uint64 // attempts that failed by the target's fault
	retries       atomic.Uint64
	retriesDenied atomic.Uint64 // retries not made: the budget was spent
	fallbacks     atomic.Uint64
}

// calling builds the calling side of service member from app: a target for
// every service that receives a name it sends, each with the policy that
// policyFor resolves.
func (s *Service) calling(app *troupe.App, member troupe.Member) (*outgoing, []*target, error) {
	out := &outgoing{routes: make(map[string]*route)}
	decl := app.Service(member.Service)
	if decl == nil {
		return nil, nil, fmt.Errorf("service %s: not declared in the app", member.Service)
	}
	byName := map[string]*target{}
	var targets []*target
	for _, name := range decl.Sends {
		r := &route{durable: app.IsDurable(name)}
		out.routes[name] = r
		recv := app.Receivers(name)
		if len(recv) != 1 {
			continue
		}
		t := byName[recv[0]]
		if t == nil {
			pol, err := s.policyFor(decl, recv[0])
			if err != nil {
				return nil, nil, fmt.Errorf("service %s: calls to %s: %w", member.Service, recv[0], err)
			}
			t = &target{out: out, caller: member, name: recv[0]}
			if t.br, err = newBreaker(s, t, pol.Breaker); err != nil {
				return nil, nil, fmt.Errorf("service %s: calls to %s: breaker: %w", member.Service, recv[0], err)
			}
			if t.retry, err = newRetryPolicy(pol.Retry); err != nil {
				return nil, nil, fmt.Errorf("service %s: calls to %s: retry: %w", member.Service, recv[0], err)
			}
			t.budget.init(t.retry.budget)
			byName[t.name] = t
			targets = append(targets, t)
		}
		r.t = t
		r.retry = slices.Contains(t.retry.messages, name)
	}
	// A per-target policy must name a target, and the names it retries
	// must go to that target alone; the service-wide ones to some target.
	for _, list := range [][]troupe.CallPolicy{decl.Calls, s.cfg.Targets} {
		for _, p := range list {
			t := byName[p.Target]
			if t == nil {
				return nil, nil, fmt.Errorf("service %s: calls to %q: it sends nothing that %[2]q alone receives", member.Service, p.Target)
			}
			for _, name := range p.Retry.Messages {
				if r := out.routes[name]; r == nil || r.t != t {
					return nil, nil, fmt.Errorf("service %s: calls to %s: retry: %q is not a request it sends to %s alone", member.Service, t.name, name, t.name)
				}
			}
		}
	}
	for _, name := range s.cfg.Retry.Messages {
		if r := out.routes[name]; r == nil || r.t == nil {
			return nil, nil, fmt.Errorf("service %s: retry: %q is not a request it sends to one service alone", member.Service, name)
		}
	}
	slices.SortFunc(targets, func(a, b *target) int { return strings.Compare(a.name, b.name) })
	return out, targets, nil
}

// policyFor resolves the policy of the service's calls to target, field by
// field: the first that sets a field wins, in this order: the manifest's
// calls entry for target (decl.Calls), Config.Targets for target, then
// Config.Breaker and Config.Retry; unset fields keep the defaults. Off in
// any of them turns the breaker off.
func (s *Service) policyFor(decl *troupe.ServiceDecl, target string) (troupe.CallPolicy, error) {
	pol := troupe.CallPolicy{Target: target}
	layers := make([]troupe.CallPolicy, 0, 3)
	for _, list := range [][]troupe.CallPolicy{decl.Calls, s.cfg.Targets} {
		n := 0
		for _, p := range list {
			if p.Target == target {
				layers = append(layers, p)
				n++
			}
		}
		if n > 1 {
			return pol, errors.New("more than one policy for the target")
		}
	}
	layers = append(layers, troupe.CallPolicy{Breaker: s.cfg.Breaker, Retry: s.cfg.Retry})
	for _, l := range layers {
		mergeBreaker(&pol.Breaker, l.Breaker)
		mergeRetry(&pol.Retry, l.Retry)
	}
	return pol, nil
}

func mergeBreaker(dst *troupe.BreakerPolicy, src troupe.BreakerPolicy) {
	dst.Off = dst.Off || src.Off
	setZero(&dst.Failures, src.Failures)
	setZero(&dst.FailureRate, src.FailureRate)
	setZero(&dst.Window, src.Window)
	setZero(&dst.MinRequests, src.MinRequests)
	setZero(&dst.OpenFor, src.OpenFor)
	setZero(&dst.Probes, src.Probes)
}

func mergeRetry(dst *troupe.RetryPolicy, src troupe.RetryPolicy) {
	if dst.Messages == nil {
		dst.Messages = src.Messages
	}
	setZero(&dst.Attempts, src.Attempts)
	setZero(&dst.Backoff, src.Backoff)
	setZero(&dst.MaxBackoff, src.MaxBackoff)
	setZero(&dst.AttemptTimeout, src.AttemptTimeout)
	setZero(&dst.Budget, src.Budget)
}

func setZero[T comparable](dst *T, src T) {
	var zero T
	if *dst == zero {
		*dst = src
	}
}

// TargetStatus is what one instance of a service knows of one service it
// calls: its circuit breaker, and what retries and fallbacks did. Its JSON
// form is what a node's /healthz shows.
type TargetStatus struct {
	Service  string        `json:"service"`  // the calling service
	Instance string        `json:"instance"` // the calling instance
	Target   string        `json:"target"`   // the service called
	Breaker  BreakerStatus `json:"breaker"`
	// Failures counts the attempts that failed by the target's fault
	// (timeout, unavailable, internal, no instance): what the breaker
	// counts.
	Failures uint64 `json:"failures"`
	// Retries counts the retries sent; RetriesDenied the retries not sent
	// because the target's retry budget was spent.
	Retries       uint64 `json:"retries"`
	RetriesDenied uint64 `json:"retriesDenied"`
	// Fallbacks counts the replies the caller's fallback gave instead of
	// the target.
	Fallbacks uint64 `json:"fallbacks"`
}

// Targets returns the status of every service this one calls, sorted by
// target, as of now; nil before Start. A node shows it in /healthz and the
// dashboard.
func (s *Service) Targets() []TargetStatus {
	s.mu.Lock()
	targets := s.targets
	s.mu.Unlock()
	out := make([]TargetStatus, 0, len(targets))
	for _, t := range targets {
		out = append(out, t.status())
	}
	return out
}

func (t *target) status() TargetStatus {
	return TargetStatus{
		Service:       t.caller.Service,
		Instance:      t.caller.Instance,
		Target:        t.name,
		Breaker:       t.br.status(),
		Failures:      t.failures.Load(),
		Retries:       t.retries.Load(),
		RetriesDenied: t.retriesDenied.Load(),
		Fallbacks:     t.fallbacks.Load(),
	}
}

// invoker builds the service's chain of calling-side interceptors over c:
// the user's, then the fallback, the retries and the breaker.
func (s *Service) invoker(c *bus.Client) Invoker {
	inv := busInvoker(c)
	inv = breakerMiddleware(inv)
	inv = retryMiddleware(inv)
	inv = fallbackMiddleware(inv)
	return chainInvoker(inv, s.cfg.CallMiddleware)
}

// targetFault reports whether err, the outcome of one attempt, is the
// target's fault: a timeout, unavailable (no instance could take it, or
// the bulkhead is full because it is slow), internal (its handler failed
// or crashed, or the transport did), or not_found because no instance of it
// is there. These count against its breaker, may be retried and may be
// replaced by a fallback. Everything else is an answer (bad_request,
// not_found, forbidden, conflict: the target works and said no) or the
// caller's own doing (a cancelled context).
func targetFault(err error) bool {
	var te *troupe.Error
	if !errors.As(err, &te) {
		return !errors.Is(err, context.Canceled)
	}
	switch te.Code {
	case troupe.CodeTimeout, troupe.CodeUnavailable, troupe.CodeInternal:
		return true
	case troupe.CodeNotFound:
		return errors.Is(err, troupe.ErrNoReceiver)
	}
	return false
}
