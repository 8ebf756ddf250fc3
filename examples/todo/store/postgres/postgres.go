package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a [store.Store] in a PostgreSQL database, used through a pgxpool
// connection pool.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
	epoch  string // the database's change numbering (store_epoch)
}

var _ store.Store = (*Store)(nil)

// migrationLock is the key of the advisory lock that keeps two instances
// starting at once from migrating the same database together.
const migrationLock = 7_368_040_161_220_317_007

// Open connects to the database dsn names (a URL, postgres://user:pass@host/db,
// or keyword/value pairs; pgxpool's pool_* parameters set the pool) and
// applies the migrations it has not seen yet. An unreachable server gives an
// unavailable *troupe.Error, a malformed DSN a bad_request one.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password and all: keep it local.
		return nil, fmt.Errorf("postgres: open: %w", &troupe.Error{Code: troupe.CodeBadRequest, Msg: "postgres: malformed DSN", Err: err})
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", store.Unavailable(err))
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.QueryRow(ctx, `SELECT epoch FROM store_epoch`).Scan(&s.epoch); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", s.wrap("epoch", err))
	}
	return s, nil
}

// Epoch names the database's change numbering.
func (s *Store) Epoch() string { return s.epoch }

// nextChange takes the list's next change number, locking its row until the
// transaction ends: the changes of one list are numbered, and applied, one
// after the other; those of different lists do not wait for each other.
// Every write locks the list before its todos, so two writes cannot
// deadlock.
func nextChange(ctx context.Context, tx pgx.Tx, listID string) (uint64, error) {
	var n int64
	err := tx.QueryRow(ctx, `UPDATE lists SET changes = changes + 1 WHERE id = $1 RETURNING changes`, listID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.ListNotFound(listID)
	}
	return uint64(n), err
}

// listOf returns the list a todo is in, or a not_found error.
func listOf(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (string, error) {
	var list string
	err := q.QueryRow(ctx, `SELECT list_id FROM todos WHERE id = $1`, id).Scan(&list)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.TodoNotFound(id)
	}
	return list, err
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, all in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrap("migrate", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return s.wrap("migrate", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT      PRIMARY KEY,
		name       TEXT        NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`); err != nil {
		return s.wrap("migrate", err)
	}
	var current int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return s.wrap("migrate", err)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, s.wrap("migrate", err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return s.wrap("migrate", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap("migrate", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned. It
// is safe to call more than once.
func (s *Store) Close() error {
	if !s.closed.Swap(true) {
		s.pool.Close()
	}
	return nil
}

var errClosed = errors.New("postgres: store is closed")

func (s *Store) check() error {
	if s.closed.Load() {
		return store.Unavailable(errClosed)
	}
	return nil
}

// wrap turns a database error into a *troupe.Error (a *troupe.Error passes
// through).
func (s *Store) wrap(op string, err error) error {
	var te *troupe.Error
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return store.Timeout(err)
	}
	if s.closed.Load() {
		return store.Unavailable(errClosed)
	}
	err = fmt.Errorf("postgres: %s: %w", op, err)
	if unavailable(err) {
		return store.Unavailable(err)
	}
	return store.Internal(op, err)
}

// unavailable reports whether err means the server cannot be reached or
// cannot serve now, so that trying later may work.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),       // insufficient resources
			strings.HasPrefix(pe.Code, "57P"),      // operator intervention: shutdown, cannot connect now
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

const todoColumns = `id, list_id, title, completed, created_at, updated_at, version`

func scanTodo(row pgx.Row) (store.Todo, error) {
	var t store.Todo
	err := row.Scan(&t.ID, &t.ListID, &t.Title, &t.Completed, &t.CreatedAt, &t.UpdatedAt, &t.Version)
	t.CreatedAt = t.CreatedAt.UTC()
	t.UpdatedAt = t.UpdatedAt.UTC()
	return t, err
}

// CreateList makes a new, empty list.
func (s *Store) CreateList(ctx context.Context, name string) (store.List, error) {
	if err := s.check(); err != nil {
		return store.List{}, err
	}
	name, err := store.NormalizeListName(name)
	if err != nil {
		return store.List{}, err
	}
	l := store.List{ID: troupe.NewID(), Name: name, CreatedAt: store.Now()}
	if _, err := s.pool.Exec(ctx, `INSERT INTO lists (id, name, created_at) VALUES ($1, $2, $3)`, l.ID, l.Name, l.CreatedAt); err != nil {
		return store.List{}, s.wrap("create list", err)
	}
	return l, nil
}

// Lists returns one page of the lists in creation order.
func (s *Store) Lists(ctx context.Context, p store.Page) (store.ListsPage, error) {
	if err := s.check(); err != nil {
		return store.ListsPage{}, err
	}
	limit, after, err := store.CheckPage(p)
	if err != nil {
		return store.ListsPage{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, id, name, created_at, changes FROM lists WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit+1)
	if err != nil {
		return store.ListsPage{}, s.wrap("lists", err)
	}
	defer rows.Close()
	page := store.ListsPage{Lists: make([]store.List, 0, min(limit, 16))}
	var last int64
	for rows.Next() {
		var l store.List
		var seq, changes int64
		if err := rows.Scan(&seq, &l.ID, &l.Name, &l.CreatedAt, &changes); err != nil {
			return store.ListsPage{}, s.wrap("lists", err)
		}
		if len(page.Lists) == limit {
			page.Next = store.Cursor(last)
			break
		}
		l.Seq = uint64(changes)
		l.CreatedAt = l.CreatedAt.UTC()
		page.Lists = append(page.Lists, l)
		last = seq
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.ListsPage{}, s.wrap("lists", err)
	}
	return page, nil
}

// GetList returns one list.
func (s *Store) GetList(ctx context.Context, id string) (store.List, error) {
	if err := s.check(); err != nil {
		return store.List{}, err
	}
	if !store.ValidID(id) {
		return store.List{}, store.ListNotFound(id)
	}
	l := store.List{ID: id}
	var changes int64
	err := s.pool.QueryRow(ctx, `SELECT name, created_at, changes FROM lists WHERE id = $1`, id).Scan(&l.Name, &l.CreatedAt, &changes)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.List{}, store.ListNotFound(id)
	} else if err != nil {
		return store.List{}, s.wrap("get list", err)
	}
	l.CreatedAt = l.CreatedAt.UTC()
	l.Seq = uint64(changes)
	return l, nil
}

// DeleteList deletes a list and its todos.
func (s *Store) DeleteList(ctx context.Context, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	if id == store.DefaultListID {
		return troupe.Errorf(troupe.CodeBadRequest, "list %q: the default list cannot be deleted", id)
	}
	if !store.ValidID(id) {
		return store.ListNotFound(id)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM lists WHERE id = $1`, id)
	if err != nil {
		return s.wrap("delete list", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ListNotFound(id)
	}
	return nil
}

// Create makes a todo; see [store.Store].
func (s *Store) Create(ctx context.Context, nt store.NewTodo) (store.Todo, error) {
	if err := s.check(); err != nil {
		return store.Todo{}, err
	}
	nt, err := store.CheckNewTodo(nt)
	if err != nil {
		return store.Todo{}, err
	}
	if !store.ValidID(nt.ListID) {
		return store.Todo{}, store.ListNotFound(nt.ListID)
	}
	now := store.Now()
	t := store.Todo{ID: troupe.NewID(), ListID: nt.ListID, Title: nt.Title, CreatedAt: now, UpdatedAt: now, Version: 1}
	// One statement, so one round trip, and the list's row (whose next
	// change number the todo takes) is locked only while the server runs
	// it and commits: writes to one list follow each other without waiting
	// for the client in between. With a key, the request's row goes in with
	// the todo; a create with a key already used fails on the key's unique
	// index (after waiting for a concurrent one with it to commit or roll
	// back), changes nothing, and is answered with the todo made first.
	// With a user, the list's row is updated only if the user may see
	// it: no row, no todo, not found.
	q := createTodo
	args := []any{t.ID, t.ListID, t.Title, now, nt.User}
	if nt.IdempotencyKey != "" {
		q = createTodoOnce
		args = append(args, nt.IdempotencyKey)
	}
	var seq int64
	err = s.pool.QueryRow(ctx, q, args...).Scan(&seq)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Todo{}, store.ListNotFound(nt.ListID)
	case nt.IdempotencyKey != "" && isUniqueViolation(err, "todo_requests_pkey"):
		t, err = s.createdBy(ctx, nt.IdempotencyKey)
	case err == nil:
		t.ListSeq = uint64(seq)
	}
	if err != nil {
		return store.Todo{}, s.wrap("create", err)
	}
	return t, nil
}

// The statements of Create: the list's next change number, if the user ($5;
// empty for none) may see the list, the todo, and with a key ($6) the
// request's row.
var (
	createTodo     = createNext + `SELECT changes FROM next`
	createTodoOnce = createNext + `, request AS (
		INSERT INTO todo_requests (key, todo_id, created_at) SELECT $6::text, $1::text, $4::timestamptz FROM next
	)
	SELECT changes FROM next`
	createNext = `WITH next AS (
		UPDATE lists SET changes = changes + 1
		WHERE id = $2::text AND ($5::text = '' OR ` + visibleTo("$5::text") + `) RETURNING changes
	), todo AS (
		INSERT INTO todos (id, list_id, title, completed, created_at, updated_at, version)
		SELECT $1::text, $2::text, $3::text, FALSE, $4::timestamptz, $4::timestamptz, 1 FROM next
	)
	`
)

// createdBy returns the todo that the create with key made (ListSeq 0: it
// is no new change).
func (s *Store) createdBy(ctx context.Context, key string) (store.Todo, error) {
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT todo_id FROM todo_requests WHERE key = $1`, key).Scan(&id); err != nil {
		return store.Todo{}, err
	}
	t, err := scanTodo(s.pool.QueryRow(ctx, `SELECT `+todoColumns+` FROM todos WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Todo{}, troupe.Errorf(troupe.CodeNotFound, "todo %q: created by this request and deleted since", id)
	}
	return t, err
}

// isUniqueViolation reports whether err is PostgreSQL's unique violation of
// the constraint named.
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

// Get returns one todo.
func (s *Store) Get(ctx context.Context, id string) (store.Todo, error) {
	if err := s.check(); err != nil {
		return store.Todo{}, err
	}
	if !store.ValidID(id) {
		return store.Todo{}, store.TodoNotFound(id)
	}
	t, err := scanTodo(s.pool.QueryRow(ctx, `SELECT `+todoColumns+` FROM todos WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Todo{}, store.TodoNotFound(id)
	} else if err != nil {
		return store.Todo{}, s.wrap("get", err)
	}
	return t, nil
}

// List returns one page of the todos of a list that pass f, and the list's
// counts, from one snapshot. The counts are read from the list's row (kept by
// triggers), the page through the index of its filter: the cost is that of
// the page, whatever the size of the list.
func (s *Store) List(ctx context.Context, listID string, f store.Filter, p store.Page) (store.Listing, error) {
	if err := s.check(); err != nil {
		return store.Listing{}, err
	}
	f, err := store.ParseFilter(string(f))
	if err != nil {
		return store.Listing{}, err
	}
	limit, after, err := store.CheckPage(p)
	if err != nil {
		return store.Listing{}, err
	}
	if !store.ValidID(listID) {
		return store.Listing{}, store.ListNotFound(listID)
	}
	// One statement, so one snapshot for the counts and the rows, and one
	// round trip: the list's row, joined with its page (a row of NULLs when
	// the page is empty; no row when there is no such list).
	cond := ""
	switch f {
	case store.FilterActive:
		cond = ` AND NOT completed`
	case store.FilterCompleted:
		cond = ` AND completed`
	}
	rows, err := s.pool.Query(ctx, `SELECT l.total, l.completed, l.changes, t.seq, t.id, t.list_id, t.title, t.completed, t.created_at, t.updated_at, t.version
		FROM lists l LEFT JOIN LATERAL (
			SELECT seq, `+todoColumns+` FROM todos WHERE list_id = l.id`+cond+` AND seq > $2 ORDER BY seq LIMIT $3
		) t ON true
		WHERE l.id = $1
		ORDER BY t.seq`, listID, after, limit+1)
	if err != nil {
		return store.Listing{}, s.wrap("list", err)
	}
	defer rows.Close()
	var l store.Listing
	found := false
	var last int64
	for rows.Next() {
		var total, completed, changes int64
		var seq *int64
		var t struct {
			id, list, title  *string
			completed        *bool
			created, updated *time.Time
			version          *int64
		}
		if err := rows.Scan(&total, &completed, &changes, &seq, &t.id, &t.list, &t.title, &t.completed, &t.created, &t.updated, &t.version); err != nil {
			return store.Listing{}, s.wrap("list", err)
		}
		if !found {
			found = true
			l.Seq = uint64(changes)
			l.Counts = store.Counts{Active: int(total - completed), Completed: int(completed), Total: int(total)}
			l.Todos = make([]store.Todo, 0, min(limit, l.Counts.Total))
		}
		if seq == nil {
			continue // the empty page's row
		}
		if len(l.Todos) == limit {
			l.Next = store.Cursor(last)
			break
		}
		l.Todos = append(l.Todos, store.Todo{ID: *t.id, ListID: *t.list, Title: *t.title, Completed: *t.completed,
			CreatedAt: t.created.UTC(), UpdatedAt: t.updated.UTC(), Version: *t.version})
		last = *seq
	}
	rows.Close()
	err = rows.Err()
	if err == nil && !found {
		err = store.ListNotFound(listID)
	}
	if err != nil {
		return store.Listing{}, s.wrap("list", err)
	}
	return l, nil
}

// Update applies a patch; see [store.Patch].
func (s *Store) Update(ctx context.Context, id string, p store.Patch) (store.Todo, error) {
	if err := s.check(); err != nil {
		return store.Todo{}, err
	}
	p, err := store.CheckPatch(p)
	if err != nil {
		return store.Todo{}, err
	}
	if !store.ValidID(id) {
		return store.Todo{}, store.TodoNotFound(id)
	}
	var t store.Todo
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		list, err := listOf(ctx, tx, id)
		if err != nil {
			return err
		}
		seq, err := nextChange(ctx, tx, list)
		if err != nil {
			return err
		}
		// The list's lock orders the writes of its todos; the version
		// check then sees the newest row.
		t, err = scanTodo(tx.QueryRow(ctx, `UPDATE todos SET
				title = COALESCE($1::text, title),
				completed = COALESCE($2::boolean, completed),
				updated_at = $3,
				version = version + 1
			WHERE id = $4 AND list_id = $6 AND ($5::bigint = 0 OR version = $5::bigint)
			RETURNING `+todoColumns, p.Title, p.Completed, store.Now(), id, p.Version, list))
		if errors.Is(err, pgx.ErrNoRows) {
			var current int64
			err := tx.QueryRow(ctx, `SELECT version FROM todos WHERE id = $1`, id).Scan(&current)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.TodoNotFound(id)
			} else if err != nil {
				return err
			}
			return store.Conflict(id, p.Version, current)
		}
		t.ListSeq = seq
		return err
	})
	if err != nil {
		return store.Todo{}, s.wrap("update", err)
	}
	return t, nil
}

// Delete deletes a todo and returns it as it was.
func (s *Store) Delete(ctx context.Context, id string) (store.Todo, error) {
	if err := s.check(); err != nil {
		return store.Todo{}, err
	}
	if !store.ValidID(id) {
		return store.Todo{}, store.TodoNotFound(id)
	}
	var t store.Todo
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		list, err := listOf(ctx, tx, id)
		if err != nil {
			return err
		}
		seq, err := nextChange(ctx, tx, list)
		if err != nil {
			return err
		}
		t, err = scanTodo(tx.QueryRow(ctx, `DELETE FROM todos WHERE id = $1 AND list_id = $2 RETURNING `+todoColumns, id, list))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.TodoNotFound(id)
		}
		t.ListSeq = seq
		return err
	})
	if err != nil {
		return store.Todo{}, s.wrap("delete", err)
	}
	return t, nil
}

// errNothingCleared rolls back a clear that deleted nothing, so that it
// takes no change number.
var errNothingCleared = errors.New("nothing cleared")

// ClearCompleted deletes the completed todos of a list.
func (s *Store) ClearCompleted(ctx context.Context, listID string) (store.Cleared, error) {
	if err := s.check(); err != nil {
		return store.Cleared{}, err
	}
	if !store.ValidID(listID) {
		return store.Cleared{}, store.ListNotFound(listID)
	}
	var c store.Cleared
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		seq, err := nextChange(ctx, tx, listID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM todos WHERE list_id = $1 AND completed`, listID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNothingCleared
		}
		c = store.Cleared{Count: int(tag.RowsAffected()), Seq: seq}
		return nil
	})
	if errors.Is(err, errNothingCleared) {
		return store.Cleared{}, nil
	}
	if err != nil {
		return store.Cleared{}, s.wrap("clear completed", err)
	}
	return c, nil
}
