package account_test

import (
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
)

const testAuthzCache = 300 * time.Millisecond

func withAuthzCache(p *account.Policy) { p.AuthzCache = testAuthzCache }

// twoInstancesCached is twoInstances with the forward-auth cache on the
// second instance.
var twoInstancesCached = map[string]func(t *testing.T) (*accounttest.Env, *accounttest.Env){
	"sqlite": func(t *testing.T) (*accounttest.Env, *accounttest.Env) {
		a := accounttest.New(t, inviteOnly)
		st, err := accounttest.OpenSQLite(a.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return a, accounttest.NewOnStore(t, st, inviteOnly, withAuthzCache)
	},
	"postgres": func(t *testing.T) (*accounttest.Env, *accounttest.Env) {
		dsn := accounttest.PostgresDatabase(t)
		var envs []*accounttest.Env
		for _, opts := range [][]func(*account.Policy){{inviteOnly}, {inviteOnly, withAuthzCache}} {
			st, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			envs = append(envs, accounttest.NewOnStore(t, st, opts...))
		}
		return envs[0], envs[1]
	},
}

// With Policy.AuthzCache, a stream of checks of one session reads the
// store once per AuthzCache; a half-signed-in session or an unknown token
// is read every time.
func TestAuthzCacheReadsOncePerInterval(t *testing.T) {
	t.Parallel()
	fs := accounttest.NewFaultStore(accounttest.New(t, inviteOnly).Store)
	env := accounttest.NewOnStore(t, fs, inviteOnly, withAuthzCache)
	w := newAuthzWorld(t, env)
	w.addApp(t, "app.example.com", "", account.AccessSignedIn, false)
	pending, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: w.twofaEmail, Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); err != nil || d.Outcome != account.AuthzAllow {
		t.Fatalf("Authorize = %d, %v", d.Outcome, err)
	}
	fs.Reset(0, 0)
	start := time.Now()
	for range 20 {
		if d, err := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); err != nil || d.Outcome != account.AuthzAllow || d.User.Email != "bo@example.com" {
			t.Fatalf("Authorize (cached) = %+v, %v", d, err)
		}
	}
	if c := fs.Counts(); c.Reads != 0 && time.Since(start) < testAuthzCache/2 {
		t.Errorf("20 checks within the interval: %d reads (%v); want none", c.Reads, c.Ops)
	}
	for _, token := range []string{pending, "nope"} {
		fs.Reset(0, 0)
		env.Service.Authorize(ctx, token, "app.example.com", "/")
		env.Service.Authorize(ctx, token, "app.example.com", "/")
		if c := fs.Counts(); c.Reads != 2 {
			t.Errorf("two checks of a session that is not fully signed in: %d reads; want 2", c.Reads)
		}
	}
	time.Sleep(testAuthzCache)
	fs.Reset(0, 0)
	env.Service.Authorize(ctx, w.member, "app.example.com", "/")
	if c := fs.Counts(); c.Reads != 1 {
		t.Errorf("a check after the interval: %d reads; want 1", c.Reads)
	}
}

// With the cache on an instance, a change committed through that same
// instance decides its very next check: every transaction of the service
// invalidates what its checks read before.
func TestAuthzCacheSameInstanceAtOnce(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly, withAuthzCache)
	w := newAuthzWorld(t, env)
	app := w.addApp(t, "app.example.com", "", account.AccessSignedIn, false)
	want := func(what, token string, outcome account.AuthzOutcome) {
		t.Helper()
		if d, err := env.Service.Authorize(ctx, token, "app.example.com", "/"); err != nil || d.Outcome != outcome {
			t.Errorf("%s: decides %d, %v; want %d", what, d.Outcome, err, outcome)
		}
	}
	want("before", w.member, account.AuthzAllow)
	if _, err := env.Service.UpdateProtectedApp(ctx, w.admin, app.ID, account.AppInput{Host: app.Host, Access: account.AccessAdmins}, nil, client); err != nil {
		t.Fatal(err)
	}
	want("administrators only", w.member, account.AuthzForbidden)
	if _, err := env.Service.UpdateProtectedApp(ctx, w.admin, app.ID, account.AppInput{Host: app.Host, Access: account.AccessSignedIn}, nil, client); err != nil {
		t.Fatal(err)
	}
	want("everyone again", w.member, account.AuthzAllow)
	want("2FA on", w.twofa, account.AuthzAllow)
	twofa, err := env.Service.Authenticate(ctx, w.twofa)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.ResetTwoFactorFor(ctx, w.admin, twofa.UserID, "checked her passport in person", client); err != nil {
		t.Fatal(err)
	}
	want("2FA reset", w.twofa, account.AuthzSignIn)
	if _, err := env.Service.UpdateUser(ctx, w.admin, w.memberID, account.UserUpdate{Active: active(false)}, client); err != nil {
		t.Fatal(err)
	}
	want("deactivated", w.member, account.AuthzSignIn)
	if err := env.Service.SignOut(ctx, w.adminToken, client); err != nil {
		t.Fatal(err)
	}
	want("signed out", w.adminToken, account.AuthzSignIn)
}

// With the cache on the other instance, a sign-out, a 2FA reset, a
// deactivation and a rule change made through one instance decide every
// check of the other that starts AuthzCache after the change returned
// (issue 13: within a second), on both stores.
func TestAuthzCacheAcrossInstancesWithinInterval(t *testing.T) {
	t.Parallel()
	for name, open := range twoInstancesCached {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := open(t)
			w := newAuthzWorld(t, a)
			app := w.addApp(t, "app.example.com", "", account.AccessSignedIn, false)
			// settles checks b makes of token until they decide outcome:
			// each change is made while b's checks stream (so b holds a
			// fresh read), and from AuthzCache after it no check may
			// decide otherwise.
			settles := func(what, token string, outcome account.AuthzOutcome, change func()) {
				t.Helper()
				for range 5 {
					b.Service.Authorize(ctx, token, "app.example.com", "/")
				}
				change()
				done := time.Now()
				var stale time.Duration
				for time.Since(done) < testAuthzCache+200*time.Millisecond {
					started := time.Now()
					d, err := b.Service.Authorize(ctx, token, "app.example.com", "/")
					if err != nil {
						t.Fatal(err)
					}
					if d.Outcome != outcome {
						if started.Sub(done) >= testAuthzCache {
							t.Errorf("%s: a check started %v after the change decides %d; want %d", what, started.Sub(done), d.Outcome, outcome)
							return
						}
						stale = started.Sub(done)
					}
					time.Sleep(5 * time.Millisecond)
				}
				t.Logf("%s: the other instance decided by the old read for %v (bound %v)", what, stale, testAuthzCache)
			}
			settles("administrators only", w.member, account.AuthzForbidden, func() {
				if _, err := a.Service.UpdateProtectedApp(ctx, w.admin, app.ID, account.AppInput{Host: app.Host, Access: account.AccessAdmins}, nil, client); err != nil {
					t.Fatal(err)
				}
			})
			settles("everyone again", w.member, account.AuthzAllow, func() {
				if _, err := a.Service.UpdateProtectedApp(ctx, w.admin, app.ID, account.AppInput{Host: app.Host, Access: account.AccessSignedIn}, nil, client); err != nil {
					t.Fatal(err)
				}
			})
			twofa, err := a.Service.Authenticate(ctx, w.twofa)
			if err != nil {
				t.Fatal(err)
			}
			settles("2FA reset", w.twofa, account.AuthzSignIn, func() {
				if _, err := a.Service.ResetTwoFactorFor(ctx, w.admin, twofa.UserID, "checked her passport in person", client); err != nil {
					t.Fatal(err)
				}
			})
			settles("deactivated", w.member, account.AuthzSignIn, func() {
				if _, err := a.Service.UpdateUser(ctx, w.admin, w.memberID, account.UserUpdate{Active: active(false)}, client); err != nil {
					t.Fatal(err)
				}
			})
			settles("signed out", w.adminToken, account.AuthzSignIn, func() {
				if err := a.Service.SignOut(ctx, w.adminToken, client); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
