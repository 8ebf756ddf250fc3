package store

import (
	"context"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
)

// A User is an account of the todo app.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"` // what the user logs in with: lower case, unique
	CreatedAt time.Time `json:"createdAt"`
}

// A Token is an API token of a user, as its list shows it: the secret
// itself is shown once, when it is made, and never kept (the store keeps
// its hash).
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"` // what the user called it
	CreatedAt time.Time `json:"createdAt"`
}

// Limits on accounts.
const (
	MinUserNameBytes = 2
	MaxUserNameBytes = 32
	MaxTokenName     = 100 // runes
	// MaxTokens is how many API tokens a user may have at once, so that
	// their list (Accounts.Tokens) is one bounded page.
	MaxTokens = 50
)

// Accounts keeps the app's users, their sessions and API tokens, and who may
// see which list: a list belongs to the user who made it and to those its
// owner shared it with; everyone else is told it does not exist.
//
// Secrets (session and API tokens) are given to the store as hashes: the
// database never holds one that would let its reader log in. Passwords are
// given as the encoded result of a password hash function (the todo
// service uses argon2id).
type Accounts interface {
	// CreateUser makes a user named name (NormalizeUserName) with the
	// password hash hash; a conflict error if the name is taken. The
	// user gets a first list of its own, named DefaultListName.
	CreateUser(ctx context.Context, name, hash string) (User, error)
	// UserByName returns the user named name and its password hash, or a
	// not_found error.
	UserByName(ctx context.Context, name string) (User, string, error)

	// CreateSession records a session of user whose secret hashes to
	// secret, valid until expires.
	CreateSession(ctx context.Context, user string, secret []byte, expires time.Time) error
	// SessionUser returns the user of the session whose secret hashes to
	// secret, or a not_found error when there is none or it expired.
	SessionUser(ctx context.Context, secret []byte) (User, error)
	// DeleteSession ends a session (no error if there is none).
	DeleteSession(ctx context.Context, secret []byte) error

	// CreateToken records an API token of user named name whose secret
	// hashes to secret; a conflict error if user has MaxTokens already.
	CreateToken(ctx context.Context, user, name string, secret []byte) (Token, error)
	// TokenUser returns the user of the API token whose secret hashes to
	// secret, or a not_found error.
	TokenUser(ctx context.Context, secret []byte) (User, error)
	// Tokens returns the API tokens of user, oldest first: at most
	// MaxTokens, so one page.
	Tokens(ctx context.Context, user string) ([]Token, error)
	// DeleteToken deletes user's token id; not_found if user has no such
	// token.
	DeleteToken(ctx context.Context, user, id string) error

	// CreateListFor makes a list owned by user.
	CreateListFor(ctx context.Context, user, name string) (List, error)
	// ListsFor returns one page of the lists user may see: those it owns,
	// then those shared with it, each in the order they were created, so
	// that the user's first list comes first. Its cursors are those of
	// Lists (CheckPage), each page costs the same however deep it is.
	ListsFor(ctx context.Context, user string, p Page) (ListsPage, error)
	// ListFor returns list id, with its change number (List.Seq), if user
	// owns it or it was shared with it, else a not_found error (the same
	// as for a list that does not exist).
	ListFor(ctx context.Context, user, id string) (List, error)
	// ShareList lets the user named with see and change list id, which
	// owner must own (else not_found); sharing twice is no error.
	ShareList(ctx context.Context, owner, id, with string) (User, error)
}

// NormalizeUserName returns the name a user logs in with as it is stored:
// trimmed and in lower case. It must be MinUserNameBytes to
// MaxUserNameBytes of ASCII letters, digits, '.', '_' and '-', starting
// with a letter or digit; anything else is a bad_request error.
func NormalizeUserName(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < MinUserNameBytes || len(s) > MaxUserNameBytes {
		return "", troupe.Errorf(troupe.CodeBadRequest, "name: must be %d to %d characters", MinUserNameBytes, MaxUserNameBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return "", troupe.Errorf(troupe.CodeBadRequest, "name: use letters, digits, '.', '_' and '-', starting with a letter or digit")
		}
	}
	return s, nil
}

// NormalizeTokenName is NormalizeTitle for token names, which may be at
// most MaxTokenName runes long.
func NormalizeTokenName(s string) (string, error) {
	return normalizeText("name", s, MaxTokenName)
}

// SharedFrom is where the positions of the lists shared with a user start
// in ListsFor's cursors: a position below it is a row of the user's own
// lists, one above it SharedFrom plus a row of those shared with it.
// Implementations of Accounts use it.
const SharedFrom = int64(1) << 62

// TooManyTokens is the conflict error of a user's MaxTokens+1st token.
func TooManyTokens() error {
	return troupe.Errorf(troupe.CodeConflict, "tokens: a user may have at most %d; delete one first", MaxTokens)
}

// UserNotFound is the not_found error of an unknown user name.
func UserNotFound(name string) error {
	return troupe.Errorf(troupe.CodeNotFound, "user %q: not found", truncate(name, 40))
}

// ValidSecret reports whether a secret hash could be one: 32 bytes (a
// SHA-256).
func ValidSecret(h []byte) bool { return len(h) == 32 }
