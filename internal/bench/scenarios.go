package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

const (
	pathSession   = "/api/v1/session"
	pathTwoFactor = "/api/v1/session/two-factor"
	pathMe        = "/api/v1/me"
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type codeBody struct {
	Code string `json:"code"`
}

// prepConcurrency is how many password steps run at once while preparing
// (below the server's hash queue, so none is turned away).
const prepConcurrency = 8

func runScenario(ctx context.Context, cfg *Config, sc Scenario, g *group) ([]Result, error) {
	c := newClient(cfg.URL, sc.Concurrency, cfg.source)
	defer c.close()
	measure := func(target string, pid int, cl *client, op operation) Result {
		cfg.logf("%s against %s: %d clients for %s", sc.Name, target, sc.Concurrency, cfg.Duration)
		w, cpu := watchRSS(pid), watchCPU(pid)
		st := drive(ctx, sc.Concurrency, cfg.Duration, sc.Rate, op)
		r := Result{Scenario: sc.Name, Target: target, Stats: st, CPU: cpu.finish(st.Completed), ServerRSS: w.finish()}
		cfg.logf("  %.0f/s, p99 %.1f ms, %d errors", st.PerSecond, st.LatencyMS.P99, st.Errors)
		return r
	}
	switch sc.Name {
	case ScenarioMe:
		tokens, err := signInAll(ctx, c, g.users)
		if err != nil {
			return nil, err
		}
		me := func(cl *client) operation {
			return func(ctx context.Context, w int) (outcome, bool) {
				o, _ := cl.do(ctx, "GET", pathMe, tokens[w], nil)
				return o, false
			}
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
		base := measure("baseline", b.PID, bc, me(bc))
		bc.close()
		b.Stop()
		real := measure("twofold", cfg.ServerPID, c, me(c))
		return []Result{base, real}, nil

	case ScenarioForward:
		return runForward(ctx, cfg, sc, g, c, measure)

	case ScenarioSignIn:
		var next atomic.Int64
		op := func(ctx context.Context, w int) (outcome, bool) {
			i := int(next.Add(1) - 1)
			if i >= len(g.users) {
				return outcome{}, true
			}
			u := g.users[i]
			o, pending := c.do(ctx, "POST", pathSession, "", credentials{u.email, benchPassword})
			if !o.ok {
				return o, false
			}
			o, _ = c.do(ctx, "POST", pathTwoFactor, pending, codeBody{totp.Code(u.secret, time.Now())})
			return o, false
		}
		return []Result{measure("twofold", cfg.ServerPID, c, op)}, nil

	case ScenarioCode:
		cfg.logf("code: password step for %d users (cheap hash, %d at a time)", len(g.users), prepConcurrency)
		pending, err := passwordStepAll(ctx, c, g.users)
		if err != nil {
			return nil, err
		}
		var next atomic.Int64
		op := func(ctx context.Context, w int) (outcome, bool) {
			i := int(next.Add(1) - 1)
			if i >= len(g.users) {
				return outcome{}, true
			}
			o, _ := c.do(ctx, "POST", pathTwoFactor, pending[i], codeBody{totp.Code(g.users[i].secret, time.Now())})
			return o, false
		}
		return []Result{measure("twofold", cfg.ServerPID, c, op)}, nil

	case ScenarioPassword:
		var next atomic.Int64
		op := func(ctx context.Context, w int) (outcome, bool) {
			u := g.users[int(next.Add(1)-1)%len(g.users)]
			o, _ := c.do(ctx, "POST", pathSession, "", credentials{u.email, benchPassword})
			return o, false
		}
		return []Result{measure("twofold", cfg.ServerPID, c, op)}, nil
	}
	return nil, fmt.Errorf("bench: unknown scenario %q", sc.Name)
}

// passwordStepAll does the password step for every user, a few at a time,
// and returns the pending sessions' tokens.
func passwordStepAll(ctx context.Context, c *client, users []benchUser) ([]string, error) {
	tokens := make([]string, len(users))
	err := forEach(len(users), func(i int) error {
		o, token := c.do(ctx, "POST", pathSession, "", credentials{users[i].email, benchPassword})
		if !o.ok || token == "" {
			return fmt.Errorf("bench: password step for %s: status %d %s", users[i].email, o.status, o.code)
		}
		tokens[i] = token
		return nil
	})
	return tokens, err
}

// signInAll signs every user fully in and returns the sessions' tokens.
func signInAll(ctx context.Context, c *client, users []benchUser) ([]string, error) {
	pending, err := passwordStepAll(ctx, c, users)
	if err != nil {
		return nil, err
	}
	tokens := make([]string, len(users))
	err = forEach(len(users), func(i int) error {
		o, token := c.do(ctx, "POST", pathTwoFactor, pending[i], codeBody{totp.Code(users[i].secret, time.Now())})
		if !o.ok || token == "" {
			return fmt.Errorf("bench: code step for %s: status %d %s", users[i].email, o.status, o.code)
		}
		tokens[i] = token
		return nil
	})
	return tokens, err
}

// forEach calls fn for 0..n-1, prepConcurrency at a time, and returns the
// first error.
func forEach(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(prepConcurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
