package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/service"
)

// Accounts on the pages (docs/todo.md, "Accounts"):
//
//	GET  /login, POST /login      log in (name, password; next: where to go)
//	GET  /signup, POST /signup    sign up, then log in
//	POST /logout                  end the session
//	GET  /tokens, POST /tokens    API tokens for the REST API (name)
//	POST /tokens/{id}/delete      delete one
//	POST /lists/{list}/share      share a list with a user by name (user)
//
// Every other page needs a session: the session cookie (SessionCookie:
// HttpOnly, SameSite=Lax, Secure over TLS or with Options.SecureCookies)
// is authenticated with a gateway.BusAuthenticator that asks the todo
// service, and the page's requests to the todo service go out on behalf of
// its user (the web service is an edge). A request without a session is
// sent to /login (303), or answered 401 for the page's script.

// SessionCookie is the name of the session cookie.
const SessionCookie = "todo_session"

// svcRequester sends a BusAuthenticator's requests through the service's
// calling side.
type svcRequester struct{ s *service.Service }

func (r svcRequester) Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
	rep, err := service.RequestReply[json.RawMessage](ctx, r.s, name, payload)
	return rep.Env, err
}

// public says whether a path is served without a session.
func public(path string) bool {
	switch path {
	case "/login", "/signup":
		return true
	}
	return strings.HasPrefix(path, "/static/")
}

// authenticate is the pages' middleware: it puts the session's user in the
// request's context, or sends an anonymous visitor to /login.
func (wb *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if public(r.URL.Path) {
		return r, true
	}
	ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
	p, err := wb.auth.Authenticate(ctx, r)
	cancel()
	if err != nil && troupe.CodeOf(err) != troupe.CodeNotFound && troupe.CodeOf(err) != troupe.CodeBadRequest {
		wb.fail(w, r, err)
		return r, false
	}
	if p == nil {
		if err != nil {
			wb.clearCookie(w, r) // ended or unknown: start afresh
		}
		switch {
		case fromScript(r):
			writeJSONError(w, http.StatusUnauthorized, "log in first")
		case isWebSocket(r):
			http.Error(w, "web: log in first", http.StatusUnauthorized)
		case r.Method == http.MethodGet:
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case r.Header.Get("Content-Type") == "":
			http.Error(w, "web: log in first", http.StatusUnauthorized)
		default:
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
		return r, false
	}
	return r.WithContext(troupe.WithPrincipal(r.Context(), p)), true
}

// principal returns the user of an authenticated page request.
func principal(r *http.Request) *troupe.Principal { return troupe.PrincipalFrom(r.Context()) }

func (wb *Handler) setCookie(w http.ResponseWriter, r *http.Request, s todo.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.Expires,
		MaxAge: int(time.Until(s.Expires) / time.Second), HttpOnly: true,
		Secure: r.TLS != nil || wb.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (wb *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || wb.secure, SameSite: http.SameSiteLaxMode})
}

// authPage is what the login and sign-up templates render.
type authPage struct {
	Title, Action, Other, OtherText string
	Name, Next, Error               string
}

// localNext returns next if it is a path on this site, else "/": a login
// never sends its user to another site.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || !utf8.ValidString(next) || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func (wb *Handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	wb.html(w, http.StatusOK, "login.html", authPage{Title: "Log in", Action: "/login", Other: "/signup", OtherText: "Sign up",
		Next: localNext(r.URL.Query().Get("next"))})
}

func (wb *Handler) serveSignUp(w http.ResponseWriter, r *http.Request) {
	wb.html(w, http.StatusOK, "login.html", authPage{Title: "Sign up", Action: "/signup", Other: "/login", OtherText: "Log in",
		Next: localNext(r.URL.Query().Get("next"))})
}

// login logs in (after signing up, if signup) and answers with the cookie
// and a redirect, or the form again with what went wrong.
func (wb *Handler) login(signup bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r, "name", "password", "next"); err != nil {
			wb.fail(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
		defer cancel()
		creds := todo.Credentials{Name: r.PostForm.Get("name"), Password: r.PostForm.Get("password")}
		page := authPage{Title: "Log in", Action: "/login", Other: "/signup", OtherText: "Sign up", Name: creds.Name, Next: localNext(r.PostForm.Get("next"))}
		var err error
		if signup {
			page = authPage{Title: "Sign up", Action: "/signup", Other: "/login", OtherText: "Log in", Name: creds.Name, Next: page.Next}
			_, err = todo.SignUp.Call(ctx, wb.svc, creds)
		}
		var s todo.Session
		if err == nil {
			s, err = todo.Login.Call(ctx, wb.svc, creds)
		}
		if err != nil {
			code := troupe.CodeOf(err)
			if code != troupe.CodeBadRequest && code != troupe.CodeForbidden && code != troupe.CodeConflict {
				wb.fail(w, r, err)
				return
			}
			var te *troupe.Error
			if errors.As(err, &te) {
				page.Error = te.Msg
			}
			wb.html(w, gateway.StatusOf(code), "login.html", page)
			return
		}
		wb.setCookie(w, r, s)
		http.Redirect(w, r, page.Next, http.StatusSeeOther)
	}
}

func (wb *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		wb.fail(w, r, err)
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
		_, err := todo.Logout.Call(ctx, wb.svc, todo.SessionRef{Token: c.Value})
		cancel()
		wb.auth.Forget(c.Value)
		if err != nil {
			wb.fail(w, r, err)
			return
		}
	}
	wb.clearCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// tokensPage is what the tokens template renders.
type tokensPage struct {
	User   *troupe.Principal
	Tokens []store.Token
	New    *todo.NewToken // the token just made, whose secret shows this once
	Error  string
}

func (wb *Handler) serveTokens(w http.ResponseWriter, r *http.Request) {
	wb.tokens(w, r, http.StatusOK, tokensPage{})
}

func (wb *Handler) tokens(w http.ResponseWriter, r *http.Request, status int, p tokensPage) {
	ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
	defer cancel()
	tks, err := todo.TokenList.Call(ctx, wb.svc, struct{}{})
	if err != nil {
		wb.fail(w, r, err)
		return
	}
	p.User, p.Tokens = principal(r), tks.Tokens
	// The page shows a secret: no cache may keep it (html sets no-store).
	wb.html(w, status, "tokens.html", p)
}

func (wb *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r, "name"); err != nil {
		wb.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
	defer cancel()
	tk, err := todo.TokenCreate.Call(ctx, wb.svc, todo.CreateToken{Name: r.PostForm.Get("name")})
	if err != nil {
		if troupe.CodeOf(err) == troupe.CodeBadRequest {
			wb.tokens(w, r, http.StatusBadRequest, tokensPage{Error: errMsg(err)})
			return
		}
		wb.fail(w, r, err)
		return
	}
	wb.tokens(w, r, http.StatusCreated, tokensPage{New: &tk})
}

func (wb *Handler) deleteToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		wb.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wb.timeout)
	defer cancel()
	if _, err := todo.TokenDelete.Call(ctx, wb.svc, todo.TokenRef{ID: r.PathValue("id")}); err != nil {
		wb.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/tokens", http.StatusSeeOther)
}

func (wb *Handler) share(ctx context.Context, r *http.Request, list string) (string, error) {
	_, err := todo.ListShare.Call(ctx, wb.svc, todo.ShareList{List: list, User: r.PostForm.Get("user")})
	return back(r, list), err
}

// errMsg is the message of err for a page.
func errMsg(err error) string {
	var te *troupe.Error
	if errors.As(err, &te) {
		return te.Msg
	}
	return err.Error()
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
