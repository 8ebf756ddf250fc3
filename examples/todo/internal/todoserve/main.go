// Command todoserve runs the todo application on its own, as the demo does
// but without hello, for load tests: a node on the in-process bus with the
// todo service on an SQLite file, the web service and the gateway behind one
// HTTP listener, and optionally a bare net/http handler serving a snapshot of
// the home page (the load test's baseline).
//
// The pages and the REST API are a user's (issue 11): it signs a user up
// (-user) through its own pages, puts -fill todos into the user's first
// list, and prints the session cookie and an API token for the load tool:
//
//	go run ./examples/todo/internal/todoserve -addr 127.0.0.1:8081 -fill 1000
//	wrk -H "Cookie: todo_session=..." http://127.0.0.1:8081/
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "todoserve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	data := flag.String("data", "", "data directory (default: a temporary one)")
	fill := flag.Int("fill", 0, "todos to put into the user's first list at start")
	user := flag.String("user", "load", "the user to sign up, whose pages and API the load test uses")
	baseline := flag.String("baseline-addr", "", "if set, also serve a snapshot of the home page from memory here, with a bare net/http handler (a load test's baseline)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "todoserve")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	app, err := todoapp.App()
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "todo.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := host.Start(ctx, host.Config{
		App:      app,
		Services: todoapp.ServicesWith(todoapp.Options{Store: st}),
		DataDir:  dir,
		InProc:   true,
		HTTP:     host.HTTPConfig{Addr: *addr},
		Logger:   log,
	})
	if err != nil {
		return err
	}
	fmt.Printf("todo application on %s\n", n.URL())
	u, err := signUp(n.URL(), *user)
	if err != nil {
		return errors.Join(err, n.Shutdown(context.WithoutCancel(ctx)))
	}
	for i := range *fill {
		if _, err := st.Create(ctx, store.NewTodo{ListID: u.list, Title: fmt.Sprintf("todo number %d", i)}); err != nil {
			return errors.Join(err, n.Shutdown(context.WithoutCancel(ctx)))
		}
	}
	fmt.Printf("user %s: cookie %s=%s, API token %s, list %s\n", *user, web.SessionCookie, u.session, u.token, u.list)
	errc := make(chan error, 1)
	if *baseline != "" {
		bsrv, err := serveSnapshot(*baseline, n.URL(), u.session, errc)
		if err != nil {
			return errors.Join(err, n.Shutdown(context.WithoutCancel(ctx)))
		}
		defer bsrv.Close()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, n.Shutdown(sctx))
}

// account is a signed-up user of the application.
type account struct{ session, token, list string }

// signUp signs name up on the pages at base, as a browser does, and makes
// an API token on the tokens page.
func signUp(base, name string) (account, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base = strings.TrimSuffix(base, "/")
	post := func(path string, v url.Values) (string, error) {
		res, err := c.PostForm(base+path, v)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			return "", fmt.Errorf("POST %s: %s: %.200s", path, res.Status, b)
		}
		return string(b), err
	}
	var u account
	if _, err := post("/signup", url.Values{"name": {name}, "password": {"load test password"}}); err != nil {
		return u, err
	}
	bu, _ := url.Parse(base)
	for _, ck := range jar.Cookies(bu) {
		if ck.Name == web.SessionCookie {
			u.session = ck.Value
		}
	}
	page, err := post("/tokens", url.Values{"name": {"load"}})
	if err != nil {
		return u, err
	}
	m := regexp.MustCompile(`<code class="secret">([^<]+)</code>`).FindStringSubmatch(page)
	if m == nil || u.session == "" {
		return u, errors.New("todoserve: signing up gave no session or no token")
	}
	u.token = html.UnescapeString(m[1])
	req, _ := http.NewRequest("GET", base+"/api/lists?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+u.token)
	res, err := c.Do(req)
	if err != nil {
		return u, err
	}
	defer res.Body.Close()
	var ls struct {
		Lists []struct {
			ID string `json:"id"`
		} `json:"lists"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ls); err != nil || len(ls.Lists) == 0 {
		return u, fmt.Errorf("todoserve: the user's lists: %v", err)
	}
	u.list = ls.Lists[0].ID
	return u, nil
}

// serveSnapshot serves the page at u, fetched once with the session
// cookie, from memory at addr.
func serveSnapshot(addr, u, session string, errc chan<- error) (*http.Server, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})}
	fmt.Printf("baseline snapshot on http://%s/\n", ln.Addr())
	go func() { errc <- srv.Serve(ln) }()
	return srv, nil
}
