package storetest

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func app(host, prefix string, access account.AppAccess) *account.ProtectedApp {
	return &account.ProtectedApp{Host: host, PathPrefix: prefix, Access: access, CreatedAt: t0}
}

// testProtectedApps checks the apps' writes and reads: unique host and
// path prefix, updates and deletes of a missing id, the default rule.
func testProtectedApps(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	if def, err := s.DefaultAppAccess(ctx); err != nil || def != account.AccessSignedIn {
		t.Fatalf("DefaultAppAccess() = %q, %v; want everyone", def, err)
	}
	one := app("app.example.com", "", account.AccessSignedIn)
	one.RequireTwoFactor = true
	if err := a.CreateProtectedApp(ctx, one); err != nil || one.ID == 0 {
		t.Fatalf("CreateProtectedApp() = %v, id %d", err, one.ID)
	}
	if err := a.CreateProtectedApp(ctx, app("app.example.com", "", account.AccessAdmins)); !errors.Is(err, account.ErrAppExists) {
		t.Errorf("CreateProtectedApp(same host and prefix) = %v; want ErrAppExists", err)
	}
	two := app("app.example.com", "/admin/", account.AccessAdmins)
	if err := a.CreateProtectedApp(ctx, two); err != nil {
		t.Fatalf("CreateProtectedApp(/admin/) = %v", err)
	}
	two.PathPrefix = ""
	if err := a.UpdateProtectedApp(ctx, two); !errors.Is(err, account.ErrAppExists) {
		t.Errorf("UpdateProtectedApp(onto another's host and prefix) = %v; want ErrAppExists", err)
	}
	two.Host, two.PathPrefix, two.RequireTwoFactor = "*.example.com", "/x/", true
	if err := a.UpdateProtectedApp(ctx, two); err != nil {
		t.Fatalf("UpdateProtectedApp() = %v", err)
	}
	if err := a.UpdateProtectedApp(ctx, &account.ProtectedApp{ID: 9999, Host: "x.example", Access: account.AccessSignedIn}); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UpdateProtectedApp(missing) = %v; want ErrNotFound", err)
	}
	apps, err := s.ProtectedApps(ctx)
	if err != nil || len(apps) != 2 {
		t.Fatalf("ProtectedApps() = %d apps, %v; want 2", len(apps), err)
	}
	// By host: "*.example.com" sorts before "app.example.com".
	if got := *apps[0]; got != *two {
		t.Errorf("ProtectedApps()[0] = %+v; want %+v", got, *two)
	}
	if got := *apps[1]; got != *one {
		t.Errorf("ProtectedApps()[1] = %+v; want %+v", got, *one)
	}
	gone, err := a.DeleteProtectedApp(ctx, one.ID)
	if err != nil || *gone != *one {
		t.Fatalf("DeleteProtectedApp() = %+v, %v; want %+v", gone, err, *one)
	}
	if _, err := a.DeleteProtectedApp(ctx, one.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DeleteProtectedApp(again) = %v; want ErrNotFound", err)
	}
	if err := a.SetDefaultAppAccess(ctx, account.AccessDeny); err != nil {
		t.Fatal(err)
	}
	if def, err := s.DefaultAppAccess(ctx); err != nil || def != account.AccessDeny {
		t.Errorf("DefaultAppAccess() = %q, %v; want deny", def, err)
	}
}

// testSessionForAppMatch checks that the store's SQL picks the app that
// account.ProtectedApp.Matches and account.MoreSpecific pick, for hosts
// and paths at every edge, and that the read carries the session, its
// account and the default rule.
func testSessionForAppMatch(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	if err := a.CreateSession(ctx, session(u.ID, "h1", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	apps := []*account.ProtectedApp{
		app("app.example.com", "", account.AccessSignedIn),
		app("app.example.com", "/admin/", account.AccessAdmins),
		app("app.example.com", "/admin/deep/", account.AccessSignedIn),
		app("*.example.com", "", account.AccessAdmins),
		app("*.b.example.com", "", account.AccessSignedIn),
		app("*.b.example.com", "/p/", account.AccessAdmins),
		app("x_y.example.com", "", account.AccessSignedIn), // "_" is no LIKE wildcard here
		app("exampleacom", "", account.AccessSignedIn),
		app("pct.example.org", "/100%/", account.AccessAdmins),
	}
	for _, p := range apps {
		if err := a.CreateProtectedApp(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	hosts := []string{"app.example.com", "example.com", "a.example.com", "a.b.example.com", "b.example.com",
		"x.a.b.example.com", "xapp.example.com", "app.example.com.evil", "evilexample.com", "xay.example.com",
		"x_y.example.com", "exampleacom", "pct.example.org", "com", ""}
	paths := []string{"/", "/admin", "/admin/", "/admin/x", "/administrator", "/admin/deep", "/admin/deeper",
		"/admin/deep/x", "/p", "/p/q", "/pq", "/100%", "/100%/x", "/100x/x", "/ADMIN"}
	for _, host := range hosts {
		for _, p := range paths {
			var want *account.ProtectedApp
			for _, c := range apps {
				if c.Matches(host, p) && (want == nil || account.MoreSpecific(c, want)) {
					want = c
				}
			}
			sess, rule, err := s.SessionForApp(ctx, "h1", host, p)
			if err != nil {
				t.Fatalf("SessionForApp(%q, %q) = %v", host, p, err)
			}
			if sess.UserID != u.ID || sess.Profile == nil || sess.Profile.User.Email != u.Email {
				t.Fatalf("SessionForApp(%q, %q) session = %+v; want ana's with her profile", host, p, sess)
			}
			switch {
			case want == nil && rule.App != nil:
				t.Errorf("SessionForApp(%q, %q) app = %s%s; want none", host, p, rule.App.Host, rule.App.PathPrefix)
			case want != nil && (rule.App == nil || *rule.App != *want):
				t.Errorf("SessionForApp(%q, %q) app = %+v; want %s%s", host, p, rule.App, want.Host, want.PathPrefix)
			}
			if rule.Default != account.AccessSignedIn {
				t.Errorf("SessionForApp() default = %q; want everyone", rule.Default)
			}
		}
	}
	if _, _, err := s.SessionForApp(ctx, "nope", "app.example.com", "/"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("SessionForApp(unknown token) = %v; want ErrNotFound", err)
	}
	if err := a.SetDefaultAppAccess(ctx, account.AccessDeny); err != nil {
		t.Fatal(err)
	}
	if _, rule, err := s.SessionForApp(ctx, "h1", "other.test", "/"); err != nil || rule.App != nil || rule.Access() != account.AccessDeny {
		t.Errorf("SessionForApp(unlisted host) = %+v, %v; want the default, deny", rule, err)
	}
}

// testRaceRuleChangeAgainstDecisions streams decisions for a member
// through one handle while an administrator's change to administrators
// only commits through the other: every read that starts after the commit
// returned sees the new rule. Nothing caches a rule.
func testRaceRuleChangeAgainstDecisions(t *testing.T, open Opener) {
	s, other := twoHandles(open, t)
	u := newUser(t, s, "member@example.com")
	if err := AutoCommit(s).CreateSession(ctx, session(u.ID, "m1", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	p := app("app.example.com", "", account.AccessSignedIn)
	if err := AutoCommit(s).CreateProtectedApp(ctx, p); err != nil {
		t.Fatal(err)
	}
	var committed atomic.Bool
	var passedAfter, reads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := committed.Load()
				_, rule, err := s.SessionForApp(ctx, "m1", "app.example.com", "/x")
				if err != nil {
					t.Error(err)
					return
				}
				reads.Add(1)
				if after && rule.Access() == account.AccessSignedIn {
					passedAfter.Add(1)
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // decisions are streaming
	p.Access = account.AccessAdmins
	if err := AutoCommit(other).UpdateProtectedApp(ctx, p); err != nil {
		t.Fatal(err)
	}
	committed.Store(true)
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := passedAfter.Load(); n != 0 {
		t.Errorf("%d of %d reads started after the change committed still saw everyone signed in", n, reads.Load())
	}
	apps, _ := s.ProtectedApps(ctx)
	if !slices.ContainsFunc(apps, func(a *account.ProtectedApp) bool { return a.Access == account.AccessAdmins }) {
		t.Errorf("ProtectedApps() = %v; want the change", apps)
	}
}
