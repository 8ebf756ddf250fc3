package natsbus_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// The attacks of issue 11's Tests paragraph, made with an attacker's own
// tool: the NATS command line (natscli), logged in with the nkey seed of
// one service, as a compromised pod would find it in its credential
// directory (USER.nk). Each subtest fails if its attack works.

// natsCLI returns the path of the NATS command line: $TROUPE_NATS_CLI (set
// by .ci/nats-cli.sh) or nats on PATH. Without it the tests skip, unless
// CI=true.
func natsCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath(cmp.Or(os.Getenv("TROUPE_NATS_CLI"), "nats"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no NATS command line (source .ci/nats-cli.sh, or go install github.com/nats-io/natscli/nats@v0.5.0); CI=true, so the attack tests must run")
		}
		t.Skip("no NATS command line (go install github.com/nats-io/natscli/nats@v0.5.0)")
	}
	return path
}

// attacker is the NATS command line logged in as one service.
type attacker struct {
	path string
	args []string // the global flags: server, nkey, inbox prefix
	env  []string
}

// newAttacker writes user's seed into a credential directory, as a
// Kubernetes Secret mounts it, and logs the CLI in with that file.
func newAttacker(t *testing.T, srv *natsbus.Server, user string) *attacker {
	t.Helper()
	cred, ok := srv.Credentials(user)
	if !ok || cred.Seed == "" {
		t.Fatalf("no nkey for %q", user)
	}
	dir := t.TempDir()
	seed := filepath.Join(dir, user+".nk")
	if err := os.WriteFile(seed, []byte(cred.Seed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir() // no contexts of the machine's user
	return &attacker{
		path: natsCLI(t),
		// Requests use the service's own inbox, which it may subscribe
		// to: the CLI's _INBOX is not allowed.
		args: []string{"-s", srv.ClientURL(), "--nkey", seed, "--inbox-prefix", "troupe.shop.inbox." + user, "--no-context"},
		env:  append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "NATS_CONTEXT="),
	}
}

// run runs the CLI with stdin as the message body (--force-stdin where a
// body is given) and returns what it printed; err is its exit status.
func (a *attacker) run(timeout time.Duration, stdin []byte, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	full := append(append(append([]string{}, a.args...), "--timeout", timeout.String()), args...)
	cmd := exec.CommandContext(ctx, a.path, full...)
	cmd.Env = a.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// request sends body as a request on subject and returns the reply's
// envelope; it fails the test if no reply came within timeout.
func (a *attacker) request(t *testing.T, subject string, body []byte) *troupe.Envelope {
	t.Helper()
	out, stderr, err := a.run(10*time.Second, body, "request", subject, "--force-stdin")
	if err != nil {
		t.Fatalf("nats request %s: %v (no answer: a refusal must be answered)\n%s%s", subject, err, out, stderr)
	}
	env, derr := troupe.DecodeEnvelope([]byte(strings.TrimSpace(out)))
	if derr != nil {
		t.Fatalf("nats request %s: the answer %q is no envelope: %v\n%s", subject, out, derr, stderr)
	}
	return env
}

// refused runs an attack that the server must refuse: the CLI fails, for a
// permissions violation or for want of an answer (a request the server
// dropped).
func (a *attacker) refused(t *testing.T, what string, timeout time.Duration, stdin []byte, args ...string) {
	t.Helper()
	out, stderr, err := a.run(timeout, stdin, args...)
	said := strings.ToLower(out + stderr)
	if strings.Contains(said, "permissions violation") {
		return // the server refused it
	}
	if err == nil {
		t.Errorf("%s: the CLI succeeded, want a refusal:\n%s%s", what, out, stderr)
		return
	}
	if !strings.Contains(said, "permission") && !strings.Contains(said, "timeout") &&
		!strings.Contains(said, "no responders") && !strings.Contains(said, "deadline") {
		t.Errorf("%s: failed for another reason than a refusal: %v\n%s%s", what, err, out, stderr)
	}
}

// subscribeRefused starts nats sub on subject, publishes a probe there as
// the admin, and checks that the CLI saw the server's permissions
// violation and never the probe.
func (a *attacker) subscribeRefused(t *testing.T, admin *nats.Conn, subject, probe string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append(append([]string{}, a.args...), "sub", subject, "--raw")
	cmd := exec.CommandContext(ctx, a.path, full...)
	cmd.Env = a.env
	var out lockedBuf
	errs := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = &out, errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.ToLower(errs.String()+out.String()), "permissions violation") {
		if time.Now().After(deadline) {
			t.Errorf("nats sub %s: no permissions violation from the server:\n%s%s", subject, out.String(), errs.String())
			break
		}
		// The probe is published until the refusal shows, so that an
		// accepted subscription would receive one.
		_ = admin.Publish(strings.ReplaceAll(strings.ReplaceAll(subject, ">", "x"), "*", "x"), []byte(probe))
		time.Sleep(50 * time.Millisecond)
	}
	_ = admin.Flush()
	if strings.Contains(out.String(), probe) {
		t.Errorf("nats sub %s received a message of another service: %s", subject, out.String())
	}
}

// lockedBuf is a bytes.Buffer safe for the CLI's writer and the test's
// reader.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wantReply checks that the next reply of call is want, from stock.
func wantReply(t *testing.T, call *bus.Call, want string) {
	t.Helper()
	rep, err := call.Next(context.Background())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	var got string
	_ = json.Unmarshal(rep.Payload, &got)
	if got != want || rep.From != "stock" {
		t.Errorf("reply %q from %q, want %q from stock", got, rep.From, want)
	}
}

func marshal(t *testing.T, env *troupe.Envelope) []byte {
	t.Helper()
	data, err := env.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestAttackWithTheNATSCLI: the attacks of issue 11, each made with the
// NATS command line logged in with one service's nkey.
func TestAttackWithTheNATSCLI(t *testing.T) {
	natsCLI(t)
	r := newIdentityRig(t)
	admin := rawConn(t, r.srv, natsbus.AdminUser)
	web := newAttacker(t, r.srv, "web")

	t.Run("ForgedSender", func(t *testing.T) {
		// web, on the only subject it may publish stock.get on, claims to
		// be the gateway: stock's transport refuses it and answers
		// forbidden at once on web's own inbox.
		env := envelope(troupe.KindRequest, "stock.get", troupe.Member{Service: "gateway", Instance: "g1"}, "x")
		before := r.tr.Stats().Forged
		ans := web.request(t, "troupe.shop.msg.web.stock.get", marshal(t, env))
		if e := ans.Err(); e == nil || e.Code != troupe.CodeForbidden || ans.ResponseTo != env.ID {
			t.Errorf("answer %s %s to %s, want a forbidden Error to %s", ans.Name, ans.Payload, ans.ResponseTo, env.ID)
		}
		eventually(t, func() bool { return r.tr.Stats().Forged > before })
		// Under the gateway's own token: the server refuses the publish.
		web.refused(t, "publish under the gateway's token", 2*time.Second, marshal(t, env),
			"request", "troupe.shop.msg.gateway.stock.get", "--raw", "--force-stdin")
		quietFor(t, r.reqs, "a delivery of a forged request")
	})

	t.Run("RefusalsAreAnswered", func(t *testing.T) {
		// Bytes that are no envelope: bad_request at once.
		ans := web.request(t, "troupe.shop.msg.web.stock.get", []byte("hello"))
		if e := ans.Err(); e == nil || e.Code != troupe.CodeBadRequest {
			t.Errorf("answer to garbage: %s %s, want a bad_request Error", ans.Name, ans.Payload)
		}
		// A principal from web, which is no edge: its receiver's bus
		// refuses it and answers forbidden at once.
		env := envelope(troupe.KindRequest, "stock.get", troupe.Member{Service: "web", Instance: "cli"}, "x")
		env.Principal = &troupe.Principal{ID: "u1", Name: "mallory"}
		ans = web.request(t, "troupe.shop.msg.web.stock.get", marshal(t, env))
		if e := ans.Err(); e == nil || e.Code != troupe.CodeForbidden || ans.Sender.Service != "stock" {
			t.Errorf("answer to a principal from web: %s %s from %s, want a forbidden Error from stock", ans.Name, ans.Payload, ans.Sender)
		}
		quietFor(t, r.reqs, "a delivery of a refused request")
	})

	t.Run("ForgedAndReplayedReplies", func(t *testing.T) {
		call1, call2, first, second := r.twoCalls(t, "w-replies")
		stockMember := troupe.Member{Service: "stock", Instance: "s1"}

		// orders may answer web (web sends it order.place), under its own
		// token: its reply claiming to be stock's is refused by web's bus.
		orders := newAttacker(t, r.srv, "orders")
		refusals := r.b.Stats().Services["web"].Refusals
		forged := replyFor(first.Env, stockMember, "forged")
		if out, stderr, err := orders.run(5*time.Second, marshal(t, forged), "pub", "troupe.shop.reply.web.w-replies."+first.Env.ID+".orders", "--force-stdin"); err != nil {
			t.Fatalf("nats pub: %v\n%s%s", err, out, stderr)
		}
		eventually(t, func() bool { return r.b.Stats().Services["web"].Refusals > refusals })
		// Under stock's token, which orders may not publish.
		orders.refused(t, "a reply under stock's token", 2*time.Second, marshal(t, forged),
			"request", "troupe.shop.reply.web.w-replies."+first.Env.ID+".stock", "--raw", "--force-stdin")

		// stock answers the first request, and replays that reply on the
		// second request's subject: web's transport refuses it (it
		// answers another request).
		if err := first.Reply(first.Context(), "stock.level", "real a"); err != nil {
			t.Fatal(err)
		}
		wantReply(t, call1, "real a")
		stock := newAttacker(t, r.srv, "stock")
		replay := replyFor(first.Env, stockMember, "real a")
		forgedBefore := r.tr.Stats().Forged
		if out, stderr, err := stock.run(5*time.Second, marshal(t, replay), "pub", "troupe.shop.reply.web.w-replies."+second.Env.ID+".stock", "--force-stdin"); err != nil {
			t.Fatalf("nats pub: %v\n%s%s", err, out, stderr)
		}
		eventually(t, func() bool { return r.tr.Stats().Forged > forgedBefore })
		// And again on the first's own subject: it was answered, nothing
		// waits for it.
		if out, stderr, err := stock.run(5*time.Second, marshal(t, replay), "pub", "troupe.shop.reply.web.w-replies."+first.Env.ID+".stock", "--force-stdin"); err != nil {
			t.Fatalf("nats pub: %v\n%s%s", err, out, stderr)
		}
		if err := second.Reply(second.Context(), "stock.level", "real b"); err != nil {
			t.Fatal(err)
		}
		wantReply(t, call2, "real b")
		nctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if rep, err := call1.Next(nctx); err == nil {
			t.Errorf("the replayed reply reached the caller: %s", rep.Payload)
		}
	})

	t.Run("OtherServicesSubjects", func(t *testing.T) {
		// Publish what web does not send, and what others send.
		env := envelope(troupe.KindSend, "order.placed", troupe.Member{Service: "web", Instance: "cli"}, "x")
		for _, subject := range []string{"troupe.shop.msg.web.order.placed", "troupe.shop.msg.orders.order.placed", "troupe.shop.durable.orders.order.placed"} {
			web.refused(t, "publish on "+subject, 2*time.Second, marshal(t, env), "request", subject, "--raw", "--force-stdin")
		}
		// Subscribe to what others receive, their replies and inboxes.
		for _, subject := range []string{"troupe.shop.msg.*.order.place", "troupe.shop.msg.>", "troupe.shop.reply.gateway.>", "troupe.shop.inbox.stock.>", ">"} {
			web.subscribeRefused(t, admin, subject, "probe of "+subject)
		}
	})

	t.Run("JetStreamAPI", func(t *testing.T) {
		// A durable message in the stream, for purge and delete to lose.
		w, err := r.b.Join(context.Background(), "web", "w-durable")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Send(context.Background(), "order.place", "o1"); err != nil {
			t.Fatal(err)
		}
		js, err := jetstream.New(admin)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		stream, err := js.Stream(ctx, "troupe-shop")
		if err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msgs := info.State.Msgs
		// stock has permission for its own consumers only; web for none.
		for _, user := range []string{"web", "stock"} {
			a := newAttacker(t, r.srv, user)
			for _, tt := range []struct {
				what string
				args []string
				body string
			}{
				{"stream info", []string{"stream", "info", "troupe-shop", "--json"}, ""},
				{"stream list", []string{"stream", "ls", "--json"}, ""},
				{"stream purge", []string{"stream", "purge", "troupe-shop", "-f"}, ""},
				{"stream delete", []string{"stream", "rm", "troupe-shop", "-f"}, ""},
				{"consumer create", []string{"request", "$JS.API.CONSUMER.CREATE.troupe-shop.evil", "--raw", "--force-stdin"},
					`{"stream_name":"troupe-shop","config":{"durable_name":"evil","ack_policy":"explicit"}}`},
				{"read another service's consumer", []string{"request", "$JS.API.CONSUMER.MSG.NEXT.troupe-shop.orders_order~place", "--raw", "--force-stdin"}, `{"batch":1}`},
				{"account info", []string{"account", "info"}, ""},
			} {
				var stdin []byte
				if tt.body != "" {
					stdin = []byte(tt.body)
				}
				a.refused(t, user+": "+tt.what, 2*time.Second, stdin, tt.args...)
			}
		}
		info, err = stream.Info(ctx)
		if err != nil {
			t.Fatalf("the stream after the attacks: %v", err)
		}
		if info.State.Msgs != msgs {
			t.Errorf("the stream holds %d messages after the attacks, want %d", info.State.Msgs, msgs)
		}
		if _, err := stream.Consumer(ctx, "evil"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Errorf("consumer evil: %v, want none", err)
		}
	})

	t.Run("SystemAccount", func(t *testing.T) {
		for _, tt := range []struct {
			what string
			args []string
		}{
			{"server list", []string{"server", "list"}},
			{"server ping", []string{"request", "$SYS.REQ.SERVER.PING", "--raw", "--force-stdin"}},
			{"connections", []string{"request", "$SYS.REQ.SERVER.PING.CONNZ", "--raw", "--force-stdin"}},
		} {
			web.refused(t, tt.what, 2*time.Second, []byte("{}"), tt.args...)
		}
		web.subscribeRefused(t, admin, "$SYS.>", "probe of $SYS")
	})
}
