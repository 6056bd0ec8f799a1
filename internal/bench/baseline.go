package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"
)

// meBody has the shape of the answer of GET /api/v1/me (internal/api).
type meBody struct {
	Email       string `json:"email"`
	Name        string `json:"name"`
	MobilePhone string `json:"mobile_phone"`
	TwoFactor   struct {
		Enabled              bool `json:"enabled"`
		BackupCodesRemaining int  `json:"backup_codes_remaining"`
	} `json:"two_factor"`
}

// BaselineHandler is the bare net/http handler the authenticated-request
// figure is compared with: GET /api/v1/me answers the same JSON as the
// real endpoint for a seeded user, encoded per request, with no session,
// database or middleware.
func BaselineHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request) {
		var body meBody
		body.Email, body.Name, body.MobilePhone = "bench-me-0@example.com", "Bench User", "+61412345678"
		body.TwoFactor.Enabled = true
		b, err := json.Marshal(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
	})
	// The forward-auth check: 200 with who it is, as twofold answers a
	// signed-in session.
	mux.HandleFunc("GET /api/v1/authz/forward-auth", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Remote-User", "bench-forward-0@example.com")
		h.Set("Remote-Email", "bench-forward-0@example.com")
		h.Set("Remote-Name", "Bench User")
		h.Set("Remote-Groups", "member")
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// ServeBaseline serves BaselineHandler on ln until ctx ends.
func ServeBaseline(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: BaselineHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Baseline is a running baseline server.
type Baseline struct {
	URL  string
	PID  int // 0 when it runs inside the bench process (no RSS then)
	Stop func()
}

// inProcessBaseline runs the baseline in this process: used when no
// separate process can be started (the CLI starts one, so that it does
// not share a Go runtime with the load generator, as the real server
// does not).
func inProcessBaseline(ctx context.Context) (*Baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = ServeBaseline(ctx, ln); close(done) }()
	return &Baseline{URL: "http://" + ln.Addr().String(), Stop: func() { cancel(); <-done }}, nil
}
