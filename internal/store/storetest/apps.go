package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
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

// testSessionForAppVersion checks the one read of a decision (the
// session, its account, the default rule, the version of the apps) and
// that every change to the apps, and only a change, bumps the version that
// ProtectedAppsVersion reads with the list.
func testSessionForAppVersion(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	if err := a.CreateSession(ctx, session(u.ID, "h1", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	read := func() account.AppsState {
		t.Helper()
		sess, state, err := s.SessionForApp(ctx, "h1")
		if err != nil || sess.UserID != u.ID || sess.Profile == nil || sess.Profile.User.Email != u.Email {
			t.Fatalf("SessionForApp() = %+v, %v; want ana's session with her profile", sess, err)
		}
		apps, v, err := s.ProtectedAppsVersion(ctx)
		if err != nil || v != state.Version {
			t.Fatalf("ProtectedAppsVersion() = %d apps, version %d, %v; want version %d", len(apps), v, err, state.Version)
		}
		return state
	}
	// A deactivated account's session is not read at all: the store
	// enforces "never", not only the service.
	deact := newUser(t, s, "deact@example.com")
	if err := a.CreateSession(ctx, session(deact.ID, "h-deact", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	if err := a.SetDeactivated(ctx, deact.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionForApp(ctx, "h-deact"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("SessionForApp(a deactivated account's session) = %v; want ErrNotFound", err)
	}
	last := read()
	if last.Default != account.AccessSignedIn {
		t.Errorf("default = %q; want everyone", last.Default)
	}
	one := app("app.example.com", "", account.AccessSignedIn)
	steps := []struct {
		what   string
		change func() error
		bumps  bool
	}{
		{"create", func() error { return a.CreateProtectedApp(ctx, one) }, true},
		{"create a duplicate", func() error { return a.CreateProtectedApp(ctx, app("app.example.com", "", account.AccessAdmins)) }, false},
		{"update", func() error { one.Access = account.AccessAdmins; return a.UpdateProtectedApp(ctx, one) }, true},
		{"update a missing app", func() error {
			return a.UpdateProtectedApp(ctx, &account.ProtectedApp{ID: 9999, Host: "x.example", Access: account.AccessSignedIn})
		}, false},
		{"set the default", func() error { return a.SetDefaultAppAccess(ctx, account.AccessDeny) }, true},
		{"create another", func() error { return a.CreateProtectedApp(ctx, app("*.example.com", "/x/", account.AccessSignedIn)) }, true},
		{"delete", func() error { _, err := a.DeleteProtectedApp(ctx, one.ID); return err }, true},
		{"delete again", func() error { _, err := a.DeleteProtectedApp(ctx, one.ID); return err }, false},
	}
	for _, st := range steps {
		err := st.change()
		if (err == nil) != st.bumps {
			t.Fatalf("%s = %v", st.what, err)
		}
		now := read()
		if bumped := now.Version > last.Version; bumped != st.bumps {
			t.Errorf("%s: version %d → %d; want bumped %v", st.what, last.Version, now.Version, st.bumps)
		}
		last = now
	}
	if last.Default != account.AccessDeny {
		t.Errorf("default = %q; want deny", last.Default)
	}
	apps, _, err := s.ProtectedAppsVersion(ctx)
	if err != nil || len(apps) != 1 || apps[0].Host != "*.example.com" || apps[0].PathPrefix != "/x/" {
		t.Errorf("ProtectedAppsVersion() = %v, %v; want *.example.com/x/ alone", apps, err)
	}
	if _, _, err := s.SessionForApp(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("SessionForApp(unknown token) = %v; want ErrNotFound", err)
	}
}

// testRaceRuleChangeAgainstDecisions streams decisions' reads for a
// member through one handle while an administrator's change to
// administrators only commits through the other: every read that starts
// after the commit returned sees the new version of the apps, and the
// list read at that version has the new rule.
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
	_, before, err := s.SessionForApp(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Bool
	var staleAfter, reads atomic.Int64
	stop := streaming(4, func() bool {
		after := committed.Load()
		_, state, err := s.SessionForApp(ctx, "m1")
		if err != nil {
			t.Error(err)
			return false
		}
		reads.Add(1)
		if after && state.Version == before.Version {
			staleAfter.Add(1)
		}
		return true
	})
	time.Sleep(20 * time.Millisecond) // decisions are streaming
	p.Access = account.AccessAdmins
	if err := AutoCommit(other).UpdateProtectedApp(ctx, p); err != nil {
		t.Fatal(err)
	}
	committed.Store(true)
	time.Sleep(20 * time.Millisecond)
	stop()
	if n := staleAfter.Load(); n != 0 {
		t.Errorf("%d of %d reads started after the change committed still saw the old version", n, reads.Load())
	}
	apps, _, err := s.ProtectedAppsVersion(ctx)
	if err != nil || !slices.ContainsFunc(apps, func(a *account.ProtectedApp) bool { return a.Access == account.AccessAdmins }) {
		t.Errorf("ProtectedAppsVersion() = %v, %v; want the change", apps, err)
	}
}

// testRequireProtectedApp: the app as read passes; one changed since, or
// missing, is ErrStale.
func testRequireProtectedApp(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	one := app("app.example.com", "/wiki", account.AccessSignedIn)
	if err := a.CreateProtectedApp(ctx, one); err != nil {
		t.Fatal(err)
	}
	read := *one
	if err := a.RequireProtectedApp(ctx, &read); err != nil {
		t.Errorf("RequireProtectedApp(as read) = %v; want nil", err)
	}
	for name, was := range map[string]account.ProtectedApp{
		"other access": {ID: one.ID, Host: one.Host, PathPrefix: one.PathPrefix, Access: account.AccessAdmins},
		"other 2FA":    {ID: one.ID, Host: one.Host, PathPrefix: one.PathPrefix, Access: one.Access, RequireTwoFactor: true},
		"other host":   {ID: one.ID, Host: "x.example.com", PathPrefix: one.PathPrefix, Access: one.Access},
		"other prefix": {ID: one.ID, Host: one.Host, Access: one.Access},
		"no such app":  {ID: one.ID + 100, Host: one.Host, PathPrefix: one.PathPrefix, Access: one.Access},
	} {
		if err := a.RequireProtectedApp(ctx, &was); !errors.Is(err, account.ErrStale) {
			t.Errorf("RequireProtectedApp(%s) = %v; want ErrStale", name, err)
		}
	}
}

// testSessionForAppUnderConcurrency streams decisions' reads of many
// sessions at once, several of one session at the same time (a browser's
// parallel requests), with deactivated accounts and unknown tokens among
// them: each read answers for its own token, and a Session is never
// shared between two reads (each reader changes what it gets, as the
// service does; under -race, sharing is reported).
func testSessionForAppUnderConcurrency(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	type want struct {
		userID int64
		email  string // "" for ErrNotFound
	}
	wants := map[string]want{"unknown-1": {}, "unknown-2": {}}
	var hashes []string
	for i := range 12 {
		email := fmt.Sprintf("user%d@example.com", i)
		u := newUser(t, s, email)
		hash := fmt.Sprintf("hash-%d", i)
		if err := a.CreateSession(ctx, session(u.ID, hash, account.StageComplete)); err != nil {
			t.Fatal(err)
		}
		wants[hash] = want{u.ID, email}
		if i%4 == 3 {
			if err := a.SetDeactivated(ctx, u.ID, t0); err != nil {
				t.Fatal(err)
			}
			wants[hash] = want{}
		}
	}
	for h := range wants {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				// Neighbouring readers often ask for the same token.
				hash := hashes[(g/2+i)%len(hashes)]
				sess, _, err := s.SessionForApp(ctx, hash)
				reads.Add(1)
				w := wants[hash]
				switch {
				case w.email == "" && !errors.Is(err, account.ErrNotFound):
					t.Errorf("SessionForApp(%s) = %+v, %v; want ErrNotFound", hash, sess, err)
					return
				case w.email == "":
				case err != nil:
					t.Errorf("SessionForApp(%s) = %v", hash, err)
					return
				case sess.TokenHash != hash || sess.UserID != w.userID || sess.Profile.User.Email != w.email:
					t.Errorf("SessionForApp(%s) = %s of user %d (%s); want user %d (%s)", hash, sess.TokenHash, sess.UserID, sess.Profile.User.Email, w.userID, w.email)
					return
				default:
					sess.LastSeenAt = sess.LastSeenAt.Add(time.Second)
					sess.Profile.User.Name = "changed by its reader"
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d reads", reads.Load())
}

// testSignOutSeenByReadsUnderLoad: while decisions' reads of two sessions
// stream from several goroutines, one session is signed out and the
// other's account deactivated, each through the other handle: every read
// that starts after the change returned finds no session.
func testSignOutSeenByReadsUnderLoad(t *testing.T, open Opener) {
	s, other := twoHandles(open, t)
	signedOut, deactivated := newUser(t, s, "out@example.com"), newUser(t, s, "deact@example.com")
	for _, sess := range []*account.Session{session(signedOut.ID, "out", account.StageComplete), session(deactivated.ID, "deact", account.StageComplete)} {
		if err := AutoCommit(s).CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	changes := []struct {
		hash   string
		change func() error
	}{
		{"out", func() error { _, err := AutoCommit(other).DeleteSession(ctx, "out"); return err }},
		{"deact", func() error { return AutoCommit(other).SetDeactivated(ctx, deactivated.ID, t0) }},
	}
	for _, c := range changes {
		var changed atomic.Bool
		var staleAfter, after, before atomic.Int64
		stop := streaming(8, func() bool {
			done := changed.Load()
			_, _, err := s.SessionForApp(ctx, c.hash)
			switch {
			case err != nil && !errors.Is(err, account.ErrNotFound):
				t.Error(err)
				return false
			case !done && err == nil:
				before.Add(1)
			case done:
				after.Add(1)
				if err == nil {
					staleAfter.Add(1)
				}
			}
			return true
		})
		if !accounttest.WaitUntil(func() bool { return before.Load() >= 50 }) {
			stop()
			t.Fatalf("%s: 50 reads before the change did not come within 20 s", c.hash)
		}
		if err := c.change(); err != nil {
			stop()
			t.Fatal(err)
		}
		changed.Store(true)
		ok := accounttest.WaitUntil(func() bool { return after.Load() >= 50 })
		stop()
		if !ok {
			t.Fatalf("%s: 50 reads after the change did not come within 20 s", c.hash)
		}
		if n := staleAfter.Load(); n != 0 {
			t.Errorf("%s: %d of %d reads started after the change returned still found the session", c.hash, n, after.Load())
		}
	}
}

// streaming calls read over and over in each of n goroutines, until read
// returns false or the returned stop is called; stop waits for them.
func streaming(n int, read func() bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if !read() {
					return
				}
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}
