package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/api"
	"github.com/twofold/twofold/internal/server"
	"github.com/twofold/twofold/internal/web"
)

// BenchmarkMeHandler is GET /api/v1/me through the whole server handler
// (middleware, API, service, SQLite), without the network, beside
// BenchmarkMeBaselineHandler, the bare handler the bench compares with:
// the ratio is the part of the overhead that is the server's own, and
// go test -cpuprofile shows where it goes.
func BenchmarkMeHandler(b *testing.B) {
	env := accounttest.New(b)
	_, token := env.SignUp(b, account.SignUpInput{Email: "me@example.com", Password: "correct horse battery", Name: "Me", MobilePhone: "+61 412 345 678"}, account.Client{IP: "127.0.0.1"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil)) // the access log is formatted, not kept
	pages, err := web.New(env.Service, web.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	h := server.Handler(server.Options{Web: pages, API: api.New(env.Service, api.Options{Logger: log}), Logger: log})
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Cookie", cookieName+"="+token)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /api/v1/me = %d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkMeBaselineHandler(b *testing.B) {
	h := BaselineHandler()
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("baseline = %d", w.Code)
		}
	}
}

// BenchmarkForwardHandler is the forward-auth check through the whole
// server handler, from a trusted proxy, among the bench's protected apps,
// beside BenchmarkForwardBaselineHandler.
func BenchmarkForwardHandler(b *testing.B) { benchmarkForward(b) }

// BenchmarkForwardHandlerCached is BenchmarkForwardHandler with the
// forward-auth cache on (TWOFOLD_AUTHZ_CACHE_MS=500): the session is read
// once per 500 ms.
func BenchmarkForwardHandlerCached(b *testing.B) {
	benchmarkForward(b, func(p *account.Policy) { p.AuthzCache = 500 * time.Millisecond })
}

func benchmarkForward(b *testing.B, opts ...func(*account.Policy)) {
	env := accounttest.NewFromEnv(b, opts...)
	_, token := env.SignUp(b, account.SignUpInput{Email: "me@example.com", Password: "correct horse battery", Name: "Me", MobilePhone: "+61 412 345 678"}, account.Client{IP: "127.0.0.1"})
	if err := ensureApps(b.Context(), env.Store); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pages, err := web.New(env.Service, web.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	h := server.Handler(server.Options{Web: pages, API: api.New(env.Service, api.Options{Logger: log, TrustedProxies: trusted, BaseURL: "https://auth.example.com"}),
		Logger: log, TrustedProxies: trusted})
	req := httptest.NewRequest("GET", pathForward, nil)
	req.RemoteAddr = "127.0.0.1:50000"
	req.Header = forwardHeaders.Clone()
	req.Header.Set("Cookie", cookieName+"="+token)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d %s", pathForward, w.Code, w.Body)
		}
	}
}

func BenchmarkForwardBaselineHandler(b *testing.B) {
	h := BaselineHandler()
	req := httptest.NewRequest("GET", pathForward, nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("baseline = %d", w.Code)
		}
	}
}
