package account_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
)

// authzWorld is a server with an administrator (2FA on), a member (2FA
// off), a member with 2FA on, and their tokens.
type authzWorld struct {
	env                  *accounttest.Env
	admin                *account.Session
	adminToken           string
	member, twofa        string // tokens
	memberID             int64
	twofaEmail, twofaSec string
}

func acceptAs(t *testing.T, env *accounttest.Env, admin *account.Session, email string, r account.Role) (string, *account.Session) {
	t.Helper()
	_, link, err := env.Service.Invite(ctx, admin, account.InviteInput{Email: email, Role: r}, client)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Name: "N", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return token, sess
}

// enableTwoFactor adds a number and enables 2FA for the session of token,
// returning the secret.
func enableTwoFactor(t *testing.T, env *accounttest.Env, token string) string {
	t.Helper()
	sess, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	phone := "+61412345678"
	if _, err := env.Service.UpdateProfile(ctx, sess, account.ProfileUpdate{MobilePhone: &phone}, client); err != nil {
		t.Fatal(err)
	}
	setup, err := env.Service.BeginTOTPSetup(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.EnableTOTP(ctx, sess, env.Code(t, setup.Secret), client); err != nil {
		t.Fatal(err)
	}
	return setup.Secret
}

func newAuthzWorld(t *testing.T, env *accounttest.Env) *authzWorld {
	t.Helper()
	w := &authzWorld{env: env}
	link, err := env.Service.CreateSetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, w.adminToken, err = env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Email: "ada@example.com", Name: "Ada", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	enableTwoFactor(t, env, w.adminToken)
	if w.admin, err = env.Service.Authenticate(ctx, w.adminToken); err != nil {
		t.Fatal(err)
	}
	var sess *account.Session
	w.member, sess = acceptAs(t, env, w.admin, "bo@example.com", account.RoleMember)
	w.memberID = sess.UserID
	w.twofa, _ = acceptAs(t, env, w.admin, "cy@example.com", account.RoleMember)
	w.twofaEmail = "cy@example.com"
	w.twofaSec = enableTwoFactor(t, env, w.twofa)
	return w
}

func (w *authzWorld) addApp(t *testing.T, host, prefix string, access account.AppAccess, require bool) *account.ProtectedApp {
	t.Helper()
	a, err := w.env.Service.CreateProtectedApp(ctx, w.admin, account.AppInput{Host: host, PathPrefix: prefix, Access: access, RequireTwoFactor: require}, client)
	if err != nil {
		t.Fatalf("CreateProtectedApp(%s%s) = %v", host, prefix, err)
	}
	return a
}

// Who passes: only a fully signed-in session, by the rule of the most
// specific app (or the default); an account without 2FA is sent to enroll
// for an app that requires it, a half-signed-in one to the code step.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	w := newAuthzWorld(t, env)
	w.addApp(t, "app.example.com", "", account.AccessSignedIn, false)
	w.addApp(t, "app.example.com", "/admin", account.AccessAdmins, false)
	w.addApp(t, "*.secure.example.com", "", account.AccessSignedIn, true)
	pending, stage, err := env.Service.SignIn(ctx, account.SignInInput{Email: w.twofaEmail, Password: pw}, client)
	if err != nil || stage != account.StageSecondFactor {
		t.Fatalf("SignIn = %q, %v", stage, err)
	}
	tests := []struct {
		name, token, host, path string
		want                    account.AuthzOutcome
	}{
		{"no session", "", "app.example.com", "/", account.AuthzSignIn},
		{"unknown token", "nope", "app.example.com", "/", account.AuthzSignIn},
		{"half signed in", pending, "app.example.com", "/", account.AuthzSecondFactor},
		{"member", w.member, "app.example.com", "/", account.AuthzAllow},
		{"member, admin path", w.member, "app.example.com", "/admin", account.AuthzForbidden},
		{"member, below admin path", w.member, "app.example.com", "/admin/users", account.AuthzForbidden},
		{"member, encoded admin path as cleaned", w.member, "app.example.com", account.CleanPath("/x/../admin/"), account.AuthzForbidden},
		{"member, look-alike path", w.member, "app.example.com", "/administrator", account.AuthzAllow},
		{"admin, admin path", w.adminToken, "app.example.com", "/admin", account.AuthzAllow},
		{"member without 2FA, app requires it", w.member, "x.secure.example.com", "/", account.AuthzEnroll},
		{"member with 2FA, app requires it", w.twofa, "x.secure.example.com", "/", account.AuthzAllow},
		{"unlisted host, default everyone", w.member, "other.example.org", "/", account.AuthzAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := env.Service.Authorize(ctx, tt.token, tt.host, tt.path)
			if err != nil || d.Outcome != tt.want {
				t.Errorf("Authorize(%s, %q, %q) = %d, %v; want %d", tt.name, tt.host, tt.path, d.Outcome, err, tt.want)
			}
			if d.Outcome == account.AuthzAllow && d.User == nil {
				t.Errorf("Authorize(%s) let in without a user", tt.name)
			}
		})
	}

	// The default rule set to deny refuses unlisted hosts, to everyone.
	if err := env.Service.SetDefaultAppAccess(ctx, w.admin, account.AccessDeny, client); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{w.member, w.adminToken} {
		if d, _ := env.Service.Authorize(ctx, token, "other.example.org", "/"); d.Outcome != account.AuthzForbidden {
			t.Errorf("Authorize(unlisted host, default deny) = %d; want forbidden", d.Outcome)
		}
	}
	if d, _ := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); d.Outcome != account.AuthzAllow {
		t.Errorf("Authorize(listed host, default deny) = %d; want allowed", d.Outcome)
	}

	// Deactivated: never, from the commit on.
	if _, err := env.Service.UpdateUser(ctx, w.admin, w.memberID, account.UserUpdate{Active: active(false)}, client); err != nil {
		t.Fatal(err)
	}
	if d, _ := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); d.Outcome != account.AuthzSignIn {
		t.Errorf("Authorize(deactivated) = %d; want sign-in", d.Outcome)
	}
}

// While 2FA is required for everyone and the grace period is over, an
// account without it is sent to enroll before any app.
func TestAuthorizeOverdueGoesToEnrollment(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	w := newAuthzWorld(t, env)
	on, zero := true, 0
	if _, err := env.Service.UpdateSettings(ctx, w.admin, account.SettingsUpdate{RequireTwoFactor: &on, GracePeriodDays: &zero}, client); err != nil {
		t.Fatal(err)
	}
	if d, err := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); err != nil || d.Outcome != account.AuthzEnroll {
		t.Errorf("Authorize(overdue) = %d, %v; want enroll", d.Outcome, err)
	}
	if d, err := env.Service.Authorize(ctx, w.twofa, "app.example.com", "/"); err != nil || d.Outcome != account.AuthzAllow {
		t.Errorf("Authorize(2FA on) = %d, %v; want allowed", d.Outcome, err)
	}
}

// A decision is one read: the session, the account, the settings, the
// default rule and the version of the apps come together, and the apps are
// this instance's copy while that version stands. Nothing is written (the
// session was touched within Policy.TouchInterval).
func TestAuthorizeIsOneRead(t *testing.T) {
	t.Parallel()
	fs := accounttest.NewFaultStore(accounttest.New(t, inviteOnly).Store)
	env := accounttest.NewOnStore(t, fs, inviteOnly)
	w := newAuthzWorld(t, env)
	w.addApp(t, "app.example.com", "", account.AccessAdmins, false)
	if _, err := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); err != nil {
		t.Fatal(err) // loads this instance's copy of the apps
	}
	for _, token := range []string{w.member, w.adminToken, w.member} {
		fs.Reset(0, 0)
		if _, err := env.Service.Authorize(ctx, token, "app.example.com", "/"); err != nil {
			t.Fatal(err)
		}
		if c := fs.Counts(); c.Reads != 1 || c.Writes != 0 {
			t.Errorf("Authorize: %d reads, %d writes (%v); want one read", c.Reads, c.Writes, c.Ops)
		}
	}
	// After a change, the first decision reads the apps again, once.
	w.addApp(t, "other.example.com", "", account.AccessSignedIn, false)
	fs.Reset(0, 0)
	if d, err := env.Service.Authorize(ctx, w.member, "app.example.com", "/"); err != nil || d.Outcome != account.AuthzForbidden {
		t.Fatalf("Authorize after a change = %d, %v", d.Outcome, err)
	}
	if c := fs.Counts(); c.Reads != 2 {
		t.Errorf("Authorize after a change: %d reads (%v); want the session and the apps", c.Reads, c.Ops)
	}
}

// Two instances on one database (two store handles, two services, each
// with its own copy of the apps): a rule change, a sign-out, a 2FA reset
// and a deactivation made through one decide the very next check on the
// other, on both stores.
func TestAuthorizeAcrossInstances(t *testing.T) {
	t.Parallel()
	for name, open := range twoInstances {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := open(t)
			w := newAuthzWorld(t, a)
			app := w.addApp(t, "app.example.com", "", account.AccessSignedIn, false)
			want := func(what, token string, outcome account.AuthzOutcome) {
				t.Helper()
				if d, err := b.Service.Authorize(ctx, token, "app.example.com", "/"); err != nil || d.Outcome != outcome {
					t.Errorf("%s: the other instance decides %d, %v; want %d", what, d.Outcome, err, outcome)
				}
			}
			want("before any change", w.member, account.AuthzAllow)
			if _, err := a.Service.UpdateProtectedApp(ctx, w.admin, app.ID, account.AppInput{Host: app.Host, Access: account.AccessAdmins}, nil, client); err != nil {
				t.Fatal(err)
			}
			want("administrators only", w.member, account.AuthzForbidden)
			want("administrators only, an administrator", w.adminToken, account.AuthzAllow)
			if err := a.Service.DeleteProtectedApp(ctx, w.admin, app.ID, client); err != nil {
				t.Fatal(err)
			}
			want("app removed", w.member, account.AuthzAllow)
			if err := a.Service.SetDefaultAppAccess(ctx, w.admin, account.AccessDeny, client); err != nil {
				t.Fatal(err)
			}
			want("default deny", w.member, account.AuthzForbidden)
			if err := a.Service.SetDefaultAppAccess(ctx, w.admin, account.AccessSignedIn, client); err != nil {
				t.Fatal(err)
			}
			w.addApp(t, "app.example.com", "", account.AccessSignedIn, true)
			want("2FA required by the app", w.twofa, account.AuthzAllow)
			twofa, err := a.Service.Authenticate(ctx, w.twofa)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Service.ResetTwoFactorFor(ctx, w.admin, twofa.UserID, "checked her passport in person", client); err != nil {
				t.Fatal(err)
			}
			want("2FA reset", w.twofa, account.AuthzSignIn)
			if err := a.Service.SignOut(ctx, w.member, client); err != nil {
				t.Fatal(err)
			}
			want("signed out", w.member, account.AuthzSignIn)
			again, stage, err := a.Service.SignIn(ctx, account.SignInInput{Email: w.twofaEmail, Password: pw}, client)
			if err != nil || stage != account.StageComplete {
				t.Fatalf("sign in again after the reset = %q, %v", stage, err)
			}
			want("signed in again (2FA off, app requires it)", again, account.AuthzEnroll)
			if _, err := a.Service.UpdateUser(ctx, w.admin, twofa.UserID, account.UserUpdate{Active: active(false)}, client); err != nil {
				t.Fatal(err)
			}
			want("deactivated", again, account.AuthzSignIn)
		})
	}
}

// An administrator makes an app administrators-only on one instance while
// a member's checks stream through the other: no check that starts after
// the change has committed lets the member in, on both stores.
func TestRuleChangeWhileChecksStream(t *testing.T) {
	t.Parallel()
	for name, open := range twoInstances {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := open(t)
			w := newAuthzWorld(t, a)
			app := w.addApp(t, "app.example.com", "", account.AccessSignedIn, false)
			var committed atomic.Bool
			var passedBefore, passedAfter, checks, checksAfter atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						after := committed.Load()
						d, err := b.Service.Authorize(ctx, w.member, "app.example.com", "/reports")
						if err != nil {
							t.Error(err)
							return
						}
						checks.Add(1)
						switch {
						case !after && d.Outcome == account.AuthzAllow:
							passedBefore.Add(1)
						case after:
							checksAfter.Add(1)
							if d.Outcome == account.AuthzAllow {
								passedAfter.Add(1)
							}
						}
					}
				})
			}
			// However busy the machine, the change lands in a stream of
			// checks, and dozens start after it.
			streamed := accounttest.WaitUntil(func() bool { return checks.Load() >= 10 })
			if _, err := a.Service.UpdateProtectedApp(ctx, w.admin, app.ID, account.AppInput{Host: app.Host, Access: account.AccessAdmins}, nil, client); err != nil {
				close(stop)
				wg.Wait()
				t.Fatal(err)
			}
			committed.Store(true)
			streamed = accounttest.WaitUntil(func() bool { return checksAfter.Load() >= 40 }) && streamed
			close(stop)
			wg.Wait()
			if n := passedAfter.Load(); n != 0 {
				t.Errorf("%d of %d checks started after the change committed let the member in", n, checksAfter.Load())
			}
			if passedBefore.Load() == 0 {
				t.Error("no check let the member in before the change: the test proves nothing")
			}
			if !streamed {
				t.Errorf("only %d checks streamed in 20 s, %d after the change", checks.Load(), checksAfter.Load())
			}
		})
	}
}

// twoInstances opens two services on one database, each with its own store
// handle (and its own copy of the apps), as two instances have.
var twoInstances = map[string]func(t *testing.T) (*accounttest.Env, *accounttest.Env){
	"sqlite": func(t *testing.T) (*accounttest.Env, *accounttest.Env) {
		a := accounttest.New(t, inviteOnly)
		st, err := accounttest.OpenSQLite(a.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return a, accounttest.NewOnStore(t, st, inviteOnly)
	},
	"postgres": func(t *testing.T) (*accounttest.Env, *accounttest.Env) {
		dsn := accounttest.PostgresDatabase(t)
		var envs []*accounttest.Env
		for range 2 {
			st, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			envs = append(envs, accounttest.NewOnStore(t, st, inviteOnly))
		}
		return envs[0], envs[1]
	},
}

// Which app decides: the most specific that matches.
func TestMatchApp(t *testing.T) {
	t.Parallel()
	apps := []*account.ProtectedApp{
		{ID: 1, Host: "app.example.com"},
		{ID: 2, Host: "app.example.com", PathPrefix: "/admin/"},
		{ID: 3, Host: "app.example.com", PathPrefix: "/admin/deep/"},
		{ID: 4, Host: "*.example.com"},
		{ID: 5, Host: "*.b.example.com"},
		{ID: 6, Host: "*.b.example.com", PathPrefix: "/p/"},
	}
	tests := []struct {
		host, path string
		want       int64 // 0: none
	}{
		{"app.example.com", "/", 1},
		{"app.example.com", "/admin", 2},
		{"app.example.com", "/admin/", 2},
		{"app.example.com", "/admin/x", 2},
		{"app.example.com", "/administrator", 1},
		{"app.example.com", "/ADMIN", 1},
		{"app.example.com", "/admin/deep", 3},
		{"app.example.com", "/admin/deeper", 2},
		{"x.example.com", "/admin", 4},
		{"a.b.example.com", "/", 5},
		{"x.a.b.example.com", "/p/q", 6},
		{"a.b.example.com", "/pq", 5},
		{"b.example.com", "/p", 4},
		{"example.com", "/", 0},
		{"evilexample.com", "/", 0},
		{"app.example.com.evil", "/", 0},
		{"com", "/", 0},
	}
	for _, tt := range tests {
		got := account.MatchApp(apps, tt.host, tt.path)
		if (got == nil && tt.want != 0) || (got != nil && got.ID != tt.want) {
			t.Errorf("MatchApp(%q, %q) = %+v; want app %d", tt.host, tt.path, got, tt.want)
		}
	}
}

// Hostile rd values never leave the allow-list (twofold's own host,
// Policy.RedirectHosts and the protected apps' hosts); allowed ones pass
// as they are.
func TestSafeRedirect(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly, func(p *account.Policy) {
		p.RedirectHosts = []string{"auth.example.com", "*.tools.example.net"}
	})
	w := newAuthzWorld(t, env)
	w.addApp(t, "app.example.com", "/admin", account.AccessAdmins, false)
	w.addApp(t, "*.apps.example.org", "", account.AccessSignedIn, false)
	allowed := []string{
		"https://app.example.com/",
		"https://app.example.com/some/page?x=1&y=2#frag",
		"http://app.example.com:8080/path",
		"https://APP.example.com/x",
		"https://auth.example.com/me",
		"https://a.tools.example.net/",
		"https://x.y.apps.example.org/z",
	}
	for _, rd := range allowed {
		if got, ok := env.Service.SafeRedirect(ctx, rd); !ok || got != rd {
			t.Errorf("SafeRedirect(%q) = %q, %v; want it allowed as is", rd, got, ok)
		}
	}
	hostile := []string{
		"",
		"https://evil.example",
		"//evil.example",
		"///evil.example",
		"/\\evil.example",
		"\\evil.example",
		"/me",
		"javascript:alert(1)",
		"JavaScript://app.example.com/%0aalert(1)",
		"data:text/html,<script>alert(1)</script>",
		"https://app.example.com@evil.example",
		"https://app.example.com:x@evil.example/",
		"http://evil.example%2f@app.example.com",
		"http://evil.example%2F@app.example.com/",
		"https://evil.example%2fapp.example.com",
		"https://app.example.com%2eevil.example/",
		"https://app.example.com.evil.example/",
		"https://evilapp.example.com/",
		"https://example.com/",
		"https://apps.example.org/",
		"https:/app.example.com/",
		"https:app.example.com/",
		"https:\\\\app.example.com/",
		"https://app.example.com\\@evil.example/",
		"https://app.example.com\t.evil.example/",
		"https://app.example.com /",
		"https://app.example.com/\r\nSet-Cookie: x",
		"ftp://app.example.com/",
		" https://app.example.com/",
		"https://app.example.com%40evil.example/",
		"https:%2F%2Fevil.example",
		"https://%65vil.example/",
		"https://evil.example\u3002app.example.com/",
		"https://app.example.com:0/",
		"https%3A%2F%2Fevil.example",
		"%2F%2Fevil.example",
		"https://[::1]/",
		"https://127.0.0.1/",
		"https://evil.example/https://app.example.com/",
		"https://evil.example?https://app.example.com/",
		"https://evil.example#@app.example.com",
		"https://app.example.com:99999999999999999999/",
	}
	for _, rd := range hostile {
		if got, ok := env.Service.SafeRedirect(ctx, rd); ok {
			t.Errorf("SafeRedirect(%q) = %q, true; want it refused", rd, got)
		}
	}
}

// Administrators manage the apps; bad input names its field; members may not.
func TestProtectedAppsAdmin(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	w := newAuthzWorld(t, env)
	a := w.addApp(t, "App.Example.com.", "/admin/../tools", account.AccessAdmins, true)
	if a.Host != "app.example.com" || a.PathPrefix != "/tools/" {
		t.Errorf("CreateProtectedApp stored %q %q; want app.example.com /tools/", a.Host, a.PathPrefix)
	}
	if _, err := env.Service.CreateProtectedApp(ctx, w.admin, account.AppInput{Host: "app.example.com", PathPrefix: "/tools", Access: account.AccessSignedIn}, client); !errors.Is(err, account.ErrAppExists) {
		t.Errorf("CreateProtectedApp(duplicate) = %v; want ErrAppExists", err)
	}
	bad := []struct {
		in    account.AppInput
		field string
	}{
		{account.AppInput{Host: "https://app.example.com", Access: account.AccessSignedIn}, "host"},
		{account.AppInput{Host: "app.example.com:8443", Access: account.AccessSignedIn}, "host"},
		{account.AppInput{Host: "*.com", Access: account.AccessSignedIn}, "host"},
		{account.AppInput{Host: "a.*.example.com", Access: account.AccessSignedIn}, "host"},
		{account.AppInput{Host: "", Access: account.AccessSignedIn}, "host"},
		{account.AppInput{Host: "app.example.com", PathPrefix: "admin", Access: account.AccessSignedIn}, "path_prefix"},
		{account.AppInput{Host: "app.example.com", PathPrefix: "/a?b", Access: account.AccessSignedIn}, "path_prefix"},
		{account.AppInput{Host: "app.example.com", PathPrefix: "/%61dmin", Access: account.AccessSignedIn}, "path_prefix"},
		{account.AppInput{Host: "app.example.com", Access: "deny"}, "access"},
		{account.AppInput{Host: "app.example.com", Access: ""}, "access"},
	}
	for _, tt := range bad {
		_, err := env.Service.CreateProtectedApp(ctx, w.admin, tt.in, client)
		var v *account.ValidationError
		if !errors.As(err, &v) || v.Fields[tt.field] == "" {
			t.Errorf("CreateProtectedApp(%+v) = %v; want a message for %s", tt.in, err, tt.field)
		}
	}
	memberSess, err := env.Service.Authenticate(ctx, w.member)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.CreateProtectedApp(ctx, memberSess, account.AppInput{Host: "x.example.com", Access: account.AccessSignedIn}, client); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("a member adds an app = %v; want ErrForbidden", err)
	}
	if _, err := env.Service.UpdateProtectedApp(ctx, w.admin, 9999, account.AppInput{Host: "x.example.com", Access: account.AccessSignedIn}, nil, client); !errors.Is(err, account.ErrAppNotFound) {
		t.Errorf("UpdateProtectedApp(missing) = %v; want ErrAppNotFound", err)
	}
	if err := env.Service.DeleteProtectedApp(ctx, w.admin, a.ID, client); err != nil {
		t.Fatal(err)
	}
	if err := env.Service.DeleteProtectedApp(ctx, w.admin, a.ID, client); !errors.Is(err, account.ErrAppNotFound) {
		t.Errorf("DeleteProtectedApp(again) = %v; want ErrAppNotFound", err)
	}
	if err := env.Service.SetDefaultAppAccess(ctx, w.admin, account.AccessAdmins, client); err == nil {
		t.Error("SetDefaultAppAccess(admins) = nil; want a validation error (everyone or deny)")
	}
	entries, err := env.Service.AuditLog(ctx, w.admin, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, string(e.Action))
	}
	if got := strings.Join(actions, " "); !strings.HasPrefix(got, "app_delete app_create") {
		t.Errorf("audit log = %s; want app_delete, app_create first", got)
	}
}

// A change merged over what was read (the API's PATCH) is made only while
// the app is still as read: another administrator's change in between
// gets ErrConflict instead of being undone.
func TestUpdateProtectedAppOverWhatWasRead(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	ada := firstAdmin(t, env)
	app, err := env.Service.CreateProtectedApp(ctx, ada, account.AppInput{Host: "wiki.example.com", Access: account.AccessSignedIn}, client)
	if err != nil {
		t.Fatal(err)
	}
	read := account.AppInput{Host: app.Host, Access: app.Access}
	// Another administrator restricts it meanwhile.
	if _, err := env.Service.UpdateProtectedApp(ctx, ada, app.ID, account.AppInput{Host: app.Host, Access: account.AccessAdmins}, nil, client); err != nil {
		t.Fatal(err)
	}
	patched := read
	patched.RequireTwoFactor = true
	if _, err := env.Service.UpdateProtectedApp(ctx, ada, app.ID, patched, &read, client); !errors.Is(err, account.ErrConflict) {
		t.Errorf("a change merged over a stale read = %v; want ErrConflict", err)
	}
	list, err := env.Service.ProtectedApps(ctx, ada)
	if err != nil || len(list.Apps) != 1 || list.Apps[0].Access != account.AccessAdmins {
		t.Errorf("apps = %+v, %v; want the restriction kept", list, err)
	}
	now := account.AppInput{Host: app.Host, Access: account.AccessAdmins}
	patched = now
	patched.RequireTwoFactor = true
	if _, err := env.Service.UpdateProtectedApp(ctx, ada, app.ID, patched, &now, client); err != nil {
		t.Errorf("a change merged over a fresh read = %v; want done", err)
	}
}

// Matching a request against the apps allocates nothing: it runs for every
// check.
func TestMatchAppAllocatesNothing(t *testing.T) {
	apps := []*account.ProtectedApp{{ID: 1, Host: "app.example.com"}, {ID: 2, Host: "app.example.com", PathPrefix: "/admin/"}, {ID: 3, Host: "*.example.com"}}
	if n := testing.AllocsPerRun(100, func() { account.MatchApp(apps, "app.example.com", "/admin") }); n != 0 {
		t.Errorf("MatchApp: %v allocations; want 0", n)
	}
}

// ParseForwarded reads X-Forwarded-Proto, -Host and -Uri as
// ParseOriginalURL reads the URL they make, and refuses a host header
// that is more than a host.
func TestParseForwarded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ proto, host, uri string }{
		{"https", "app.example.com", "/"},
		{"https", "App.Example.COM:8443", "/%61dmin/x?y=1"},
		{"http", "app.example.com.", "//evil.example/x/../admin"},
		{"https", "[2001:db8::1]:443", "/a#b"},
		{"https", "10.0.0.1", "/a;b"},
	} {
		want, wantURL, err := account.ParseOriginalURL(tt.proto + "://" + tt.host + tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		got, u, err := account.ParseForwarded(tt.proto, tt.host, tt.uri)
		if err != nil || got != want || u.String() != wantURL.String() {
			t.Errorf("ParseForwarded(%q, %q, %q) = %+v, %v, %v; want %+v, %v", tt.proto, tt.host, tt.uri, got, u, err, want, wantURL)
		}
	}
	for _, host := range []string{"", "a.example.com/evil", "a.example.com?x", "a.example.com#x", "user@a.example.com", "a.example.com\\x", "a..example.com", "a.example.com:0", "a.example.com:x", "[::1"} {
		if _, _, err := account.ParseForwarded("https", host, "/"); err == nil {
			t.Errorf("ParseForwarded(host %q) = ok; want refused", host)
		}
	}
}
