package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/troupe-go/troupe"
)

// errNotStarted is returned by calls made before Start or after Stop.
func (s *Service) errNotStarted(name string) error {
	return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("service %s: %s: not started", s.cfg.Name, name)}
}

// Request sends req as a request named name on behalf of s and decodes the
// reply's payload into a Rep. An Error reply is returned as a *troupe.Error;
// a reply that does not decode into Rep is a bad_request *troupe.Error.
// Within a handler, pass the handler's ctx: the request then belongs to the
// same activity and gets what remains of its deadline.
func Request[Rep any](ctx context.Context, s *Service, name string, req any) (Rep, error) {
	var rep Rep
	c := s.Client()
	if c == nil {
		return rep, s.errNotStarted(name)
	}
	env, err := c.Request(ctx, name, req)
	if err != nil {
		return rep, err
	}
	if len(env.Payload) > 0 {
		if err := json.Unmarshal(env.Payload, &rep); err != nil {
			return rep, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("%s: reply %s: %v", name, env.Name, err)}
		}
	}
	return rep, nil
}

// Collect publishes req as a request named name to every service that
// receives it and gathers their replies until the deadline (ctx's, or the
// bus's default), decoding each into a Rep. Error replies and replies that do
// not decode are skipped; the first such error is returned beside the
// replies that did decode, so a caller can use a partial answer.
func Collect[Rep any](ctx context.Context, s *Service, name string, req any) ([]Rep, error) {
	c := s.Client()
	if c == nil {
		return nil, s.errNotStarted(name)
	}
	var (
		out   []Rep
		first error
	)
	_, err := c.Collect(ctx, name, req, func(env *troupe.Envelope) bool {
		if e := env.Err(); e != nil {
			if first == nil {
				first = e
			}
			return true
		}
		var rep Rep
		if len(env.Payload) > 0 {
			if err := json.Unmarshal(env.Payload, &rep); err != nil {
				if first == nil {
					first = &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("%s: reply %s: %v", name, env.Name, err)}
				}
				return true
			}
		}
		out = append(out, rep)
		return true
	})
	if err != nil {
		return out, err
	}
	return out, first
}

// Send sends msg as a one-way notification named name on behalf of s.
func (s *Service) Send(ctx context.Context, name string, msg any) error {
	c := s.Client()
	if c == nil {
		return s.errNotStarted(name)
	}
	return c.Send(ctx, name, msg)
}

// Publish publishes msg as an event named name on behalf of s; any number of
// services, none included, may receive it.
func (s *Service) Publish(ctx context.Context, name string, msg any) error {
	c := s.Client()
	if c == nil {
		return s.errNotStarted(name)
	}
	return c.Publish(ctx, name, msg)
}
