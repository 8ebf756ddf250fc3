package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/service"
)

// Name is the service's name in the manifest.
const Name = "web"

// Sends lists the requests the web service sends, for its manifest
// declaration; it receives todo.Events.
var Sends = append([]string{todo.MsgListAll, todo.MsgListCreate, todo.MsgList, todo.MsgGet, todo.MsgCreate, todo.MsgUpdate, todo.MsgDelete, todo.MsgClear}, todo.AccountReceives...)

// MaxFormBytes bounds the body of a form post.
const MaxFormBytes = 16 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the web service.
type Options struct {
	// Timeout bounds each request a page makes to the todo service.
	// Default 1 s.
	Timeout time.Duration
	// QueueLen bounds the events queued for one live connection; a browser
	// that falls this far behind is disconnected and reconnects. Default 64.
	QueueLen int
	// WriteTimeout bounds writing one event to a browser. Default 5 s.
	WriteTimeout time.Duration
	// PingInterval is how often idle live connections are pinged, so that
	// proxies keep them and dead ones are noticed. Default 30 s; negative
	// means never.
	PingInterval time.Duration
	// Logger receives a record per failed page. Nil means slog.Default().
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure even on a plain-HTTP
	// request, for a service behind a proxy that ends TLS. (Over TLS it
	// always is.)
	SecureCookies bool
}

// Handler serves the application's pages, assets, the live-update endpoint
// and the OpenAPI description:
//
//	GET  /                                     the default list
//	GET  /lists/{list}?filter=active           a list (filter all, active, completed;
//	                                           ?cursor= its next page, ?lists= the
//	                                           switcher's next page of lists)
//	POST /lists                                new list (name)
//	POST /lists/{list}/todos                   add (title)
//	POST /lists/{list}/todos/{id}/edit         rename (title)
//	POST /lists/{list}/todos/{id}/complete     complete or reopen (completed=true|false)
//	POST /lists/{list}/todos/{id}/delete       delete
//	POST /lists/{list}/clear                   clear completed
//	GET  /live?list={list}                     WebSocket of the list's events
//	GET  /static/...                           CSS and JavaScript
//
// Form posts answer 303 See Other back to the list (post/redirect/get), or,
// for the page's script (header X-Requested-With: fetch), 204 No Content or
// a JSON {"error": msg} with the error's status.
type Handler struct {
	svc     *service.Service
	auth    *gateway.BusAuthenticator // accounts.go
	secure  bool
	log     *slog.Logger
	timeout time.Duration
	tmpl    *template.Template
	mux     *http.ServeMux
	hub     *hub
	items   itemCache

	cacheMu  sync.Mutex
	listings map[listingKey]cachedListing
}

// New returns the web service, which must be started (service.Start) before
// the handler serves pages, and the handler. Close the handler after
// stopping the service to disconnect live browsers.
func New(cfg service.Config, opt Options) (*service.Service, *Handler, error) {
	if cfg.Name == "" {
		cfg.Name = Name
	}
	if opt.Timeout <= 0 {
		opt.Timeout = time.Second
	}
	if opt.QueueLen <= 0 {
		opt.QueueLen = 64
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 5 * time.Second
	}
	if opt.PingInterval == 0 {
		opt.PingInterval = 30 * time.Second
	}
	if opt.PingInterval < 0 {
		opt.PingInterval = 0
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, nil, fmt.Errorf("web: templates: %w", err)
	}
	s := service.New(cfg)
	wb := &Handler{svc: s, log: opt.Logger, timeout: opt.Timeout, tmpl: tmpl, hub: newHub(opt.QueueLen, opt.WriteTimeout, opt.PingInterval), secure: opt.SecureCookies}
	wb.auth = &gateway.BusAuthenticator{Bus: svcRequester{s}, Message: todo.MsgAuthenticate, Cookie: SessionCookie}
	for _, e := range todo.AllEvents {
		if err := e.On(s, func(_ context.Context, ev todo.Event) error {
			return wb.hub.publish(ev)
		}); err != nil {
			return nil, nil, fmt.Errorf("web: %w", err)
		}
	}
	s.Sends(todo.ListAll, todo.ListCreate, todo.List, todo.Get, todo.Create, todo.Update, todo.Delete, todo.Clear,
		todo.SignUp, todo.Login, todo.Logout, todo.Authenticate, todo.TokenCreate, todo.TokenList, todo.TokenDelete, todo.ListShare)
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", wb.servePage)
	mux.HandleFunc("GET /lists/{list}", wb.servePage)
	mux.HandleFunc("POST /lists", wb.form(wb.newList, "name"))
	mux.HandleFunc("POST /lists/{list}/todos", wb.form(wb.add, "title", "filter", "cursor"))
	mux.HandleFunc("POST /lists/{list}/todos/{id}/edit", wb.form(wb.edit, "title", "filter", "cursor"))
	mux.HandleFunc("POST /lists/{list}/todos/{id}/complete", wb.form(wb.complete, "completed", "filter", "cursor"))
	mux.HandleFunc("POST /lists/{list}/todos/{id}/delete", wb.form(wb.del, "filter", "cursor"))
	mux.HandleFunc("POST /lists/{list}/clear", wb.form(wb.clear, "filter", "cursor"))
	mux.HandleFunc("POST /lists/{list}/share", wb.form(wb.share, "user", "filter", "cursor"))
	// accounts.go
	mux.HandleFunc("GET /login", wb.serveLogin)
	mux.HandleFunc("POST /login", wb.login(false))
	mux.HandleFunc("GET /signup", wb.serveSignUp)
	mux.HandleFunc("POST /signup", wb.login(true))
	mux.HandleFunc("POST /logout", wb.logout)
	mux.HandleFunc("GET /tokens", wb.serveTokens)
	mux.HandleFunc("POST /tokens", wb.createToken)
	mux.HandleFunc("POST /tokens/{id}/delete", wb.deleteToken)
	mux.HandleFunc("GET /live", wb.serveLive)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheShort(http.FileServerFS(static))))
	wb.mux = mux
	return s, wb, nil
}

// ServeHTTP serves the pages.
func (wb *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'")
	r, ok := wb.authenticate(w, r) // accounts.go
	if !ok {
		return
	}
	wb.mux.ServeHTTP(w, r)
}

// Close disconnects every live browser and waits until their connections
// are closed, or until ctx ends.
func (wb *Handler) Close(ctx context.Context) error {
	if err := wb.hub.close(ctx); err != nil {
		return fmt.Errorf("web: close: %w", err)
	}
	return nil
}

// LiveConns returns the number of connected live browsers and how many were
// disconnected for being too slow.
func (wb *Handler) LiveConns() (conns, dropped int) { return wb.hub.count() }

func cacheShort(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// page is what the list template renders.
type page struct {
	Listing   todo.Listing
	Lists     []store.List
	ListsNext string // the cursor of the next page of lists, if any
	Filter    string
	Cursor    string        // the cursor of this page of todos, "" for the first
	Edit      string        // id of the todo whose edit form is open (without script)
	EditItem  template.HTML // its form, when the todo is not on this page
	Error     string        // the validation message of a failed post
	Title     string        // the title of a failed add, to fill the form again
	Sample    store.Todo    // the item the script's template is made of
	Items     template.HTML // the rendered items, one after the other
	Empty     bool          // no items
	User      *troupe.Principal
	Owner     bool // the user owns the list (and may share it)
}

var funcs = template.FuncMap{
	"listURL": listURL,
	"pageURL": pageURL,
	"listsURL": func(list, filter, lists string) string {
		u := listURL(list, filter)
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		return u + sep + "lists=" + url.QueryEscape(lists)
	},
	"todoURL": func(list, id, action string) string {
		return "/lists/" + url.PathEscape(list) + "/todos/" + url.PathEscape(id) + "/" + action
	},
}

// listURL is the first page of a list with a filter.
func listURL(list, filter string) string { return pageURL(list, filter, "") }

// pageURL is the page of a list with a filter that starts after cursor; the
// list "" is the user's first, at "/".
func pageURL(list, filter, cursor string) string {
	u := "/"
	if list != "" && list != store.DefaultListID {
		u = "/lists/" + url.PathEscape(list)
	}
	q := url.Values{}
	if filter != "" && filter != string(store.FilterAll) {
		q.Set("filter", filter)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// listOf is the list a page is about; "" is the user's first list.
func listOf(r *http.Request) string { return r.PathValue("list") }

// servePage is a page of a list: ?filter= selects the todos, ?cursor= the
// page (the next of the page before), ?lists= the page of the list switcher.
func (wb *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := page{Filter: q.Get("filter"), Cursor: q.Get("cursor"), Edit: q.Get("edit")}
	wb.render(w, r, http.StatusOK, listOf(r), p, q.Get("lists"))
}

// render asks the todo service for the list and the lists and renders the
// page, or the error page.
//
// The page shows one page of the list's todos (store.DefaultLimit) with a
// link to the next, and one page of the lists in the switcher, so that its
// cost does not grow with the list.
func (wb *Handler) render(w http.ResponseWriter, r *http.Request, status int, list string, p page, listsCursor string) {
	ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
	defer cancel()
	lists, err := todo.ListAll.Call(ctx, wb.svc, todo.ListLists{Cursor: listsCursor})
	if err != nil {
		wb.fail(w, r, err)
		return
	}
	if list == "" {
		// The user's first list: the first of the first page.
		first := lists
		if listsCursor != "" {
			if first, err = todo.ListAll.Call(ctx, wb.svc, todo.ListLists{Limit: 1}); err != nil {
				wb.fail(w, r, err)
				return
			}
		}
		if len(first.Lists) == 0 {
			wb.fail(w, r, troupe.Errorf(troupe.CodeNotFound, "you have no list"))
			return
		}
		list = first.Lists[0].ID
	}
	lst, items, err := wb.listing(ctx, list, p.Filter, p.Cursor)
	if err != nil {
		wb.fail(w, r, err)
		return
	}
	p.User = principal(r)
	p.Owner = p.User != nil && lst.List.Owner == p.User.ID
	p.Listing, p.Lists, p.ListsNext, p.Filter, p.Items, p.Empty = lst, lists.Lists, lists.Next, string(lst.Filter), items.joined, len(items.each) == 0
	p.Sample = store.Todo{ListID: lst.List.ID}
	if p.Edit != "" {
		// The todo being edited is shown as a form: in its place if it is
		// on this page, above the list otherwise.
		editItem := func(td store.Todo) (template.HTML, bool) {
			h, err := wb.exec("edit-item", struct {
				Todo   store.Todo
				Filter string
			}{td, p.Filter})
			if err != nil {
				wb.log.Error("web: template", "template", "edit-item", "err", err)
				http.Error(w, "web: the page could not be rendered", http.StatusInternalServerError)
				return "", false
			}
			return h, true
		}
		each := slices.Clone(items.each)
		found := false
		for i, td := range lst.Todos {
			if td.ID != p.Edit {
				continue
			}
			h, ok := editItem(td)
			if !ok {
				return
			}
			each[i], found = h, true
		}
		if !found {
			if td, err := todo.Get.Call(ctx, wb.svc, todo.TodoRef{List: list, ID: p.Edit}); err == nil {
				h, ok := editItem(td)
				if !ok {
					return
				}
				p.EditItem = h
			}
		}
		p.Items = join(each)
	}
	wb.html(w, status, "list.html", p)
}

func (wb *Handler) html(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := wb.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		wb.log.Error("web: template", "template", name, "err", err)
		http.Error(w, "web: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// listingKey names a cached listing.
type listingKey struct{ list, filter, cursor string }

// cachedListing is a listing with its rendered items.
type cachedListing struct {
	lst   todo.Listing
	items renderedItems
}

// renderedItems are the items of a listing, one by one and joined.
type renderedItems struct {
	each   []template.HTML
	joined template.HTML
}

func join(each []template.HTML) template.HTML {
	var b strings.Builder
	for _, h := range each {
		b.WriteString(string(h))
		b.WriteByte('\n')
	}
	return template.HTML(b.String()) // #nosec: items rendered by html/template
}

// maxCachedListings bounds the listing cache; past it, it starts over.
const maxCachedListings = 256

// listing returns the page of list with filter after cursor and its
// rendered items.
// It asks the todo service with the epoch and sequence number of the
// listing it has cached, if any, and keeps using it while the service says
// it is not modified.
func (wb *Handler) listing(ctx context.Context, list, filter, cursor string) (todo.Listing, renderedItems, error) {
	key := listingKey{list, filter, cursor}
	wb.cacheMu.Lock()
	c, ok := wb.listings[key]
	wb.cacheMu.Unlock()
	req := todo.ListTodos{List: list, Filter: filter, Cursor: cursor}
	if ok {
		req.Epoch, req.Seq = c.lst.Epoch, todo.Int(c.lst.Seq)
	}
	lst, err := todo.List.Call(ctx, wb.svc, req)
	if err != nil {
		return todo.Listing{}, renderedItems{}, err
	}
	if lst.NotModified && ok {
		return c.lst, c.items, nil
	}
	each := make([]template.HTML, 0, len(lst.Todos))
	for _, td := range lst.Todos {
		h, err := wb.items.render(wb, td)
		if err != nil {
			return todo.Listing{}, renderedItems{}, fmt.Errorf("web: template item: %w", err)
		}
		each = append(each, h)
	}
	items := renderedItems{each: each, joined: join(each)}
	wb.cacheMu.Lock()
	if wb.listings == nil || len(wb.listings) >= maxCachedListings {
		wb.listings = make(map[listingKey]cachedListing)
	}
	wb.listings[key] = cachedListing{lst: lst, items: items}
	wb.cacheMu.Unlock()
	return lst, items, nil
}

// exec renders one template into HTML that the page includes as is.
func (wb *Handler) exec(name string, data any) (template.HTML, error) {
	var b strings.Builder
	if err := wb.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // #nosec: produced by html/template
}

// itemCache keeps the rendered HTML of todos by id and version: a todo's
// item changes only with its version (title and completion both bump it),
// so a page of 1,000 todos renders only those that changed.
type itemCache struct {
	mu sync.Mutex
	m  map[string]cachedItem
}

type cachedItem struct {
	version int64
	html    template.HTML
}

// maxCachedItems bounds the cache; past it, the cache starts over.
const maxCachedItems = 20000

func (c *itemCache) render(wb *Handler, td store.Todo) (template.HTML, error) {
	c.mu.Lock()
	it, ok := c.m[td.ID]
	c.mu.Unlock()
	if ok && it.version == td.Version {
		return it.html, nil
	}
	h, err := wb.exec("item", td)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedItems {
		c.m = make(map[string]cachedItem)
	}
	c.m[td.ID] = cachedItem{version: td.Version, html: h}
	c.mu.Unlock()
	return h, nil
}

// errorPage is what the error template renders.
type errorPage struct {
	Status  int
	Heading string
	Msg     string
}

// fail answers with the error page (or, for the script, JSON) and the
// status of err's code.
func (wb *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := troupe.CodeOf(err)
	status := gateway.StatusOf(code)
	msg := err.Error()
	var te *troupe.Error
	if errors.As(err, &te) && te.Msg != "" {
		msg = te.Error()
	}
	if status >= 500 {
		wb.log.Warn("web: page failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if fromScript(r) {
		writeJSONError(w, status, msg)
		return
	}
	heading := map[troupe.Code]string{
		troupe.CodeBadRequest:  "That did not work",
		troupe.CodeForbidden:   "Not allowed",
		troupe.CodeNotFound:    "Not found",
		troupe.CodeConflict:    "Changed meanwhile",
		troupe.CodeTimeout:     "The todo service did not answer in time",
		troupe.CodeUnavailable: "The todo service is unavailable",
	}[code]
	if heading == "" {
		heading = "Something went wrong"
	}
	wb.html(w, status, "error.html", errorPage{Status: status, Heading: heading, Msg: msg})
}

func fromScript(r *http.Request) bool { return r.Header.Get("X-Requested-With") == "fetch" }

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// formAction handles a decoded form post and returns where to go next.
type formAction func(ctx context.Context, r *http.Request, list string) (next string, err error)

// form checks and parses a form post with the fields fields, runs act, and
// answers with a redirect (303), 204 for the script, or the page again with
// the validation message.
func (wb *Handler) form(act formAction, fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list := listOf(r)
		if err := parseForm(w, r, fields...); err != nil {
			wb.fail(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
		defer cancel()
		next, err := act(ctx, r, list)
		if err != nil {
			if troupe.CodeOf(err) == troupe.CodeBadRequest && !fromScript(r) && r.PathValue("list") != "" {
				// A validation message: the list again, with the message
				// and what the user typed.
				var te *troupe.Error
				msg := err.Error()
				if errors.As(err, &te) {
					msg = te.Msg
				}
				wb.render(w, r, http.StatusBadRequest, list, page{Filter: r.PostForm.Get("filter"), Cursor: r.PostForm.Get("cursor"), Error: msg, Title: r.PostForm.Get("title")}, "")
				return
			}
			wb.fail(w, r, err)
			return
		}
		if fromScript(r) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// parseForm accepts an urlencoded body of at most MaxFormBytes whose
// fields are among fields, each given once, in valid UTF-8: a form post is
// refused rather than have a field it does not know ignored, or its bytes
// silently replaced with U+FFFD on their way to the todo service.
func parseForm(w http.ResponseWriter, r *http.Request, fields ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/x-www-form-urlencoded" {
		return troupe.Errorf(troupe.CodeBadRequest, "web: form: Content-Type %.60q: want application/x-www-form-urlencoded", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return troupe.Errorf(troupe.CodeBadRequest, "web: form: larger than %d bytes", MaxFormBytes)
		}
		return troupe.Errorf(troupe.CodeBadRequest, "web: form: %v", err)
	}
	for k, vs := range r.PostForm {
		switch {
		case !slices.Contains(fields, k):
			return troupe.Errorf(troupe.CodeBadRequest, "web: form: unknown field %.40q", k)
		case len(vs) > 1:
			return troupe.Errorf(troupe.CodeBadRequest, "web: form: field %.40q given %d times", k, len(vs))
		case !utf8.ValidString(k) || !utf8.ValidString(vs[0]):
			return troupe.Errorf(troupe.CodeBadRequest, "web: form: field %.40q is not valid UTF-8", k)
		}
	}
	return nil
}

// back is the page a form post came from: its list, filter and page.
func back(r *http.Request, list string) string {
	return pageURL(list, r.PostForm.Get("filter"), r.PostForm.Get("cursor"))
}

func (wb *Handler) newList(ctx context.Context, r *http.Request, _ string) (string, error) {
	l, err := todo.ListCreate.Call(ctx, wb.svc, todo.CreateList{Name: r.PostForm.Get("name")})
	if err != nil {
		return "", err
	}
	return listURL(l.ID, ""), nil
}

func (wb *Handler) add(ctx context.Context, r *http.Request, list string) (string, error) {
	_, err := todo.Create.Call(ctx, wb.svc, todo.CreateTodo{List: list, Title: r.PostForm.Get("title")})
	return back(r, list), err
}

func (wb *Handler) edit(ctx context.Context, r *http.Request, list string) (string, error) {
	title := r.PostForm.Get("title")
	_, err := todo.Update.Call(ctx, wb.svc, todo.UpdateTodo{List: list, ID: r.PathValue("id"), Title: &title})
	return back(r, list), err
}

func (wb *Handler) complete(ctx context.Context, r *http.Request, list string) (string, error) {
	var c todo.Bool
	if err := c.UnmarshalJSON([]byte(r.PostForm.Get("completed"))); err != nil {
		return "", troupe.Errorf(troupe.CodeBadRequest, "completed: want true or false")
	}
	_, err := todo.Update.Call(ctx, wb.svc, todo.UpdateTodo{List: list, ID: r.PathValue("id"), Completed: &c})
	return back(r, list), err
}

func (wb *Handler) del(ctx context.Context, r *http.Request, list string) (string, error) {
	_, err := todo.Delete.Call(ctx, wb.svc, todo.TodoRef{List: list, ID: r.PathValue("id")})
	return back(r, list), err
}

func (wb *Handler) clear(ctx context.Context, r *http.Request, list string) (string, error) {
	_, err := todo.Clear.Call(ctx, wb.svc, todo.ClearTodos{List: list, Completed: true})
	return back(r, list), err
}

// Combine returns the handler of the whole application at one address: the
// gateway (gw) for the REST API under /api/, for its own /healthz, /readyz,
// /metrics and API documents (/openapi.json, also at /api/openapi.json, and
// /asyncapi.json, generated from the manifest), and for POST / (seed 001's
// protocol route, which troupe run's hello service uses); the pages for
// everything else.
func Combine(pages *Handler, gw http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", gw)
	mux.Handle("GET /api/openapi.json", http.StripPrefix("/api", gw))
	mux.Handle("POST /{$}", gw)
	for _, p := range []string{gateway.HealthPath, gateway.ReadyPath, gateway.MetricsPath, gateway.OpenAPIPath, gateway.AsyncAPIPath} {
		mux.Handle(p, gw)
	}
	mux.Handle("/", pages)
	return mux
}
