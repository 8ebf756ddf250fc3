// Package migrate reads numbered schema migrations from a file system.
//
// A migration is a file NNNN_name.sql; NNNN is its version, a positive
// integer, and versions must be unique. The stores apply the migrations
// whose versions are not yet recorded in their schema_migrations table, in
// order, in one transaction.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// A Migration is one schema change.
type Migration struct {
	Version int64
	Name    string // the file name
	SQL     string
}

// Read returns the migrations in the directory dir of fsys, sorted by
// version.
func Read(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var ms []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrate: %s: name must be NNNN_name.sql with NNNN > 0", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrate: %s: version %d already used by %s", name, v, other)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
