package alarm

import (
	"context"
	"log/slog"
)

// A Notifier is told about every alarm raised or cleared. Notify is called
// from the monitor's evaluating goroutine, one event at a time, with a
// context bounded by Config.NotifyTimeout: a notifier that does slow I/O
// should queue the event and return, as [Webhook] does.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// NotifierFunc adapts a function to a [Notifier].
type NotifierFunc func(ctx context.Context, e Event) error

// Notify calls f(ctx, e).
func (f NotifierFunc) Notify(ctx context.Context, e Event) error { return f(ctx, e) }

// LogNotifier returns a notifier that writes one record per event to l: at
// level Warn when an alarm is raised and Info when it clears. A nil l means
// slog.Default().
func LogNotifier(l *slog.Logger) Notifier {
	return NotifierFunc(func(ctx context.Context, e Event) error {
		logger := l
		if logger == nil {
			logger = slog.Default()
		}
		level := slog.LevelInfo
		if e.State == Raised {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("alarm", e.Alarm),
			slog.String("state", string(e.State)),
			slog.Float64("value", e.Value),
			slog.Float64("threshold", e.Threshold),
		}
		if e.Kind != "" {
			attrs = append(attrs, slog.String("kind", e.Kind))
		}
		if e.Subject != "" {
			attrs = append(attrs, slog.String("subject", e.Subject))
		}
		if e.Source != "" {
			attrs = append(attrs, slog.String("source", e.Source))
		}
		logger.LogAttrs(ctx, level, e.Message, attrs...)
		return nil
	})
}
