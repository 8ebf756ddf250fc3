package natsbus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// The test binary runs itself as a service process (the re-exec pattern)
// when helperEnv is set; the other variables configure it.
const (
	helperEnv      = "NATSBUS_TEST_HELPER" // the member's instance name
	helperURLEnv   = "NATSBUS_TEST_URL"
	helperCredsEnv = "NATSBUS_TEST_CREDS" // JSON map of user to Credential
	helperOutEnv   = "NATSBUS_TEST_OUT"   // file the processed ids are appended to
)

// helperMain joins as orders/<instance>, receives order.place durably and
// appends the id of each envelope it handles to a file before acking it.
// It prints "ready" once subscribed and runs until killed.
func helperMain() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	var creds map[string]natsbus.Credential
	if err := json.Unmarshal([]byte(os.Getenv(helperCredsEnv)), &creds); err != nil {
		return fail(err)
	}
	f, err := os.OpenFile(os.Getenv(helperOutEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	tr, err := natsbus.New(ctx, natsbus.Config{
		URL: os.Getenv(helperURLEnv), App: shop(), Credentials: natsbus.CredentialsFrom(creds),
		AckWait: time.Second, Logger: quiet,
	})
	if err != nil {
		return fail(err)
	}
	p, err := tr.Join(ctx, troupe.Member{Service: "orders", Instance: os.Getenv(helperEnv)}, bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
	if err != nil {
		return fail(err)
	}
	err = p.Subscribe("order.place", bus.OneInstance, bus.DelivererFunc(func(env *troupe.Envelope, ack bus.Acker) {
		// One write per id: a kill cannot tear a line.
		if _, err := f.Write([]byte(env.ID + "\n")); err != nil {
			_ = ack.Nak(0)
			return
		}
		time.Sleep(100 * time.Microsecond) // some work, so that a kill finds envelopes in flight
		_ = ack.Ack()
	}))
	if err != nil {
		return fail(err)
	}
	fmt.Println("ready")
	select {}
}

// child is a service process started by startChild.
type child struct {
	cmd *exec.Cmd
}

// startChild starts the test binary as orders/<instance> and waits until it
// is subscribed. Only the orders user's credential is handed over.
func startChild(t *testing.T, url string, cred natsbus.Credential, out, instance string) *child {
	t.Helper()
	creds, _ := json.Marshal(map[string]natsbus.Credential{"orders": cred})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+instance, helperURLEnv+"="+url,
		helperCredsEnv+"="+string(creds), helperOutEnv+"="+out)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(c.kill)
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("child did not start")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child not ready")
	}
	return c
}

// kill sends SIGKILL and reaps the process.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// readIDs returns the ids recorded in file, with how often each appears.
func readIDs(t *testing.T, file string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" {
			ids[line]++
		}
	}
	return ids
}

// credOption logs in with a troupe credential.
func credOption(t testing.TB, c natsbus.Credential) nats.Option {
	t.Helper()
	opt, err := c.Option()
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

func newSeed(t testing.TB) string {
	t.Helper()
	seed, err := natsbus.NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// forgedNkey claims the public key of c but signs the server's nonce with
// another key.
func forgedNkey(t testing.TB, c natsbus.Credential) nats.Option {
	t.Helper()
	pub, err := natsbus.PublicKey(c.Seed)
	if err != nil {
		t.Fatal(err)
	}
	other, err := nkeys.FromSeed([]byte(newSeed(t)))
	if err != nil {
		t.Fatal(err)
	}
	return nats.Nkey(pub, other.Sign)
}
