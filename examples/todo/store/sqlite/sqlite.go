package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a [store.Store] in an SQLite database file. It writes through one
// connection (SQLite allows one writer at a time, so concurrent writers queue
// in Go instead of failing with SQLITE_BUSY) and reads through a small pool
// of read-only connections, which WAL mode lets run beside the writer.
// Checkpoints (copying the write-ahead log into the database file) run in
// the background on a connection of their own, never inside a write.
type Store struct {
	w      *sql.DB
	r      *sql.DB
	c      *sql.DB // the checkpointer's connection
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	epoch  string // the database's change numbering (store_epoch)
}

var _ store.Store = (*Store)(nil)

// readers is the number of read connections.
const readers = 4

// Open opens the SQLite database at path, creating the file if it does not
// exist, and applies the migrations it has not seen yet. The database runs in
// WAL mode with foreign keys on, a busy timeout of 5 s, and synchronous=FULL,
// so a write that returned is on disk.
//
// SQLite checkpoints by default inside the commit that takes the log past
// 1,000 pages, and that commit then waits for the copy and its flush: under
// a steady stream of writes every such commit stalls the writes queued
// behind it (issue 17's soak saw a create take about 77 ms instead of 4).
// Here automatic checkpoints are off, and a goroutine runs a passive
// checkpoint every CheckpointInterval instead, which copies what no reader
// still needs without blocking the writer or the readers.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || strings.HasPrefix(path, ":memory:") {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, troupe.Errorf(troupe.CodeBadRequest, "path must name a file and contain no '?' or '#'"))
	}
	params := url.Values{}
	params.Set("_busy_timeout", "5000")
	params.Set("_foreign_keys", "1")
	params.Set("_journal_mode", "WAL")
	params.Set("_synchronous", "FULL")
	params.Set("_txlock", "immediate")
	wparams := maps.Clone(params)
	wparams.Set("_pragma", "wal_autocheckpoint(0)")
	w, err := sql.Open("sqlite", path+"?"+wparams.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	params.Del("_journal_mode") // set once by the writer, kept in the file
	params.Set("_txlock", "deferred")
	params.Set("_query_only", "1")
	r, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)

	params.Del("_query_only")
	c, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)

	s := &Store{w: w, r: r, c: c, stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		close(s.done)
		s.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if err := w.QueryRowContext(ctx, `SELECT epoch FROM store_epoch`).Scan(&s.epoch); err != nil {
		close(s.done)
		s.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, s.wrap("epoch", err))
	}
	go s.checkpoints()
	return s, nil
}

// CheckpointInterval is how often the store copies its write-ahead log into
// the database file.
const CheckpointInterval = time.Second

// checkpoints runs a passive checkpoint every CheckpointInterval until the
// store is closed. A checkpoint that fails (the file is busy, the disk is
// full) is tried again at the next tick; the log keeps the writes meanwhile.
func (s *Store) checkpoints() {
	defer close(s.done)
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.c.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// Epoch names the database's change numbering.
func (s *Store) Epoch() string { return s.epoch }

// nextChange takes the list's next change number in the write transaction
// tx (SQLite has one writer at a time: the numbers follow the commits).
func nextChange(ctx context.Context, tx *sql.Tx, listID string) (uint64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `UPDATE lists SET changes = changes + 1 WHERE id = ? RETURNING changes`, listID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ListNotFound(listID)
	}
	return uint64(n), err
}

// listOf returns the list a todo is in, or a not_found error.
func listOf(ctx context.Context, tx *sql.Tx, id string) (string, error) {
	var list string
	err := tx.QueryRowContext(ctx, `SELECT list_id FROM todos WHERE id = ?`, id).Scan(&list)
	if errors.Is(err, sql.ErrNoRows) {
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return s.wrap("migrate", err)
	}
	var current int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return s.wrap("migrate", err)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, store.Now().UnixMicro()); err != nil {
			return s.wrap("migrate", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("migrate", err)
	}
	return nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	<-s.done
	return errors.Join(s.c.Close(), s.r.Close(), s.w.Close())
}

var errClosed = errors.New("sqlite: store is closed")

// check returns the error of a call on a closed store.
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
	switch {
	case errors.As(err, &te):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return store.Timeout(err)
	case s.closed.Load():
		return store.Unavailable(errClosed)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return store.Unavailable(fmt.Errorf("sqlite: %s: %w", op, err))
		}
	}
	return store.Internal(op, fmt.Errorf("sqlite: %w", err))
}

const todoColumns = `id, list_id, title, completed, created_at, updated_at, version`

type scanner interface{ Scan(dest ...any) error }

func scanTodo(row scanner) (store.Todo, error) {
	var t store.Todo
	var created, updated int64
	err := row.Scan(&t.ID, &t.ListID, &t.Title, &t.Completed, &created, &updated, &t.Version)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.UpdatedAt = time.UnixMicro(updated).UTC()
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
	if _, err := s.w.ExecContext(ctx, `INSERT INTO lists (id, name, created_at) VALUES (?, ?, ?)`,
		l.ID, l.Name, l.CreatedAt.UnixMicro()); err != nil {
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
	rows, err := s.r.QueryContext(ctx, `SELECT seq, id, name, created_at, changes FROM lists WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit+1)
	if err != nil {
		return store.ListsPage{}, s.wrap("lists", err)
	}
	defer rows.Close()
	page := store.ListsPage{Lists: make([]store.List, 0, min(limit, 16))}
	var last int64
	for rows.Next() {
		var l store.List
		var seq, created, changes int64
		if err := rows.Scan(&seq, &l.ID, &l.Name, &created, &changes); err != nil {
			return store.ListsPage{}, s.wrap("lists", err)
		}
		if len(page.Lists) == limit {
			page.Next = store.Cursor(last)
			break
		}
		l.CreatedAt = time.UnixMicro(created).UTC()
		l.Seq = uint64(changes)
		page.Lists = append(page.Lists, l)
		last = seq
	}
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
	var created, changes int64
	err := s.r.QueryRowContext(ctx, `SELECT name, created_at, changes FROM lists WHERE id = ?`, id).Scan(&l.Name, &created, &changes)
	if errors.Is(err, sql.ErrNoRows) {
		return store.List{}, store.ListNotFound(id)
	} else if err != nil {
		return store.List{}, s.wrap("get list", err)
	}
	l.CreatedAt = time.UnixMicro(created).UTC()
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
	res, err := s.w.ExecContext(ctx, `DELETE FROM lists WHERE id = ?`, id)
	if err != nil {
		return s.wrap("delete list", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("delete list", err)
	} else if n == 0 {
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Todo{}, s.wrap("create", err)
	}
	defer tx.Rollback()
	if nt.User != "" {
		// In the create's transaction, so that the list's sharing cannot
		// change between the check and the todo.
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM lists WHERE id = ? AND `+visible, nt.ListID, nt.User, nt.User).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Todo{}, store.ListNotFound(nt.ListID)
		} else if err != nil {
			return store.Todo{}, s.wrap("create", err)
		}
	}
	if nt.IdempotencyKey != "" {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT todo_id FROM todo_requests WHERE key = ?`, nt.IdempotencyKey).Scan(&id)
		switch {
		case err == nil:
			t, err := scanTodo(tx.QueryRowContext(ctx, `SELECT `+todoColumns+` FROM todos WHERE id = ?`, id))
			if errors.Is(err, sql.ErrNoRows) {
				return store.Todo{}, troupe.Errorf(troupe.CodeNotFound, "todo %q: created by this request and deleted since", id)
			} else if err != nil {
				return store.Todo{}, s.wrap("create", err)
			}
			return t, nil
		case !errors.Is(err, sql.ErrNoRows):
			return store.Todo{}, s.wrap("create", err)
		}
	}
	seq, err := nextChange(ctx, tx, nt.ListID)
	if err != nil {
		return store.Todo{}, s.wrap("create", err)
	}
	now := store.Now()
	t := store.Todo{ID: troupe.NewID(), ListID: nt.ListID, Title: nt.Title, CreatedAt: now, UpdatedAt: now, Version: 1, ListSeq: seq}
	if _, err := tx.ExecContext(ctx, `INSERT INTO todos (id, list_id, title, completed, created_at, updated_at, version)
		VALUES (?, ?, ?, 0, ?, ?, 1)`, t.ID, t.ListID, t.Title, now.UnixMicro(), now.UnixMicro()); err != nil {
		return store.Todo{}, s.wrap("create", err)
	}
	if nt.IdempotencyKey != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO todo_requests (key, todo_id, created_at) VALUES (?, ?, ?)`,
			nt.IdempotencyKey, t.ID, now.UnixMicro()); err != nil {
			return store.Todo{}, s.wrap("create", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return store.Todo{}, s.wrap("create", err)
	}
	return t, nil
}

// Get returns one todo.
func (s *Store) Get(ctx context.Context, id string) (store.Todo, error) {
	if err := s.check(); err != nil {
		return store.Todo{}, err
	}
	if !store.ValidID(id) {
		return store.Todo{}, store.TodoNotFound(id)
	}
	t, err := scanTodo(s.r.QueryRowContext(ctx, `SELECT `+todoColumns+` FROM todos WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Listing{}, s.wrap("list", err)
	}
	defer tx.Rollback()
	var l store.Listing
	var changes int64
	err = tx.QueryRowContext(ctx, `SELECT total, completed, changes FROM lists WHERE id = ?`, listID).Scan(&l.Counts.Total, &l.Counts.Completed, &changes)
	l.Seq = uint64(changes)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Listing{}, store.ListNotFound(listID)
	} else if err != nil {
		return store.Listing{}, s.wrap("list", err)
	}
	l.Counts.Active = l.Counts.Total - l.Counts.Completed
	q := `SELECT seq, ` + todoColumns + ` FROM todos WHERE list_id = ?`
	switch f {
	case store.FilterActive:
		q += ` AND completed = 0`
	case store.FilterCompleted:
		q += ` AND completed = 1`
	}
	rows, err := tx.QueryContext(ctx, q+` AND seq > ? ORDER BY seq LIMIT ?`, listID, after, limit+1)
	if err != nil {
		return store.Listing{}, s.wrap("list", err)
	}
	defer rows.Close()
	l.Todos = make([]store.Todo, 0, min(limit, l.Counts.Total))
	var last int64
	for rows.Next() {
		var seq int64
		t, err := scanTodo(seqScanner{rows, &seq})
		if err != nil {
			return store.Listing{}, s.wrap("list", err)
		}
		if len(l.Todos) == limit {
			l.Next = store.Cursor(last)
			break
		}
		l.Todos = append(l.Todos, t)
		last = seq
	}
	if err := rows.Err(); err != nil {
		return store.Listing{}, s.wrap("list", err)
	}
	return l, nil
}

// seqScanner scans a row whose first column is the row's seq into seq and
// the rest into the destinations Scan is given.
type seqScanner struct {
	row scanner
	seq *int64
}

func (s seqScanner) Scan(dest ...any) error {
	return s.row.Scan(append([]any{s.seq}, dest...)...)
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Todo{}, s.wrap("update", err)
	}
	defer tx.Rollback()
	list, err := listOf(ctx, tx, id)
	if err != nil {
		return store.Todo{}, s.wrap("update", err)
	}
	seq, err := nextChange(ctx, tx, list)
	if err != nil {
		return store.Todo{}, s.wrap("update", err)
	}
	var title, completed any
	if p.Title != nil {
		title = *p.Title
	}
	if p.Completed != nil {
		completed = *p.Completed
	}
	t, err := scanTodo(tx.QueryRowContext(ctx, `UPDATE todos SET
			title = COALESCE(?, title),
			completed = COALESCE(?, completed),
			updated_at = ?,
			version = version + 1
		WHERE id = ? AND (? = 0 OR version = ?)
		RETURNING `+todoColumns, title, completed, store.Now().UnixMicro(), id, p.Version, p.Version))
	if errors.Is(err, sql.ErrNoRows) {
		var current int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM todos WHERE id = ?`, id).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Todo{}, store.TodoNotFound(id)
		} else if err != nil {
			return store.Todo{}, s.wrap("update", err)
		}
		return store.Todo{}, store.Conflict(id, p.Version, current)
	} else if err != nil {
		return store.Todo{}, s.wrap("update", err)
	}
	if err := tx.Commit(); err != nil {
		return store.Todo{}, s.wrap("update", err)
	}
	t.ListSeq = seq
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Todo{}, s.wrap("delete", err)
	}
	defer tx.Rollback()
	list, err := listOf(ctx, tx, id)
	if err != nil {
		return store.Todo{}, s.wrap("delete", err)
	}
	seq, err := nextChange(ctx, tx, list)
	if err != nil {
		return store.Todo{}, s.wrap("delete", err)
	}
	t, err := scanTodo(tx.QueryRowContext(ctx, `DELETE FROM todos WHERE id = ? RETURNING `+todoColumns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Todo{}, store.TodoNotFound(id)
	} else if err != nil {
		return store.Todo{}, s.wrap("delete", err)
	}
	if err := tx.Commit(); err != nil {
		return store.Todo{}, s.wrap("delete", err)
	}
	t.ListSeq = seq
	return t, nil
}

// ClearCompleted deletes the completed todos of a list.
func (s *Store) ClearCompleted(ctx context.Context, listID string) (store.Cleared, error) {
	if err := s.check(); err != nil {
		return store.Cleared{}, err
	}
	if !store.ValidID(listID) {
		return store.Cleared{}, store.ListNotFound(listID)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Cleared{}, s.wrap("clear completed", err)
	}
	defer tx.Rollback()
	seq, err := nextChange(ctx, tx, listID)
	if err != nil {
		return store.Cleared{}, s.wrap("clear completed", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM todos WHERE list_id = ? AND completed = 1`, listID)
	if err != nil {
		return store.Cleared{}, s.wrap("clear completed", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Cleared{}, s.wrap("clear completed", err)
	}
	if n == 0 {
		return store.Cleared{}, nil // rolled back: no change number taken
	}
	if err := tx.Commit(); err != nil {
		return store.Cleared{}, s.wrap("clear completed", err)
	}
	return store.Cleared{Count: int(n), Seq: seq}, nil
}
