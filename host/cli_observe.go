package host

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/dashboard"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/observe"
)

// operatorFlags are the flags by which tap and top find a running
// application, as send's.
type operatorFlags struct {
	dataDir, natsURL, creds, manifest string
}

func (f *operatorFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data", DefaultDataDir, "data directory of the running application (for its NATS URL and credentials)")
	fs.StringVar(&f.natsURL, "nats", "", "NATS URL of the application (default: the one run wrote under -data)")
	fs.StringVar(&f.creds, "nats-credentials", "", "JSON file of NATS credentials (default: DATA/nats/credentials.json)")
	fs.StringVar(&f.manifest, "manifest", "", "the application's manifest (default: ./troupe.yaml, else the one built in)")
}

// observer connects to a running application as the operator and returns
// a Client of its nodes. It only reads: it creates no stream and joins no
// service. close ends the connection.
func (p Program) observer(ctx context.Context, cmd string, f *operatorFlags, stderr io.Writer) (c *observe.Client, app *troupe.App, closeFn func(), err error) {
	if app, _, err = p.loadManifest(f.manifest); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	url := f.natsURL
	if url == "" {
		data, err := os.ReadFile(URLFile(f.dataDir))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("%s: no application is running with data directory %s (no %s); start one with run, or give -nats", cmd, f.dataDir, URLFile(f.dataDir))
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
		}
		url = strings.TrimSpace(string(data))
	}
	credPath := f.creds
	if credPath == "" {
		credPath = CredentialsFile(f.dataDir)
	}
	cm, err := ReadCredentials(credPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	withOp, err := app.WithOperator()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tcfg := natsbus.Config{App: withOp, URL: url, Logger: quiet}
	if cm != nil {
		op, ok := cm[troupe.OperatorService]
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s: %s has no credentials for %s, the operator", cmd, credPath, troupe.OperatorService)
		}
		// The operator's credential only: the tool creates no stream.
		tcfg.Credentials = natsbus.CredentialsFrom(map[string]natsbus.Credential{troupe.OperatorService: op})
	}
	t, err := natsbus.New(ctx, tcfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	nc, err := t.Connect(troupe.OperatorService, cmd)
	if err != nil {
		_ = t.Close(context.WithoutCancel(ctx))
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	closeFn = func() {
		nc.Close()
		_ = t.Close(context.WithoutCancel(ctx))
	}
	return observe.NewClient(nc, app.Name), app, closeFn, nil
}

// tapCmd is `tap`: the messages of a running application as they flow.
func (p Program) tapCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("tap", "[NAMES...]", "Prints the messages of a running application as they flow through its bus, on\n"+
		"every node, decoded: each request, send and publish sent, each delivery, each\n"+
		"reply, each dead letter. NAMES are message names or patterns (todo.*); none\n"+
		"means every name. It connects as the operator ("+troupe.OperatorService+") and only reads; when it\n"+
		"cannot keep up, the nodes drop messages rather than slow down, and tap says how many.", stdout, stderr)
	var f operatorFlags
	f.define(fs)
	var (
		services = fs.String("service", "", "only messages sent or received by these services (comma-separated)")
		activity = fs.String("activity", "", "only the messages of this activity")
		asJSON   = fs.Bool("json", false, "print each message as a JSON object, one a line")
		count    = fs.Int("n", 0, "stop after this many messages (0: run until interrupted)")
		payloads = fs.Bool("payload", true, "print payloads (cut at 1 KiB)")
	)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	filter := observe.Filter{Names: fs.Args(), Activity: *activity}
	for _, s := range strings.Split(*services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			filter.Services = append(filter.Services, s)
		}
	}
	c, _, closeFn, err := p.observer(ctx, "tap", &f, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := 0
	enc := json.NewEncoder(stdout)
	err = c.Tap(ctx, filter, func(node string, hops []observe.Hop, dropped uint64) {
		if dropped > 0 {
			fmt.Fprintf(stderr, "tap: node %s dropped %d messages (tap fell behind)\n", node, dropped)
		}
		for _, h := range hops {
			if *count > 0 && seen >= *count {
				cancel()
				return
			}
			seen++
			if !*payloads {
				h.Payload = nil
			}
			if *asJSON {
				_ = enc.Encode(h)
				continue
			}
			fmt.Fprintln(stdout, tapLine(h))
		}
		if *count > 0 && seen >= *count {
			cancel()
		}
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// tapLine renders one hop for a person.
func tapLine(h observe.Hop) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-10s %-8s %-20s", h.At.Local().Format("15:04:05.000"), h.Event, h.Kind, h.Name)
	switch h.Event {
	case "sent":
		fmt.Fprintf(&b, " %s", h.From)
	case "delivered":
		fmt.Fprintf(&b, " %s → %s/%s", h.From, h.Service, h.Instance)
	case "replied":
		fmt.Fprintf(&b, " %s/%s (%s)", h.Service, h.Instance, (time.Duration(h.Took * float64(time.Second))).Round(time.Microsecond))
	case "dead_letter":
		fmt.Fprintf(&b, " %s/%s: %s", h.Service, h.Instance, h.Reason)
	}
	if h.Code != "" {
		fmt.Fprintf(&b, " %s", h.Code)
	}
	fmt.Fprintf(&b, " activity=%s", h.Activity)
	if len(h.Payload) > 0 {
		b.WriteString(" ")
		b.Write(h.Payload)
		if h.Cut {
			b.WriteString("…")
		}
	}
	return b.String()
}

// topCmd is `top`: the live per-message table of a running application.
func (p Program) topCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("top", "", "Shows the traffic of a running application per message, summed over every\n"+
		"instance on every node, refreshed every -interval: sent and delivered per second,\n"+
		"errors per second and by code, latency percentiles, requests in flight. It\n"+
		"connects as the operator ("+troupe.OperatorService+") and only reads.", stdout, stderr)
	var f operatorFlags
	f.define(fs)
	var (
		interval = fs.Duration("interval", time.Second, "time between refreshes")
		count    = fs.Int("n", 0, "stop after this many refreshes (0: run until interrupted)")
	)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if *interval < 100*time.Millisecond {
		return fmt.Errorf("top: -interval %v is too short (at least 100ms)", *interval)
	}
	c, app, closeFn, err := p.observer(ctx, "top", &f, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	tracker := dashboard.NewTracker(1)
	clear := isTerminal(stdout)
	poll := func() (dashboard.State, error) {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		nodes, err := c.Nodes(qctx, observe.NodeOptions{})
		return tracker.Update(time.Now(), nodes, err, nil), err
	}
	if _, err := poll(); err != nil { // the baseline: rates need two polls
		return fmt.Errorf("top: %w", err)
	}
	t := time.NewTicker(*interval)
	defer t.Stop()
	for i := 0; *count == 0 || i < *count; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := poll()
		if clear {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J")
		}
		printTop(stdout, app.Name, st, err)
	}
	return nil
}

// printTop writes one table of top.
func printTop(w io.Writer, app string, st dashboard.State, err error) {
	instances := 0
	for _, s := range st.Services {
		instances += len(s.Instances)
	}
	fmt.Fprintf(w, "%s  %s  %d nodes  %d instances", app, st.At.Local().Format("15:04:05"), len(st.Nodes), instances)
	for _, a := range st.Alarms {
		if a.Active {
			fmt.Fprintf(w, "  ALARM %s", a.Name)
		}
	}
	if err != nil {
		fmt.Fprintf(w, "  (%v)", err)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NAME\tSENT/s\tDELIV/s\tERR/s\tP50\tP90\tP99\tINFLIGHT\tTOTAL\tRECEIVED BY\tERRORS BY CODE\t")
	for _, m := range st.Messages {
		var codes []string
		for _, c := range sortedCodes(m.Codes) {
			codes = append(codes, fmt.Sprintf("%s=%.1f", c, m.Codes[c]))
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", m.Name, m.Rate, m.Received, m.Errors,
			seconds(m.P50), seconds(m.P90), seconds(m.P99), m.InFlight, m.Sent, strings.Join(m.Receivers, ","), strings.Join(codes, " "))
	}
	_ = tw.Flush()
}

func sortedCodes(m map[string]float64) []string {
	return slices.Sorted(maps.Keys(m))
}

func seconds(s float64) string {
	if s == 0 {
		return "-"
	}
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
}

// isTerminal reports whether w is a terminal (top then redraws in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
