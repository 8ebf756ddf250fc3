package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "todo-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(ctx, filepath.Join(dir, "todo.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	milk, _ := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "  buy milk "})
	s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "write the report"})
	done, _ := s.Update(ctx, milk.ID, store.Patch{Completed: new(true), Version: milk.Version})

	// A second update based on the old version is refused.
	_, err = s.Update(ctx, milk.ID, store.Patch{Title: new("buy oat milk"), Version: milk.Version})
	fmt.Println("stale update is a conflict:", errors.Is(err, troupe.ErrConflict))

	_, err = s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "   "})
	fmt.Println("empty title:", err)

	l, _ := s.List(ctx, store.DefaultListID, store.FilterActive, store.Page{})
	for _, t := range l.Todos {
		fmt.Printf("active: %s (version %d)\n", t.Title, t.Version)
	}
	fmt.Printf("%q is at version %d\n", done.Title, done.Version)
	fmt.Printf("counts: %+v\n", l.Counts)
	// Output:
	// stale update is a conflict: true
	// empty title: title: must not be empty
	// active: write the report (version 1)
	// "buy milk" is at version 2
	// counts: {Active:1 Completed:1 Total:2}
}
