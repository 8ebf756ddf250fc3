package actor

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// NewTextHandler returns a slog.Handler that writes records as
// slog.TextHandler does (key=value, one line each), except crash reports,
// which it writes as a block a person reads: the headline (service,
// instance, process, message name, incident and the other short
// attributes) on the record's line, then, indented below it, the panic,
// the message and the stack. A crash report is any record with a
// multi-line "stack" attribute. Records are written whole, one Write each,
// so that other records never land inside a block.
//
// A JSON handler keeps a crash report in one record; NewTextHandler is for
// terminals and plain log files.
func NewTextHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	bw := &blockWriter{w: w}
	return &blockHandler{text: slog.NewTextHandler(bw, opts), bw: bw}
}

// blockWriter serialises the writes of a blockHandler and its derivations.
type blockWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // the headline being written with a block, or nil
}

// Write is called by the TextHandler with mu held by blockHandler.Handle.
func (bw *blockWriter) Write(p []byte) (int, error) {
	if bw.buf != nil {
		bw.buf = append(bw.buf, p...)
		return len(p), nil
	}
	return bw.w.Write(p)
}

type blockHandler struct {
	text slog.Handler
	bw   *blockWriter
}

// blockKeys are the attributes of a crash report written below its headline.
var blockKeys = []string{"panic", "message", "stack"}

func (h *blockHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.text.Enabled(ctx, l)
}

func (h *blockHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &blockHandler{text: h.text.WithAttrs(attrs), bw: h.bw}
}

func (h *blockHandler) WithGroup(name string) slog.Handler {
	return &blockHandler{text: h.text.WithGroup(name), bw: h.bw}
}

func (h *blockHandler) Handle(ctx context.Context, r slog.Record) error {
	var block map[string]string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "stack" && a.Value.Kind() == slog.KindString && strings.Contains(a.Value.String(), "\n") {
			block = map[string]string{}
			return false
		}
		return true
	})
	h.bw.mu.Lock()
	defer h.bw.mu.Unlock()
	if block == nil {
		return h.text.Handle(ctx, r)
	}
	head := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		for _, k := range blockKeys {
			if a.Key == k {
				block[k] = a.Value.String()
				return true
			}
		}
		head.AddAttrs(a)
		return true
	})
	h.bw.buf = make([]byte, 0, 4096)
	err := h.text.Handle(ctx, head)
	out := h.bw.buf
	h.bw.buf = nil
	if err != nil {
		return err
	}
	for _, k := range blockKeys {
		v, ok := block[k]
		if !ok || v == "" {
			continue
		}
		if k == "stack" {
			out = append(out, "    stack:\n"...)
			for _, l := range strings.Split(v, "\n") {
				out = append(out, "      "...)
				out = append(out, strings.ReplaceAll(l, "\t", "    ")...)
				out = append(out, '\n')
			}
			continue
		}
		out = append(out, "    "...)
		out = append(out, k...)
		out = append(out, ": "...)
		out = append(out, strings.ReplaceAll(v, "\n", "\n      ")...)
		out = append(out, '\n')
	}
	_, err = h.bw.w.Write(out)
	return err
}
