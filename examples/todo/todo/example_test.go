package todo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/service"
)

// The todo service on the in-process bus, asked by another service: an
// edge, which signs a user up and then sends for her.
func Example() {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, _ := os.MkdirTemp("", "todo-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "todo.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	app := &troupe.App{Name: "example", Services: []troupe.ServiceDecl{
		{Name: "todo", Receives: todo.Receives, Sends: todo.Sends},
		{Name: "client", Edge: true, Sends: []string{todo.MsgSignUp, todo.MsgListAll, todo.MsgCreate, todo.MsgList}},
	}}
	b, _ := bus.New(bus.Config{App: app, Logger: quiet})
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	svc, _ := todo.New(service.Config{}, todo.Options{Store: st, Logger: quiet})
	_ = svc.Start(ctx, b, sys)
	client := service.New(service.Config{Name: "client"})
	_ = client.Start(ctx, b, sys)
	defer func() {
		_ = client.Stop(ctx)
		_ = svc.Stop(ctx)
		_ = b.Close(ctx)
		_ = sys.Shutdown(ctx)
	}()

	ann, err := service.Request[store.User](ctx, client, todo.MsgSignUp, todo.Credentials{Name: "ann", Password: "correct horse"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = service.Request[todo.Lists](ctx, client, todo.MsgListAll, struct{}{})
	fmt.Println("without a user:", troupe.CodeOf(err))
	// What the client sends with this context, it sends for ann.
	ctx = troupe.WithPrincipal(ctx, &troupe.Principal{ID: ann.ID, Name: ann.Name})
	lists, err := service.Request[todo.Lists](ctx, client, todo.MsgListAll, struct{}{})
	if err != nil {
		fmt.Println(err)
		return
	}
	list := lists.Lists[0].ID
	if _, err := service.Request[store.Todo](ctx, client, todo.MsgCreate, todo.CreateTodo{List: list, Title: "buy milk"}); err != nil {
		fmt.Println(err)
	}
	_, err = service.Request[store.Todo](ctx, client, todo.MsgCreate, todo.CreateTodo{List: list, Title: " "})
	fmt.Println("empty title:", troupe.CodeOf(err), err)

	lst, err := service.Request[todo.Listing](ctx, client, todo.MsgList, todo.ListTodos{List: list})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, td := range lst.Todos {
		fmt.Println(td.Title, td.Completed)
	}
	fmt.Println("counts:", lst.Counts.Total, "seq:", lst.Seq)
	// Output:
	// without a user: forbidden
	// empty title: bad_request title: must not be empty
	// buy milk false
	// counts: 1 seq: 1
}
