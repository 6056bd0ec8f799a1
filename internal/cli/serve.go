package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/twofold/twofold/internal/api"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/notify"
	"github.com/twofold/twofold/internal/oidc"
	"github.com/twofold/twofold/internal/server"
	"github.com/twofold/twofold/internal/web"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, _, err := newApp(ctx, "serve", createAndMigrate, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()

	// Parsed before the pages are built: they tell a person whether a
	// sign-up link was mailed or waits in the outbox for the operator.
	var mailer *notify.SMTPMailer
	if a.cfg.SMTPURL != "" {
		if mailer, err = notify.ParseSMTPURL(a.cfg.SMTPURL); err != nil {
			return fmt.Errorf("TWOFOLD_SMTP_URL: %w", err)
		}
	}
	pages, err := web.New(a.service, web.Options{Secure: a.cfg.Secure(), Logger: a.log, SendsEmail: mailer != nil, CookieDomain: a.cfg.CookieDomain,
		BaseURL: a.cfg.BaseURL})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	// The protocol library logs through the default logger: the server's.
	slog.SetDefault(a.log)
	provider, err := oidc.New(a.service, oidc.Options{Issuer: issuer(a.cfg.BaseURL, ln.Addr()), Logger: a.log,
		Cookies: httpauth.Cookies{Secure: a.cfg.Secure(), Domain: a.cfg.CookieDomain}})
	if err != nil {
		ln.Close()
		return err
	}
	var instrument func(http.Handler) http.Handler
	if a.metrics != nil {
		instrument = a.metrics.Middleware
	}
	handler := server.Handler(server.Options{
		Instrument: instrument,
		Web:        pages,
		OIDC:       provider,
		API: api.New(a.service, api.Options{Secure: a.cfg.Secure(), Logger: a.log,
			CookieDomain: a.cfg.CookieDomain, TrustedProxies: a.cfg.TrustedProxies, BaseURL: a.cfg.BaseURL}),
		Secure:         a.cfg.Secure(),
		Logger:         a.log,
		TrustedProxies: a.cfg.TrustedProxies,
		Ready:          func(r *http.Request) error { return a.store.Ping(r.Context()) },
	})
	srv := &http.Server{
		Addr:              a.cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Logged before "listening", like the setup link. Each channel is sent
	// when its sender is configured and otherwise left queued: mail without
	// SMTP waits, texts without Twilio wait, and either is sent without
	// the other.
	sender := &notify.Sender{Store: a.store, Log: a.log, Now: time.Now, MaxAttempts: notify.MaxAttempts}
	if mailer != nil {
		sender.Mailer = mailer
	} else {
		a.log.Info("TWOFOLD_SMTP_URL is not set: sign-up links and security notifications stay in the outbox (twofold outbox list; twofold outbox show ID prints one)")
	}
	if a.cfg.SendsText() {
		sender.Texts = notify.NewTwilio(a.cfg.TwilioAPIURL, a.cfg.TwilioAccountSID, a.cfg.TwilioAuthToken, a.cfg.TwilioFrom)
		a.log.Info("text messages are sent through Twilio", "api_url", a.cfg.TwilioAPIURL, "from", a.cfg.TwilioFrom)
	} else {
		a.log.Info("SMS wait in the outbox: set TWOFOLD_TWILIO_ACCOUNT_SID, TWOFOLD_TWILIO_AUTH_TOKEN and TWOFOLD_TWILIO_FROM to send them through Twilio (twofold outbox list shows them)")
	}
	if a.metrics != nil {
		// Before "listening": whoever waits for that line finds both.
		a.metrics.WatchOutbox(a.store, notify.MaxAttempts, sender.Channels(), time.Now)
		metricsSrv, err := serveMetrics(a)
		if err != nil {
			ln.Close()
			return err
		}
		defer metricsSrv.Close()
	}
	// Logged before "listening", once per start: whoever waits for that
	// line has the link too.
	setupLink, err := a.service.CreateSetupLink(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if setupLink != "" {
		a.log.Info("no administrator yet: open the setup link to create the first one (it works once, for 24 hours; restart for a new one)", "setup_url", setupLink)
	}
	a.log.Info("twofold is listening", "addr", ln.Addr().String(), "base_url", a.cfg.BaseURL, "database", a.cfg.DatabaseForDisplay())
	if a.cfg.AuthzCacheMS > 0 {
		a.log.Info("forward-auth checks may decide by a read of their session up to TWOFOLD_AUTHZ_CACHE_MS old: a sign-out, deactivation, 2FA reset or rule change on another instance takes up to that long to reach this one's checks (on this instance, at once)", "authz_cache_ms", a.cfg.AuthzCacheMS)
	}
	if !a.cfg.BaseURLReachable() {
		a.log.Warn("the base URL is not an address users can open, and sign-up links point at it: set TWOFOLD_BASE_URL to the URL users reach", "base_url", a.cfg.BaseURL)
	}

	go cleanupLoop(ctx, a)
	if len(sender.Channels()) > 0 {
		if a.metrics != nil {
			sender.Observer = a.metrics
		}
		a.wake = sender.Wake
		go sender.Run(ctx, 15*time.Second)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing requests in flight", "timeout", a.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info("stopped")
	return nil
}

// cleanupLoop deletes expired sessions and old throttle rows about once a
// minute; the jitter spreads the work when many instances share a database.
func cleanupLoop(ctx context.Context, a *app) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(45*time.Second + rand.N(30*time.Second)):
		}
		if err := a.service.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("cleanup of expired sessions and throttle rows", "err", err)
		}
	}
}

// serveMetrics serves GET /metrics, and nothing else, on --metrics-addr:
// a listener of its own, so the public port never shows them.
func serveMetrics(a *app) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	srv := &http.Server{
		Addr:              a.cfg.MetricsAddr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	a.log.Info("metrics are served", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "err", err)
		}
	}()
	return srv, nil
}

// issuer is the OpenID provider's issuer: the base URL, except that a base
// URL taken from a listen address on port 0 (a test, a trial) names the
// port the listener got, so that apps can reach the issuer they are told.
func issuer(baseURL string, addr net.Addr) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Port() != "0" {
		return baseURL
	}
	if tcp, ok := addr.(*net.TCPAddr); ok {
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(tcp.Port))
	}
	return u.String()
}
