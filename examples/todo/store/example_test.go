package store_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
)

func ExampleNormalizeTitle() {
	for _, title := range []string{"  buy milk  ", "   ", strings.Repeat("x", 501)} {
		got, err := store.NormalizeTitle(title)
		if errors.Is(err, troupe.ErrBadRequest) {
			fmt.Println("rejected:", err)
			continue
		}
		fmt.Printf("stored: %q\n", got)
	}
	// Output:
	// stored: "buy milk"
	// rejected: title: must not be empty
	// rejected: title: must be at most 500 characters, not 501
}

func ExampleParseFilter() {
	f, err := store.ParseFilter("active")
	fmt.Println(f, err)
	_, err = store.ParseFilter("done")
	fmt.Println(err)
	// Output:
	// active <nil>
	// filter: must be all, active or completed, not "done"
}
