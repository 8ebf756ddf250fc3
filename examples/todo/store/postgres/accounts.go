package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
)

// The accounts of store.Accounts (migration 0004).

// CreateUser makes a user and its first list.
func (s *Store) CreateUser(ctx context.Context, name, hash string) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	name, err := store.NormalizeUserName(name)
	if err != nil {
		return store.User{}, err
	}
	if hash == "" {
		return store.User{}, troupe.Errorf(troupe.CodeBadRequest, "password: no hash")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.User{}, s.wrap("create user", err)
	}
	defer tx.Rollback(context.Background())
	u := store.User{ID: troupe.NewID(), Name: name, CreatedAt: store.Now()}
	tag, err := tx.Exec(ctx, `INSERT INTO users (id, name, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
		u.ID, u.Name, hash, u.CreatedAt)
	if err != nil {
		return store.User{}, s.wrap("create user", err)
	}
	if tag.RowsAffected() == 0 {
		return store.User{}, troupe.Errorf(troupe.CodeConflict, "name %q is taken", name)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO lists (id, name, created_at, owner) VALUES ($1, $2, $3, $4)`,
		troupe.NewID(), store.DefaultListName, u.CreatedAt, u.ID); err != nil {
		return store.User{}, s.wrap("create user", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.User{}, s.wrap("create user", err)
	}
	return u, nil
}

func scanUser(row pgx.Row, extra ...any) (store.User, error) {
	var u store.User
	err := row.Scan(append([]any{&u.ID, &u.Name, &u.CreatedAt}, extra...)...)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// UserByName returns a user and its password hash.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, string, error) {
	if err := s.check(); err != nil {
		return store.User{}, "", err
	}
	n, err := store.NormalizeUserName(name)
	if err != nil {
		return store.User{}, "", store.UserNotFound(name)
	}
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT id, name, created_at, password_hash FROM users WHERE name = $1`, n), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, "", store.UserNotFound(name)
	} else if err != nil {
		return store.User{}, "", s.wrap("user", err)
	}
	return u, hash, nil
}

// CreateSession records a session.
func (s *Store) CreateSession(ctx context.Context, user string, secret []byte, expires time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if !store.ValidSecret(secret) {
		return troupe.Errorf(troupe.CodeBadRequest, "session: malformed secret hash")
	}
	// Expired sessions go as new ones come.
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2`, user, store.Now()); err != nil {
		return s.wrap("create session", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (secret_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
		secret, user, expires.UTC()); err != nil {
		return s.wrap("create session", err)
	}
	return nil
}

var errNoSession = troupe.Errorf(troupe.CodeNotFound, "no such session")

// SessionUser returns the user of a session that has not expired.
func (s *Store) SessionUser(ctx context.Context, secret []byte) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	if !store.ValidSecret(secret) {
		return store.User{}, errNoSession
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT u.id, u.name, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.secret_hash = $1 AND s.expires_at > $2`, secret, store.Now()))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, errNoSession
	} else if err != nil {
		return store.User{}, s.wrap("session", err)
	}
	return u, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, secret []byte) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE secret_hash = $1`, secret); err != nil {
		return s.wrap("delete session", err)
	}
	return nil
}

// CreateToken records an API token.
func (s *Store) CreateToken(ctx context.Context, user, name string, secret []byte) (store.Token, error) {
	if err := s.check(); err != nil {
		return store.Token{}, err
	}
	name, err := store.NormalizeTokenName(name)
	if err != nil {
		return store.Token{}, err
	}
	if !store.ValidSecret(secret) {
		return store.Token{}, troupe.Errorf(troupe.CodeBadRequest, "token: malformed secret hash")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.Token{}, s.wrap("create token", err)
	}
	defer tx.Rollback(context.Background())
	// The user's row, locked, orders the user's token creations: the count
	// below is exact.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, user); err != nil {
		return store.Token{}, s.wrap("create token", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE user_id = $1`, user).Scan(&n); err != nil {
		return store.Token{}, s.wrap("create token", err)
	} else if n >= store.MaxTokens {
		return store.Token{}, store.TooManyTokens()
	}
	tk := store.Token{ID: troupe.NewID(), Name: name, CreatedAt: store.Now()}
	if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		tk.ID, user, tk.Name, secret, tk.CreatedAt); err != nil {
		return store.Token{}, s.wrap("create token", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Token{}, s.wrap("create token", err)
	}
	return tk, nil
}

var errNoToken = troupe.Errorf(troupe.CodeNotFound, "no such token")

// TokenUser returns the user of an API token.
func (s *Store) TokenUser(ctx context.Context, secret []byte) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	if !store.ValidSecret(secret) {
		return store.User{}, errNoToken
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT u.id, u.name, u.created_at FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.secret_hash = $1`, secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, errNoToken
	} else if err != nil {
		return store.User{}, s.wrap("token", err)
	}
	return u, nil
}

// Tokens returns a user's API tokens.
func (s *Store) Tokens(ctx context.Context, user string) ([]store.Token, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at FROM api_tokens WHERE user_id = $1 ORDER BY seq`, user)
	if err != nil {
		return nil, s.wrap("tokens", err)
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		var tk store.Token
		if err := rows.Scan(&tk.ID, &tk.Name, &tk.CreatedAt); err != nil {
			return nil, s.wrap("tokens", err)
		}
		tk.CreatedAt = tk.CreatedAt.UTC()
		out = append(out, tk)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("tokens", err)
	}
	return out, nil
}

// DeleteToken deletes one of a user's tokens.
func (s *Store) DeleteToken(ctx context.Context, user, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, user)
	if err != nil {
		return s.wrap("delete token", err)
	}
	if tag.RowsAffected() == 0 {
		return troupe.Errorf(troupe.CodeNotFound, "token %q: not found", id)
	}
	return nil
}

// CreateListFor makes a list owned by user.
func (s *Store) CreateListFor(ctx context.Context, user, name string) (store.List, error) {
	if err := s.check(); err != nil {
		return store.List{}, err
	}
	name, err := store.NormalizeListName(name)
	if err != nil {
		return store.List{}, err
	}
	l := store.List{ID: troupe.NewID(), Name: name, CreatedAt: store.Now(), Owner: user}
	if _, err := s.pool.Exec(ctx, `INSERT INTO lists (id, name, created_at, owner) VALUES ($1, $2, $3, $4)`,
		l.ID, l.Name, l.CreatedAt, user); err != nil {
		return store.List{}, s.wrap("create list", err)
	}
	return l, nil
}

// visible is the condition that user ($2) may see a list.
var visible = visibleTo("$2")

// visibleTo is the condition that the user in param (such as "$5::text")
// may see a list: its owner, or one it was shared with.
func visibleTo(param string) string {
	return `(owner = ` + param + ` OR EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = lists.id AND m.user_id = ` + param + `))`
}

const listColumns = `lists.id, lists.name, lists.created_at, lists.owner, lists.changes`

func scanList(row pgx.Row, extra ...any) (store.List, error) {
	var l store.List
	var owner *string
	var changes int64
	err := row.Scan(append([]any{&l.ID, &l.Name, &l.CreatedAt, &owner, &changes}, extra...)...)
	l.CreatedAt = l.CreatedAt.UTC()
	l.Seq = uint64(changes)
	if owner != nil {
		l.Owner = *owner
	}
	return l, err
}

// ListsFor returns one page of the lists a user may see: its own (by the
// index on owner), then those shared with it (by the members' index).
func (s *Store) ListsFor(ctx context.Context, user string, p store.Page) (store.ListsPage, error) {
	if err := s.check(); err != nil {
		return store.ListsPage{}, err
	}
	limit, after, err := store.CheckPage(p)
	if err != nil {
		return store.ListsPage{}, err
	}
	page := store.ListsPage{Lists: make([]store.List, 0, min(limit, 16))}
	var last int64 // the position of the page's last list
	// fill appends the rows of query (seq last) until the page is full; a
	// row beyond it makes the cursor of the next page.
	fill := func(base int64, query string, args ...any) error {
		rows, err := s.pool.Query(ctx, query, append(args, limit-len(page.Lists)+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			l, err := scanList(rows, &seq)
			if err != nil {
				return err
			}
			if len(page.Lists) == limit {
				page.Next = store.Cursor(last)
				return nil
			}
			page.Lists = append(page.Lists, l)
			last = base + seq
		}
		return rows.Err()
	}
	shared := int64(0)
	if after < store.SharedFrom {
		if err := fill(0, `SELECT `+listColumns+`, seq FROM lists WHERE owner = $1 AND seq > $2 ORDER BY seq LIMIT $3`, user, after); err != nil {
			return store.ListsPage{}, s.wrap("lists", err)
		}
	} else {
		shared = after - store.SharedFrom
	}
	if page.Next == "" {
		if err := fill(store.SharedFrom, `SELECT `+listColumns+`, lists.seq FROM list_members m JOIN lists ON lists.id = m.list_id
			WHERE m.user_id = $1 AND lists.seq > $2 ORDER BY lists.seq LIMIT $3`, user, shared); err != nil {
			return store.ListsPage{}, s.wrap("lists", err)
		}
	}
	return page, nil
}

// ListFor returns a list the user may see.
func (s *Store) ListFor(ctx context.Context, user, id string) (store.List, error) {
	if err := s.check(); err != nil {
		return store.List{}, err
	}
	if !store.ValidID(id) {
		return store.List{}, store.ListNotFound(id)
	}
	l, err := scanList(s.pool.QueryRow(ctx, `SELECT `+listColumns+` FROM lists WHERE id = $1 AND `+visible, id, user))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.List{}, store.ListNotFound(id)
	} else if err != nil {
		return store.List{}, s.wrap("list", err)
	}
	return l, nil
}

// ShareList shares a list its owner owns with the user named with.
func (s *Store) ShareList(ctx context.Context, owner, id, with string) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	if !store.ValidID(id) {
		return store.User{}, store.ListNotFound(id)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.User{}, s.wrap("share list", err)
	}
	defer tx.Rollback(context.Background())
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM lists WHERE id = $1 AND owner = $2`, id, owner).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, store.ListNotFound(id)
	} else if err != nil {
		return store.User{}, s.wrap("share list", err)
	}
	n, err := store.NormalizeUserName(with)
	if err != nil {
		return store.User{}, store.UserNotFound(with)
	}
	u, err := scanUser(tx.QueryRow(ctx, `SELECT id, name, created_at FROM users WHERE name = $1`, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, store.UserNotFound(with)
	} else if err != nil {
		return store.User{}, s.wrap("share list", err)
	}
	if u.ID != owner {
		if _, err := tx.Exec(ctx, `INSERT INTO list_members (list_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, u.ID); err != nil {
			return store.User{}, s.wrap("share list", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return store.User{}, s.wrap("share list", err)
	}
	return u, nil
}
