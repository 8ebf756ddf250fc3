package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

// TestGatewayForgetsRevokedToken: the manifest names token.revoked as the
// gateway's revoked event, so the node's gateway keeps who an API token
// belongs to (one account.authenticate for many REST requests), and once
// the token is deleted — the todo service publishes token.revoked, every
// gateway receives it — refuses it (401), well before the minute it keeps
// an answer.
//
// On NATS the gateway receives the event with its own credentials, which
// permit it from what the manifest declares.
func TestGatewayForgetsRevokedToken(t *testing.T) {
	for _, onNATS := range []bool{false, true} {
		name := "inproc"
		if onNATS {
			name = "nats"
		}
		t.Run(name, func(t *testing.T) { testGatewayForgetsRevokedToken(t, onNATS) })
	}
}

func testGatewayForgetsRevokedToken(t *testing.T, onNATS bool) {
	a := apptest.Start(t, apptest.Options{NATS: onNATS})
	u := a.SignUp(t, "ann")
	asked := func() uint64 { return a.Node.Bus().Stats().Messages[todo.MsgAuthenticate].Sent }
	status := func() int {
		t.Helper()
		res := a.Do(t, u, "GET", "/api/lists", "")
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	before := asked()
	for range 5 {
		if got := status(); got != http.StatusOK {
			t.Fatalf("GET /api/lists with ann's token: %d, want 200", got)
		}
	}
	if n := asked() - before; n != 1 {
		t.Errorf("5 REST requests with one token asked account.authenticate %d times, want 1 (the gateway keeps the answer)", n)
	}

	ctx := u.Ctx(context.Background())
	env, err := a.Client.Request(ctx, todo.MsgTokens, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	var tks todo.Tokens
	if err := json.Unmarshal(env.Payload, &tks); err != nil || len(tks.Tokens) != 1 {
		t.Fatalf("token.list = %s %v, want one token", env.Payload, err)
	}
	if _, err := a.Client.Request(ctx, todo.MsgTokenDelete, todo.TokenRef{ID: tks.Tokens[0].ID}); err != nil {
		t.Fatal(err)
	}
	// token.revoked is an event: the gateway may get it a moment after the
	// reply to token.delete.
	deadline := time.Now().Add(10 * time.Second)
	for status() != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("the deleted token is still accepted 10 s after token.delete: the gateway's answer outlived its revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
