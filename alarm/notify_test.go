package alarm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe/alarm"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{alarm.LogNotifier(logger)}})
	r, err := m.Rate("hello.surge", alarm.RateConfig{
		Threshold: alarm.Threshold{High: 100, Low: 80},
		Window:    time.Second, Buckets: 1, Noun: "requests",
	})
	if err != nil {
		t.Fatal(err)
	}
	// A surge that wobbles around the threshold for a while, then ends:
	// exactly one record when raised and one when cleared.
	for _, n := range []int{10, 150, 90, 150, 95, 101, 99, 85, 150, 20, 10} {
		r.ObserveN(uint64(n))
		clk.Advance(time.Second)
		m.Evaluate(context.Background())
	}
	type record struct {
		Level, Msg, Alarm, State string
		Value, Threshold         float64
		Kind                     string
	}
	var got []record
	dec := json.NewDecoder(&buf)
	for {
		var r record
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []record{
		{Level: "WARN", Msg: "alarm hello.surge raised: 150 requests in the last 1s (150/s), above 100", Alarm: "hello.surge", State: "raised", Value: 150, Threshold: 100, Kind: "rate"},
		{Level: "INFO", Msg: "alarm hello.surge cleared: 20 requests in the last 1s (20/s), below 80", Alarm: "hello.surge", State: "cleared", Value: 20, Threshold: 80, Kind: "rate"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}
