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
	"github.com/troupe-go/troupe/host"
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
	gw := gatewayOf{a.Node, a.Server.URL}
	gw.keeps(t, u, 5)
	deleteToken(t, a, u)
	gw.refuses(t, u)
}

// TestEveryGatewayForgetsRevokedToken: two gateways on one NATS server (two
// nodes) each keep who ann's token belongs to, and each refuses it once the
// token is deleted: the gateways receive token.revoked as a broadcast, every
// instance, not one of them.
func TestEveryGatewayForgetsRevokedToken(t *testing.T) {
	a := apptest.Start(t, apptest.Options{NATS: true})
	second, srv := a.Gateway(t)
	u := a.SignUp(t, "ann")
	gws := []gatewayOf{{a.Node, a.Server.URL}, {second, srv.URL}}
	for _, gw := range gws {
		gw.keeps(t, u, 3)
	}
	deleteToken(t, a, u)
	for _, gw := range gws {
		gw.refuses(t, u)
	}
}

// gatewayOf is a node's gateway and the URL of its HTTP listener.
type gatewayOf struct {
	node *host.Node
	url  string
}

// status is the status of GET /api/lists with u's API token.
func (gw gatewayOf) status(t *testing.T, u *apptest.User) int {
	t.Helper()
	req, err := http.NewRequest("GET", gw.url+"/api/lists", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// keeps checks that n REST requests with u's token succeed and ask the
// node's bus account.authenticate once: the gateway keeps the answer.
func (gw gatewayOf) keeps(t *testing.T, u *apptest.User, n int) {
	t.Helper()
	asked := func() uint64 { return gw.node.Bus().Stats().Messages[todo.MsgAuthenticate].Sent }
	before := asked()
	for range n {
		if got := gw.status(t, u); got != http.StatusOK {
			t.Fatalf("GET %s/api/lists with %s's token: %d, want 200", gw.url, u.Name, got)
		}
	}
	if got := asked() - before; got != 1 {
		t.Errorf("%d REST requests to %s with one token asked account.authenticate %d times, want 1 (the gateway keeps the answer)", n, gw.url, got)
	}
}

// refuses waits until the gateway refuses u's token (401).
func (gw gatewayOf) refuses(t *testing.T, u *apptest.User) {
	t.Helper()
	// token.revoked is an event: the gateway may get it a moment after the
	// reply to token.delete.
	deadline := time.Now().Add(10 * time.Second)
	for gw.status(t, u) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted token is still accepted by %s 10 s after token.delete: the gateway's answer outlived its revocation", gw.url)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deleteToken deletes u's API token (apptest.SignUp made one) over the bus,
// as the web service does.
func deleteToken(t *testing.T, a *apptest.App, u *apptest.User) {
	t.Helper()
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
}
