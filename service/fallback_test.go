package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/service"
)

func TestFallback(t *testing.T) {
	cached := Item{SKU: "a", Count: 1}
	hang := func(ctx context.Context, _ int64) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name      string
		running   bool // the target runs
		behave    func(context.Context, int64) error
		deadline  time.Duration
		wantCause troupe.Code // "" when the target's answer is returned
	}{
		{"target down", false, nil, 5 * time.Second, troupe.CodeUnavailable},
		{"target fails", true, func(context.Context, int64) error { return errors.New("broken") }, 5 * time.Second, troupe.CodeInternal},
		{"target overloaded", true, func(context.Context, int64) error { return troupe.Errorf(troupe.CodeUnavailable, "busy") }, 5 * time.Second, troupe.CodeUnavailable},
		{"past the deadline", true, hang, 50 * time.Millisecond, troupe.CodeTimeout},
		{"an answer is no reason", true, func(context.Context, int64) error { return troupe.Errorf(troupe.CodeNotFound, "no such sku") }, 5 * time.Second, ""},
		{"the target answers", true, nil, 5 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "inproc", shopApp())
			if tt.running {
				st := newStock()
				st.behave(tt.behave)
				r.start(service.Config{Name: "stock"}, st.setup)
			}
			web := r.start(service.Config{Name: "web"}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			rep, err := service.RequestReply[Item](ctx, web, "stock.get", Item{SKU: "a"}, service.Fallback(cached))
			ts := breakerOf(t, web, "stock")
			if tt.wantCause == "" {
				if rep.Fallback != nil || ts.Fallbacks != 0 || rep.Value == cached {
					t.Errorf("got %+v, %v (%d fallbacks), want the target's own answer", rep, err, ts.Fallbacks)
				}
				return
			}
			if err != nil || rep.Value != cached {
				t.Fatalf("got %+v, %v; want the fallback", rep.Value, err)
			}
			if troupe.CodeOf(rep.Fallback) != tt.wantCause {
				t.Errorf("fallback replaced %v, want a %s error", rep.Fallback, tt.wantCause)
			}
			if rep.Env.Name != service.FallbackName || rep.Env.Headers[service.HeaderFallback] != string(tt.wantCause) || rep.Env.Sender.Service != "web" {
				t.Errorf("fallback reply %+v, want %s from web with %s: %s", rep.Env, service.FallbackName, service.HeaderFallback, tt.wantCause)
			}
			if ts.Fallbacks != 1 {
				t.Errorf("%d fallbacks counted, want 1", ts.Fallbacks)
			}
		})
	}
}

// TestFallbackFunc checks that a fallback function sees the error and may
// give up with one of its own.
func TestFallbackFunc(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	web := r.start(webConfig(1, time.Hour), nil)
	var seen []error
	fb := service.FallbackFunc(func(_ context.Context, err error) (Item, error) {
		seen = append(seen, err)
		if isOpen(err) {
			return Item{}, errors.New("no cache either")
		}
		return Item{SKU: "cached"}, nil
	})
	// The target is down: the first request opens the breaker, the second
	// is refused by it.
	if it, _, err := get(web, 5*time.Second, fb); err != nil || it.SKU != "cached" {
		t.Fatalf("first: %+v, %v; want the fallback", it, err)
	}
	if _, _, err := get(web, 5*time.Second, fb); err == nil || err.Error() != "no cache either" {
		t.Fatalf("second: err = %v, want the fallback's own", err)
	}
	if len(seen) != 2 || !errors.Is(seen[0], troupe.ErrNoReceiver) || !isOpen(seen[1]) {
		t.Errorf("fallback saw %v, want no receiver, then the open breaker", seen)
	}
}
