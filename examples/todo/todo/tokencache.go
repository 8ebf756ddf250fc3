package todo

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/troupe-go/troupe/examples/todo/store"
)

// DefaultTokenCacheFor is how long an instance answers who an API token
// belongs to from memory when Options.TokenCacheFor is zero.
const DefaultTokenCacheFor = time.Minute

// maxCachedTokens bounds the token cache; a full cache is emptied and
// starts over.
const maxCachedTokens = 10_000

// tokenCache remembers, for each API token it was asked about, whom the
// store said it belongs to, so that a REST request asks the store nothing
// for its token. Entries are keyed by the token's SHA-256 (the token
// itself is never kept), hold only successful answers (an unknown token is
// asked about every time), and live at most ttl, the backstop if a
// token.revoked event is lost. Sessions are not cached: they end by time,
// and logging out must end one at once.
//
// Revocation drops all the entries of a user (forget): at once on the
// instance that deleted the token, and on the others when its token.revoked
// broadcast reaches them. An answer the store gave before a revocation must
// not be kept after it: gen counts the revocations, get reports it on a
// miss, before the store is asked, and put keeps the answer only if it has
// not changed since. One counter serves every user: revocations are rare,
// and an answer about another user that one overlaps merely goes uncached.
//
// A nil *tokenCache caches nothing.
type tokenCache struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cachedUser
	gen     uint64
}

type cachedUser struct {
	user    store.User
	expires time.Time
}

// newTokenCache returns a cache whose entries live ttl; nil if ttl is not
// positive.
func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl <= 0 {
		return nil
	}
	return &tokenCache{ttl: ttl, entries: map[[sha256.Size]byte]cachedUser{}}
}

// get returns the user of the token whose SHA-256 is key and true, or, if
// it has no live entry, the generation to give put with the store's answer.
func (c *tokenCache) get(key [sha256.Size]byte) (u store.User, gen uint64, ok bool) {
	if c == nil {
		return store.User{}, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && time.Now().Before(e.expires) {
		return e.user, 0, true
	}
	if ok {
		delete(c.entries, key)
	}
	return store.User{}, c.gen, false
}

// put keeps u as the user of the token whose SHA-256 is key, unless a
// revocation was handled since get returned gen.
func (c *tokenCache) put(key [sha256.Size]byte, u store.User, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[key] = cachedUser{user: u, expires: time.Now().Add(c.ttl)}
}

// forget drops every entry of user: one of its tokens was deleted.
func (c *tokenCache) forget(user string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if e.user.ID == user {
			delete(c.entries, k)
		}
	}
}
