package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/autocommit"
)

const pathForward = "/api/v1/authz/forward-auth"

// forwardHeaders are what Caddy or Traefik send with each check: the
// original request of a protected app.
var forwardHeaders = http.Header{
	"X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"},
	"X-Forwarded-Host": {"app.example.com"}, "X-Forwarded-Uri": {"/reports/2026?page=3"},
	"Accept": {"text/html"},
}

// benchApps are the protected apps a run makes sure exist, so each check
// picks its rule among several, as on a server protecting a few apps.
var benchApps = []account.ProtectedApp{
	{Host: "app.example.com", Access: account.AccessSignedIn},
	{Host: "app.example.com", PathPrefix: "/admin/", Access: account.AccessAdmins},
	{Host: "*.example.com", Access: account.AccessSignedIn, RequireTwoFactor: true},
	{Host: "wiki.example.com", Access: account.AccessSignedIn},
	{Host: "grafana.example.com", Access: account.AccessAdmins},
	{Host: "git.example.com", PathPrefix: "/admin/", Access: account.AccessAdmins},
	{Host: "git.example.com", Access: account.AccessSignedIn},
	{Host: "*.internal.example.net", Access: account.AccessAdmins},
}

// ensureApps adds benchApps that a previous run did not.
func ensureApps(ctx context.Context, st account.Store) error {
	w := autocommit.Wrap(st)
	for _, a := range benchApps {
		a := a
		if err := w.CreateProtectedApp(ctx, &a); err != nil && !errors.Is(err, account.ErrAppExists) {
			return fmt.Errorf("bench: protected apps: %w", err)
		}
	}
	return nil
}

// runForward measures the forward-auth check against the bare baseline
// (which answers the same 200 with the same headers, without a session,
// a database or middleware) and then against twofold, in the same run.
func runForward(ctx context.Context, cfg *Config, sc Scenario, g *group, c *client, measure func(string, int, *client, operation) Result) ([]Result, error) {
	if st, ok := cfg.Seeder.(account.Store); ok {
		if err := ensureApps(ctx, st); err != nil {
			return nil, err
		}
	}
	tokens, err := signInAll(ctx, c, g.users)
	if err != nil {
		return nil, err
	}
	check := func(cl *client) operation {
		return func(ctx context.Context, w int) (outcome, bool) {
			o, _ := cl.doWith(ctx, "GET", pathForward, tokens[w], nil, forwardHeaders)
			return o, false
		}
	}
	if o, _ := c.doWith(ctx, "GET", pathForward, tokens[0], nil, forwardHeaders); o.code == "untrusted_proxy" {
		// Skipped, not failed: the other scenarios of the run still count.
		cfg.logf("forward: skipped, the server does not trust the bench as a proxy: start it with TWOFOLD_TRUSTED_PROXIES=127.0.0.0/8")
		return nil, nil
	}
	start := cfg.StartBaseline
	if start == nil {
		start = inProcessBaseline
	}
	b, err := start(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: start baseline: %w", err)
	}
	bc := newClient(b.URL, sc.Concurrency, cfg.source)
	base := measure("baseline", b.PID, bc, check(bc))
	bc.close()
	b.Stop()
	real := measure("twofold", cfg.ServerPID, c, check(c))
	return []Result{base, real}, nil
}

// forwardChecks judges the forward-auth targets of issue 13: at least 0.50
// of bare net/http on SQLite, 0.35 on PostgreSQL, p99 under 10 ms, at 64
// clients.
func forwardChecks(rep *Report, fw, base *Result) []Check {
	if fw == nil || base == nil || base.PerSecond <= 0 {
		return nil
	}
	want := 0.50
	if rep.Database == "postgres" {
		want = 0.35
	}
	r := fw.PerSecond / base.PerSecond
	return []Check{
		{Target: fmt.Sprintf("forward-auth checks/s vs bare net/http, %d clients", fw.Concurrency), Value: fw.PerSecond, Baseline: base.PerSecond,
			Ratio: r, Want: fmt.Sprintf("ratio ≥ %.2f on %s, 64 clients", want, rep.Database), Met: r >= want && fw.Errors == 0 && fw.Concurrency >= 64},
		{Target: fmt.Sprintf("forward-auth p99 ms, %d clients", fw.Concurrency), Value: fw.LatencyMS.P99,
			Want: "< 10 ms at 64 clients", Met: fw.LatencyMS.P99 < 10 && fw.Errors == 0 && fw.Concurrency >= 64},
	}
}
