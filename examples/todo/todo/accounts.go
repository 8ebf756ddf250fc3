package todo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/service"
)

// Accounts (docs/todo.md, "Accounts"): users sign up and log in with a
// password, which the service keeps as an argon2id hash; a login opens a
// session, whose token the web service keeps in a cookie; a user makes API
// tokens for the REST API. The gateway and the web service ask
// account.authenticate who a token belongs to. The store keeps only hashes
// of session and API tokens. The service keeps no answers: the gateway
// does (the manifest's gateway revoked, docs/gateway.md), and deleting a
// token publishes token.revoked, on which every gateway drops its user's.

// The requests of accounts.
const (
	MsgSignUp       = "account.create"
	MsgLogin        = "account.login"
	MsgLogout       = "account.logout"
	MsgAuthenticate = "account.authenticate"
	MsgTokenCreate  = "token.create"
	MsgTokens       = "token.list"
	MsgTokenDelete  = "token.delete"
	MsgListShare    = "list.share"
)

// Their replies.
const (
	ReplyAccount      = "account"
	ReplySession      = "session"
	ReplyLoggedOut    = "logged.out"
	ReplyPrincipal    = "principal"
	ReplyToken        = "token"
	ReplyTokens       = "tokens"
	ReplyTokenDeleted = "token.deleted"
	ReplyShared       = "list.shared"
)

// The endpoints of accounts.
var (
	SignUp       = service.Endpoint[Credentials, store.User]{Name: MsgSignUp, Reply: ReplyAccount}
	Login        = service.Endpoint[Credentials, Session]{Name: MsgLogin, Reply: ReplySession}
	Logout       = service.Endpoint[SessionRef, struct{}]{Name: MsgLogout, Reply: ReplyLoggedOut}
	Authenticate = service.Endpoint[TokenOf, troupe.Principal]{Name: MsgAuthenticate, Reply: ReplyPrincipal}
	TokenCreate  = service.Endpoint[CreateToken, NewToken]{Name: MsgTokenCreate, Reply: ReplyToken}
	TokenList    = service.Endpoint[struct{}, Tokens]{Name: MsgTokens, Reply: ReplyTokens}
	TokenDelete  = service.Endpoint[TokenRef, TokenRef]{Name: MsgTokenDelete, Reply: ReplyTokenDeleted}
	ListShare    = service.Endpoint[ShareList, Shared]{Name: MsgListShare, Reply: ReplyShared}
)

// The event of accounts: one of the user's API tokens was deleted. It is
// the manifest's gateway revoked, which every gateway instance receives
// (a broadcast) to drop what it kept of who the user's tokens belong to.
const EventTokenRevoked = "token.revoked"

// TokenRevoked is the event token.revoked.
var TokenRevoked = service.Event[Revoked]{Name: EventTokenRevoked}

// AccountReceives lists the requests of accounts, for the manifest.
var AccountReceives = []string{MsgSignUp, MsgLogin, MsgLogout, MsgAuthenticate, MsgTokenCreate, MsgTokens, MsgTokenDelete, MsgListShare}

// Credentials are a user's name and password: account.create and
// account.login.
type Credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// Session is the reply to account.login: the session's token (the web
// service's cookie), whom it is for and until when.
type Session struct {
	Token   string     `json:"token"`
	User    store.User `json:"user"`
	Expires time.Time  `json:"expires"`
}

// SessionRef names the session to end: account.logout.
type SessionRef struct {
	Token string `json:"token"`
}

// TokenOf carries the credentials to authenticate (account.authenticate),
// with Kind "session" or "bearer", as gateway.BusAuthenticator sends them.
type TokenOf struct {
	Token string `json:"token"`
	Kind  string `json:"kind,omitempty"`
}

// CreateToken is the request token.create: a name the user gives the token.
type CreateToken struct {
	Name string `json:"name"`
}

// NewToken is the reply to token.create: the token and its secret, which is
// shown this once.
type NewToken struct {
	store.Token
	Secret string `json:"secret"`
}

// Tokens is the reply to token.list.
type Tokens struct {
	Tokens []store.Token `json:"tokens"`
}

// TokenRef names a token: token.delete.
type TokenRef struct {
	ID string `json:"id"`
}

// Revoked is the event token.revoked: one of User's API tokens was
// deleted. It names the user only, never a token or its hash.
type Revoked struct {
	User string `json:"user"`
}

// ShareList is the request list.share: let the user named User see and
// change List.
type ShareList struct {
	List string `json:"list"`
	User string `json:"user"`
}

// Shared is the reply to list.share.
type Shared struct {
	List string     `json:"list"`
	User store.User `json:"user"`
}

// Password limits.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256 // bytes: an argon2id pass over a longer one is a denial of service
)

// SessionTTL is how long a session lasts.
const SessionTTL = 30 * 24 * time.Hour

// RoleUser is the role every user has.
const RoleUser = "user"

// argon2id parameters: OWASP's minimum (19 MiB, two passes, one lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns the argon2id hash of password in the PHC string
// form ("$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH") with a new random salt.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLen {
		return "", troupe.Errorf(troupe.CodeBadRequest, "password: must be at least %d characters", MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return "", troupe.Errorf(troupe.CodeBadRequest, "password: must be at most %d bytes", MaxPasswordLen)
	}
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash (HashPassword's
// form, with the parameters it names), in constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 || len(password) > MaxPasswordLen {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when a name is unknown, so that a login
// takes as long whether or not the user exists.
var dummyHash, _ = HashPassword("no user has this password")

// newSecret returns a new token and the hash the store keeps of it.
func newSecret() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashSecret(token)
}

func hashSecret(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// errLogin is the answer to any failed login: which of name and password
// was wrong is not said.
var errLogin = troupe.Errorf(troupe.CodeForbidden, "the name or the password is wrong")

// principalOf is the principal of a user.
func principalOf(u store.User) troupe.Principal {
	return troupe.Principal{ID: u.ID, Name: u.Name, Roles: []string{RoleUser}}
}

func (t *server) signUp(ctx context.Context, req Credentials) (store.User, error) {
	hash, err := HashPassword(req.Password)
	if err != nil {
		return store.User{}, err
	}
	return t.st.CreateUser(ctx, req.Name, hash)
}

func (t *server) login(ctx context.Context, req Credentials) (Session, error) {
	u, hash, err := t.st.UserByName(ctx, req.Name)
	if errors.Is(err, troupe.ErrNotFound) {
		CheckPassword(dummyHash, req.Password)
		return Session{}, errLogin
	}
	if err != nil {
		return Session{}, err
	}
	if !CheckPassword(hash, req.Password) {
		return Session{}, errLogin
	}
	token, secret := newSecret()
	expires := store.Now().Add(SessionTTL)
	if err := t.st.CreateSession(ctx, u.ID, secret, expires); err != nil {
		return Session{}, err
	}
	return Session{Token: token, User: u, Expires: expires}, nil
}

func (t *server) logout(ctx context.Context, req SessionRef) (struct{}, error) {
	return struct{}{}, t.st.DeleteSession(ctx, hashSecret(req.Token))
}

func (t *server) authenticate(ctx context.Context, req TokenOf) (troupe.Principal, error) {
	var (
		u   store.User
		err error
	)
	switch req.Kind {
	case "session":
		u, err = t.st.SessionUser(ctx, hashSecret(req.Token))
	case "bearer", "":
		u, err = t.st.TokenUser(ctx, hashSecret(req.Token))
	default:
		return troupe.Principal{}, troupe.Errorf(troupe.CodeBadRequest, "kind: want session or bearer")
	}
	if err != nil {
		return troupe.Principal{}, err
	}
	return principalOf(u), nil
}

func (t *server) tokenCreate(ctx context.Context, req CreateToken) (NewToken, error) {
	p, err := service.Principal(ctx)
	if err != nil {
		return NewToken{}, err
	}
	secret, hash := newSecret()
	tk, err := t.st.CreateToken(ctx, p.ID, req.Name, hash)
	if err != nil {
		return NewToken{}, err
	}
	return NewToken{Token: tk, Secret: secret}, nil
}

func (t *server) tokenList(ctx context.Context, _ struct{}) (Tokens, error) {
	p, err := service.Principal(ctx)
	if err != nil {
		return Tokens{}, err
	}
	tks, err := t.st.Tokens(ctx, p.ID)
	return Tokens{Tokens: tks}, err
}

func (t *server) tokenDelete(ctx context.Context, req TokenRef) (TokenRef, error) {
	p, err := service.Principal(ctx)
	if err != nil {
		return TokenRef{}, err
	}
	if err := t.st.DeleteToken(ctx, p.ID, req.ID); err != nil {
		return TokenRef{}, err
	}
	// The store refuses it at once; every gateway drops what it kept of
	// the user's tokens when the event reaches it.
	if err := TokenRevoked.Publish(context.WithoutCancel(ctx), t.svc, Revoked{User: p.ID}); err != nil {
		t.log.Warn("todo: publish failed", "event", EventTokenRevoked, "user", p.ID, "err", err)
	}
	return req, nil
}

func (t *server) listShare(ctx context.Context, req ShareList) (Shared, error) {
	p, err := service.Principal(ctx)
	if err != nil {
		return Shared{}, err
	}
	u, err := t.st.ShareList(ctx, p.ID, req.List, req.User)
	if err != nil {
		return Shared{}, err
	}
	if l, err := t.st.ListFor(ctx, u.ID, req.List); err == nil && u.ID != p.ID {
		// The user it is shared with sees it appear in their open pages.
		t.publish(ctx, ListCreated, Event{Kind: KindListShared, List: l.ID, Epoch: t.st.Epoch(), ListInfo: &l, User: u.ID})
	}
	return Shared{List: req.List, User: u}, nil
}

// user returns the principal of ctx's message.
func user(ctx context.Context) (*troupe.Principal, error) { return service.Principal(ctx) }
