package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsClient returns an HTTP/2-capable client that trusts the PEM
// certificate certPEM and follows no redirects.
func tlsClient(t *testing.T, certPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("no certificate in PEM")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func shutdown(t *testing.T, s *Server) {
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// helloOverTLS sends Hello and checks the World reply came over HTTP/2.
func helloOverTLS(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(`{"type":"Hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got, want := string(b), `{"type":"World"}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if got, want := resp.Proto, "HTTP/2.0"; got != want {
		t.Errorf("protocol %s, want %s", got, want)
	}
	if resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("TLS state %+v, want ALPN h2", resp.TLS)
	}
}

func TestTLSSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	g := newGateway(t, Config{})
	s, err := Listen(g, ServerConfig{TLSAddr: "127.0.0.1:0", SelfSigned: true, DataDir: dir, Hosts: []string{"hello.test"}})
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	if s.HTTPURL() != "" || !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Errorf("URLs %q and %q, want HTTPS only", s.HTTPURL(), s.URL())
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, selfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, selfSignedKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want mode 0600", err, fi.Mode().Perm())
	}
	helloOverTLS(t, tlsClient(t, certPEM), s.URL())

	// The certificate is cached: a second server uses the same one.
	s2, err := Listen(g, ServerConfig{TLSAddr: "127.0.0.1:0", SelfSigned: true, DataDir: dir, Hosts: []string{"hello.test"}})
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, s2)
	again, err := os.ReadFile(filepath.Join(dir, selfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(certPEM) {
		t.Error("the cached certificate was replaced")
	}
	helloOverTLS(t, tlsClient(t, certPEM), s2.URL())

	// A certificate that does not cover a new host is replaced.
	if _, err := selfSigned(dir, []string{"other.test"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	replaced, _ := os.ReadFile(filepath.Join(dir, selfSignedCert))
	if string(replaced) == string(certPEM) {
		t.Error("a certificate without the new host was kept")
	}
}

func TestTLSCertFilesAndRedirect(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := generateSelfSigned(certHosts(nil), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, Config{})
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile, RedirectHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	c := tlsClient(t, certPEM)
	helloOverTLS(t, c, s.URL())

	resp, err := c.Post(s.HTTPURL()+"/?a=1", "application/json", strings.NewReader(`{"type":"Hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusPermanentRedirect; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("Location"), s.HTTPSURL()+"/?a=1"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
}

func TestListenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, Config{})
	tests := []struct {
		name string
		cfg  ServerConfig
		want string
	}{
		{"TLS without certificate", ServerConfig{TLSAddr: "127.0.0.1:0"}, "needs CertFile and KeyFile, or SelfSigned"},
		{"cert without key", ServerConfig{TLSAddr: "127.0.0.1:0", CertFile: garbage}, "go together"},
		{"bad cert files", ServerConfig{TLSAddr: "127.0.0.1:0", CertFile: garbage, KeyFile: garbage}, "gateway: tls:"},
		{"redirect without TLS", ServerConfig{Addr: "127.0.0.1:0", RedirectHTTP: true}, "needs both"},
		{"bad address", ServerConfig{Addr: "127.0.0.1:99999"}, "gateway: server:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Listen(g, tt.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Listen succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestHTTP2Hostile sends some of the hostile requests over HTTP/2: the
// answers are the same Errors as over HTTP/1.1.
func TestHTTP2Hostile(t *testing.T) {
	g := newGateway(t, Config{})
	s, err := Listen(g, ServerConfig{TLSAddr: "127.0.0.1:0", SelfSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	cert := s.servers[0].TLSConfig.Certificates[0].Leaf
	c := tlsClient(t, pemOf(cert))
	tests := []struct {
		name, method, ctype, body string
		wantStatus                int
		wantMsg                   string
	}{
		{"invalid JSON", "POST", "application/json", `{"type":`, 400, "invalid JSON"},
		{"array", "POST", "application/json", `[]`, 400, "got an array"},
		{"10 MB", "POST", "application/json", `{"x":"` + strings.Repeat("a", 10<<20) + `"}`, 413, "body larger than"},
		{"nesting", "POST", "application/json", nested(10000), 400, "nested deeper"},
		{"GET", "GET", "", ``, 405, "method GET not allowed"},
		{"text/plain", "POST", "text/plain", `{"type":"Hello"}`, 415, "want application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.URL(), strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e errorBody
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.ProtoMajor != 2 || resp.StatusCode != tt.wantStatus || e.Type != "Error" || !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("%s %d %+v, want HTTP/2 %d and an Error containing %q", resp.Proto, resp.StatusCode, e, tt.wantStatus, tt.wantMsg)
			}
			helloOverTLS(t, c, s.URL())
		})
	}
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
