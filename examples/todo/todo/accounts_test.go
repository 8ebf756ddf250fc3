package todo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

func TestPasswords(t *testing.T) {
	h, err := todo.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the parameters", h)
	}
	h2, _ := todo.HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tt := range []struct {
		hash, password string
		want           bool
	}{
		{h, "correct horse", true},
		{h, "correct horsf", false},
		{h, "", false},
		{"$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "x", false},
		{"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA", "x", false}, // no 100 GB pass
		{"not a hash", "x", false},
	} {
		if got := todo.CheckPassword(tt.hash, tt.password); got != tt.want {
			t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.hash, tt.password, got, tt.want)
		}
	}
	for _, bad := range []string{"short", strings.Repeat("x", todo.MaxPasswordLen+1)} {
		if _, err := todo.HashPassword(bad); !errors.Is(err, troupe.ErrBadRequest) {
			t.Errorf("HashPassword of %d bytes: %v, want bad_request", len(bad), err)
		}
	}
}

func TestAccounts(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	c := a.Client
	ctx := context.Background()
	ann := a.SignUp(t, "ann")
	wantCode := func(what string, err error, code troupe.Code) {
		t.Helper()
		if troupe.CodeOf(err) != code {
			t.Errorf("%s: %v, want %s", what, err, code)
		}
	}
	_, err := c.Request(ctx, todo.MsgSignUp, todo.Credentials{Name: "ANN", Password: apptest.Password})
	wantCode("sign up a taken name", err, troupe.CodeConflict)
	_, err = c.Request(ctx, todo.MsgSignUp, todo.Credentials{Name: "bob", Password: "short"})
	wantCode("sign up with a short password", err, troupe.CodeBadRequest)
	_, err = c.Request(ctx, todo.MsgLogin, todo.Credentials{Name: "ann", Password: "wrong password"})
	wantCode("log in with a wrong password", err, troupe.CodeForbidden)
	var wrongName *troupe.Error
	_, err = c.Request(ctx, todo.MsgLogin, todo.Credentials{Name: "nobody", Password: "wrong password"})
	if !errors.As(err, &wrongName) || wrongName.Code != troupe.CodeForbidden || !strings.Contains(wrongName.Msg, "name or the password") {
		t.Errorf("log in as nobody: %v, want the same forbidden as a wrong password", err)
	}

	who := func(token, kind string) (troupe.Principal, error) {
		return request[troupe.Principal](t, c, todo.MsgAuthenticate, todo.TokenOf{Token: token, Kind: kind})
	}
	if p, err := who(ann.Session, "session"); err != nil || p.ID != ann.ID || p.Name != "ann" || !p.HasRole(todo.RoleUser) {
		t.Errorf("authenticate the session = %+v %v", p, err)
	}
	if p, err := who(ann.Token, "bearer"); err != nil || p.ID != ann.ID {
		t.Errorf("authenticate the API token = %+v %v", p, err)
	}
	_, err = who(ann.Session, "bearer")
	wantCode("a session as an API token", err, troupe.CodeNotFound)
	_, err = who(ann.Token, "session")
	wantCode("an API token as a session", err, troupe.CodeNotFound)
	_, err = who("guess", "bearer")
	wantCode("a guessed token", err, troupe.CodeNotFound)

	// Tokens: listed without their secrets, deleted for good.
	tks, err := request[todo.Tokens](t, asUser{c, ann}, todo.MsgTokens, struct{}{})
	if err != nil || len(tks.Tokens) != 1 || tks.Tokens[0].Name != "test" {
		t.Fatalf("token.list = %+v %v", tks, err)
	}
	if _, err := request[todo.TokenRef](t, asUser{c, ann}, todo.MsgTokenDelete, todo.TokenRef{ID: tks.Tokens[0].ID}); err != nil {
		t.Fatal(err)
	}
	_, err = who(ann.Token, "bearer")
	wantCode("a deleted API token", err, troupe.CodeNotFound)

	// Logging out ends the session.
	if _, err := c.Request(ctx, todo.MsgLogout, todo.SessionRef{Token: ann.Session}); err != nil {
		t.Fatal(err)
	}
	_, err = who(ann.Session, "session")
	wantCode("a session after logging out", err, troupe.CodeNotFound)

	// Without a user, the bus refuses what needs one, at once.
	for _, name := range []string{todo.MsgListAll, todo.MsgTokens} {
		_, err := c.Request(ctx, name, struct{}{})
		wantCode(name+" without a user", err, troupe.CodeForbidden)
	}
}

// TestListsBelongToTheirOwner: another user's list does not exist for a
// user, whatever the request, until its owner shares it with them.
func TestListsBelongToTheirOwner(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	annC, ann := as(t, a, "ann")
	bobC, bob := as(t, a, "bob")
	cyC, _ := as(t, a, "cy")
	milk, err := request[store.Todo](t, annC, todo.MsgCreate, todo.CreateTodo{List: ann.List, Title: "milk"})
	if err != nil {
		t.Fatal(err)
	}
	title, done := "renamed", todo.Bool(true)
	attempts := map[string]any{
		todo.MsgList:   todo.ListTodos{List: ann.List},
		todo.MsgGet:    todo.TodoRef{List: ann.List, ID: milk.ID},
		todo.MsgCreate: todo.CreateTodo{List: ann.List, Title: "from bob"},
		todo.MsgUpdate: todo.UpdateTodo{List: ann.List, ID: milk.ID, Title: &title, Completed: &done},
		todo.MsgDelete: todo.TodoRef{List: ann.List, ID: milk.ID},
		todo.MsgClear:  todo.ClearTodos{List: ann.List, Completed: true},
		// A todo of ann's named through bob's own list.
		todo.MsgGet + " via his list": todo.TodoRef{List: bob.List, ID: milk.ID},
	}
	for name, req := range attempts {
		msg, _, _ := strings.Cut(name, " ")
		if _, err := bobC.Request(context.Background(), msg, req); !errors.Is(err, troupe.ErrNotFound) {
			t.Errorf("bob's %s on ann's list: %v, want not_found", name, err)
		}
	}
	lists, err := request[todo.Lists](t, bobC, todo.MsgListAll, struct{}{})
	if err != nil || len(lists.Lists) != 1 || lists.Lists[0].ID != bob.List {
		t.Errorf("bob's lists = %+v %v, want only his own", lists, err)
	}
	_, err = bobC.Request(context.Background(), todo.MsgListShare, todo.ShareList{List: ann.List, User: "bob"})
	if !errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("bob shares ann's list with himself: %v, want not_found", err)
	}
	if got, err := request[store.Todo](t, annC, todo.MsgGet, todo.TodoRef{List: ann.List, ID: milk.ID}); err != nil || got.Title != "milk" {
		t.Fatalf("ann's todo after bob's attempts = %+v %v, want it unchanged", got, err)
	}

	// Shared with bob by name: he sees it and changes it; cy still does not.
	sh, err := request[todo.Shared](t, annC, todo.MsgListShare, todo.ShareList{List: ann.List, User: "Bob"})
	if err != nil || sh.User.ID != bob.ID {
		t.Fatalf("share with bob = %+v %v", sh, err)
	}
	if _, err := request[store.Todo](t, bobC, todo.MsgCreate, todo.CreateTodo{List: ann.List, Title: "from bob"}); err != nil {
		t.Errorf("bob adds to the shared list: %v", err)
	}
	if lst, err := request[todo.Listing](t, annC, todo.MsgList, todo.ListTodos{List: ann.List}); err != nil || len(lst.Todos) != 2 {
		t.Errorf("ann's listing after bob's add = %d todos %v, want 2", len(lst.Todos), err)
	}
	if _, err := cyC.Request(context.Background(), todo.MsgList, todo.ListTodos{List: ann.List}); !errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("cy lists ann's list: %v, want not_found", err)
	}
	_, err = annC.Request(context.Background(), todo.MsgListShare, todo.ShareList{List: ann.List, User: "nobody"})
	if !errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("share with nobody: %v, want not_found", err)
	}
}
