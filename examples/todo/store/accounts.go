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
	// hashes to secret.
	CreateToken(ctx context.Context, user, name string, secret []byte) (Token, error)
	// TokenUser returns the user of the API token whose secret hashes to
	// secret, or a not_found error.
	TokenUser(ctx context.Context, secret []byte) (User, error)
	// Tokens returns the API tokens of user, oldest first.
	Tokens(ctx context.Context, user string) ([]Token, error)
	// DeleteToken deletes user's token id; not_found if user has no such
	// token.
	DeleteToken(ctx context.Context, user, id string) error

	// CreateListFor makes a list owned by user.
	CreateListFor(ctx context.Context, user, name string) (List, error)
	// ListsFor returns the lists user owns, then those shared with it,
	// each in the order they were created: the user's first list first.
	ListsFor(ctx context.Context, user string) ([]List, error)
	// ListFor returns list id if user owns it or it was shared with it,
	// else a not_found error (the same as for a list that does not exist).
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

// UserNotFound is the not_found error of an unknown user name.
func UserNotFound(name string) error {
	return troupe.Errorf(troupe.CodeNotFound, "user %q: not found", truncate(name, 40))
}

// ValidSecret reports whether a secret hash could be one: 32 bytes (a
// SHA-256).
func ValidSecret(h []byte) bool { return len(h) == 32 }
