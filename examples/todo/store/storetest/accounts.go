package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
)

// accountTests are the suite's tests of store.Accounts.
var accountTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Users", testUsers},
	{"Sessions", testSessions},
	{"Tokens", testTokens},
	{"Ownership", testOwnership},
	{"Sharing", testSharing},
	{"ListsForPages", testListsForPages},
	{"TokenLimit", testTokenLimit},
}

func secret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func mustUser(t testing.TB, s store.Store, name string) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), name, "hash of "+name)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s, " Ann ")
	if u.Name != "ann" || !troupe.ValidID(u.ID) || u.CreatedAt.IsZero() {
		t.Errorf("CreateUser = %+v, want name ann, an id and a time", u)
	}
	got, hash, err := s.UserByName(ctx, "ANN")
	if err != nil || got != u || hash != "hash of  Ann " {
		t.Errorf("UserByName(ANN) = %+v %q %v, want %+v and the hash", got, hash, err, u)
	}
	_, err = s.CreateUser(ctx, "ann", "x")
	wantCode(t, "CreateUser of a taken name", err, troupe.CodeConflict)
	for _, bad := range []string{"", "a", "-ann", "ann smith", "ånn", "a\x00b", string(make([]byte, store.MaxUserNameBytes+1))} {
		_, err := s.CreateUser(ctx, bad, "x")
		wantCode(t, "CreateUser("+bad+")", err, troupe.CodeBadRequest)
	}
	_, err = s.CreateUser(ctx, "bob", "")
	wantCode(t, "CreateUser without a hash", err, troupe.CodeBadRequest)
	_, _, err = s.UserByName(ctx, "nobody")
	wantCode(t, "UserByName(nobody)", err, troupe.CodeNotFound)
	_, _, err = s.UserByName(ctx, "not a name")
	wantCode(t, "UserByName(not a name)", err, troupe.CodeNotFound)
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "ann")
	if err := s.CreateSession(ctx, u.ID, secret("s1"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, u.ID, secret("old"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionUser(ctx, secret("s1")); err != nil || got != u {
		t.Errorf("SessionUser(s1) = %+v %v, want %+v", got, err, u)
	}
	_, err := s.SessionUser(ctx, secret("old"))
	wantCode(t, "SessionUser of an expired session", err, troupe.CodeNotFound)
	_, err = s.SessionUser(ctx, secret("never made"))
	wantCode(t, "SessionUser of an unknown session", err, troupe.CodeNotFound)
	_, err = s.SessionUser(ctx, []byte("short"))
	wantCode(t, "SessionUser of a malformed secret", err, troupe.CodeNotFound)
	if err := s.DeleteSession(ctx, secret("s1")); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionUser(ctx, secret("s1"))
	wantCode(t, "SessionUser after DeleteSession", err, troupe.CodeNotFound)
	if err := s.DeleteSession(ctx, secret("s1")); err != nil {
		t.Errorf("DeleteSession twice: %v", err)
	}
	err = s.CreateSession(ctx, u.ID, []byte("short"), time.Now().Add(time.Hour))
	wantCode(t, "CreateSession with a malformed secret", err, troupe.CodeBadRequest)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann, bob := mustUser(t, s, "ann"), mustUser(t, s, "bob")
	t1, err := s.CreateToken(ctx, ann.ID, " laptop ", secret("t1"))
	if err != nil || t1.Name != "laptop" || !troupe.ValidID(t1.ID) {
		t.Fatalf("CreateToken = %+v %v", t1, err)
	}
	t2, err := s.CreateToken(ctx, ann.ID, "ci", secret("t2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenUser(ctx, secret("t2")); err != nil || got != ann {
		t.Errorf("TokenUser(t2) = %+v %v, want ann", got, err)
	}
	_, err = s.TokenUser(ctx, secret("t3"))
	wantCode(t, "TokenUser of an unknown token", err, troupe.CodeNotFound)
	tks, err := s.Tokens(ctx, ann.ID)
	if err != nil || len(tks) != 2 || tks[0].ID != t1.ID || tks[1].ID != t2.ID {
		t.Errorf("Tokens(ann) = %+v %v, want t1, t2", tks, err)
	}
	if tks, err := s.Tokens(ctx, bob.ID); err != nil || len(tks) != 0 {
		t.Errorf("Tokens(bob) = %+v %v, want none", tks, err)
	}
	err = s.DeleteToken(ctx, bob.ID, t1.ID)
	wantCode(t, "DeleteToken of another user's token", err, troupe.CodeNotFound)
	if err := s.DeleteToken(ctx, ann.ID, t1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.TokenUser(ctx, secret("t1"))
	wantCode(t, "TokenUser of a deleted token", err, troupe.CodeNotFound)
	_, err = s.CreateToken(ctx, ann.ID, "  ", secret("t4"))
	wantCode(t, "CreateToken without a name", err, troupe.CodeBadRequest)
}

// listsFor returns the first page of the lists user may see.
func listsFor(s store.Store, user string) ([]store.List, error) {
	p, err := s.ListsFor(context.Background(), user, store.Page{})
	return p.Lists, err
}

// ids returns the ids of ls.
func ids(ls []store.List) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

func testOwnership(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann, bob := mustUser(t, s, "ann"), mustUser(t, s, "bob")
	annLists, err := listsFor(s, ann.ID)
	if err != nil || len(annLists) != 1 || annLists[0].Name != store.DefaultListName || annLists[0].Owner != ann.ID {
		t.Fatalf("ListsFor(ann) = %+v %v, want her first list", annLists, err)
	}
	work, err := s.CreateListFor(ctx, ann.ID, "Work")
	if err != nil || work.Owner != ann.ID {
		t.Fatalf("CreateListFor = %+v %v", work, err)
	}
	if got, err := listsFor(s, ann.ID); err != nil || !slices.Equal(ids(got), []string{annLists[0].ID, work.ID}) {
		t.Errorf("ListsFor(ann) = %v %v, want her two lists", ids(got), err)
	}
	if got, err := s.ListFor(ctx, ann.ID, work.ID); err != nil || got.ID != work.ID || got.Name != "Work" {
		t.Errorf("ListFor(ann, work) = %+v %v", got, err)
	}
	bobLists, err := listsFor(s, bob.ID)
	if err != nil || len(bobLists) != 1 || slices.Contains(ids(bobLists), work.ID) {
		t.Errorf("ListsFor(bob) = %v %v, want his own list only", ids(bobLists), err)
	}
	for _, id := range []string{work.ID, annLists[0].ID, store.DefaultListID, "nope"} {
		_, err := s.ListFor(ctx, bob.ID, id)
		wantCode(t, "ListFor(bob, "+id+")", err, troupe.CodeNotFound)
	}
	// Todos of a list stay where they are: the service asks ListFor first.
	// ListFor reads the list's change number, as GetList does.
	mustCreate(t, s, work.ID, "milk")
	if got, err := s.ListFor(ctx, ann.ID, work.ID); err != nil || got.Seq != 1 {
		t.Errorf("ListFor(ann, work) after a create: Seq %d %v, want 1", got.Seq, err)
	}
}

// testListsForPages: a user's lists come a page at a time, its own first
// (even when a list shared with it is older), each page after the one
// before, whatever the page size, and a bad page is a bad_request.
func testListsForPages(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann := mustUser(t, s, "ann")
	var older []string // ann's lists that she shares with bob, made before he exists
	for i := range 3 {
		l, err := s.CreateListFor(ctx, ann.ID, "shared "+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		older = append(older, l.ID)
	}
	bob := mustUser(t, s, "bob")
	for _, id := range older {
		if _, err := s.ShareList(ctx, ann.ID, id, "bob"); err != nil {
			t.Fatal(err)
		}
	}
	first, err := listsFor(s, bob.ID)
	if err != nil || len(first) != 4 {
		t.Fatalf("ListsFor(bob) = %v %v, want 4 lists", ids(first), err)
	}
	want := []string{first[0].ID}
	for range 2 {
		l, err := s.CreateListFor(ctx, bob.ID, "own")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, l.ID)
	}
	want = append(want, older...)
	if first[0].Owner != bob.ID {
		t.Errorf("ListsFor(bob)[0] is %+v, want his first list", first[0])
	}
	for limit := 1; limit <= 7; limit++ {
		var got []string
		p := store.Page{Limit: limit}
		for range 10 {
			page, err := s.ListsFor(ctx, bob.ID, p)
			if err != nil {
				t.Fatalf("ListsFor(bob, %+v): %v", p, err)
			}
			if len(page.Lists) > limit {
				t.Errorf("limit %d: a page of %d", limit, len(page.Lists))
			}
			got = append(got, ids(page.Lists)...)
			if page.Next == "" {
				break
			}
			p.Cursor = page.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages %v, want %v", limit, got, want)
		}
	}
	for _, p := range []store.Page{{Limit: -1}, {Limit: store.MaxLimit + 1}, {Cursor: "nope"}} {
		_, err := s.ListsFor(ctx, bob.ID, p)
		wantCode(t, "ListsFor with a bad page", err, troupe.CodeBadRequest)
	}
}

// testTokenLimit: a user has at most store.MaxTokens tokens, so that their
// list is one page; another user is not held back by it.
func testTokenLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann, bob := mustUser(t, s, "ann"), mustUser(t, s, "bob")
	for i := range store.MaxTokens {
		if _, err := s.CreateToken(ctx, ann.ID, "t", secret("ann "+string(rune('A'+i)))); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	_, err := s.CreateToken(ctx, ann.ID, "one more", secret("ann more"))
	wantCode(t, "CreateToken beyond MaxTokens", err, troupe.CodeConflict)
	if tks, err := s.Tokens(ctx, ann.ID); err != nil || len(tks) != store.MaxTokens {
		t.Errorf("Tokens(ann): %d %v, want %d", len(tks), err, store.MaxTokens)
	}
	if _, err := s.CreateToken(ctx, bob.ID, "t", secret("bob")); err != nil {
		t.Errorf("bob's first token: %v", err)
	}
}

func testSharing(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann, bob, cy := mustUser(t, s, "ann"), mustUser(t, s, "bob"), mustUser(t, s, "cy")
	work, err := s.CreateListFor(ctx, ann.ID, "Work")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ShareList(ctx, ann.ID, work.ID, "BOB")
	if err != nil || got != bob {
		t.Fatalf("ShareList(bob) = %+v %v, want bob", got, err)
	}
	if _, err := s.ShareList(ctx, ann.ID, work.ID, "bob"); err != nil {
		t.Errorf("ShareList twice: %v", err)
	}
	if l, err := s.ListFor(ctx, bob.ID, work.ID); err != nil || l.Owner != ann.ID {
		t.Errorf("ListFor(bob, work) after sharing = %+v %v", l, err)
	}
	bobs, err := listsFor(s, bob.ID)
	if err != nil || len(bobs) != 2 || bobs[0].Owner != bob.ID || bobs[1].ID != work.ID {
		t.Errorf("ListsFor(bob) = %v %v, want his own first, then work", ids(bobs), err)
	}
	_, err = s.ListFor(ctx, cy.ID, work.ID)
	wantCode(t, "ListFor(cy, work)", err, troupe.CodeNotFound)
	// A create for a user checks the list as ListFor does, and one the
	// user may not see makes nothing, not even a change number.
	for _, u := range []store.User{ann, bob} {
		if td, err := s.Create(ctx, store.NewTodo{ListID: work.ID, Title: "for " + u.Name, User: u.ID}); err != nil || td.ListID != work.ID {
			t.Errorf("Create for %s = %+v %v", u.Name, td, err)
		}
	}
	before, err := s.GetList(ctx, work.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ list, user string }{{work.ID, cy.ID}, {store.DefaultListID, cy.ID}, {work.ID, "nobody"}} {
		_, err := s.Create(ctx, store.NewTodo{ListID: c.list, Title: "not mine", User: c.user, IdempotencyKey: "k-" + c.user})
		wantCode(t, "Create for a user who may not see the list", err, troupe.CodeNotFound)
	}
	if after, err := s.GetList(ctx, work.ID); err != nil || after.Seq != before.Seq {
		t.Errorf("the list's change number after refused creates: %d %v, want %d", after.Seq, err, before.Seq)
	}
	if l, err := s.List(ctx, work.ID, store.FilterAll, store.Page{}); err != nil || l.Counts.Total != 2 {
		t.Errorf("work holds %d todos %v, want the 2 created for ann and bob", l.Counts.Total, err)
	}
	// Only the owner shares.
	_, err = s.ShareList(ctx, bob.ID, work.ID, "cy")
	wantCode(t, "ShareList by a user it was shared with", err, troupe.CodeNotFound)
	_, err = s.ShareList(ctx, cy.ID, work.ID, "cy")
	wantCode(t, "ShareList by another user", err, troupe.CodeNotFound)
	_, err = s.ShareList(ctx, ann.ID, work.ID, "nobody")
	wantCode(t, "ShareList with nobody", err, troupe.CodeNotFound)
	_, err = s.ShareList(ctx, ann.ID, "nope", "bob")
	wantCode(t, "ShareList of no list", err, troupe.CodeNotFound)
	if _, err := s.ShareList(ctx, ann.ID, work.ID, "ann"); err != nil {
		t.Errorf("ShareList with the owner herself: %v", err)
	}
}
