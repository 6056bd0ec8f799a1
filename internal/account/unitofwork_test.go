package account_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/schema"
)

// backends give a test fresh, empty stores of each kind it runs on: SQLite
// always, PostgreSQL when TWOFOLD_TEST_POSTGRES_DSN names a server. One
// database serves the whole test and is emptied between uses (by
// emptySQLite, emptyPostgres): much faster than a new database per fault.
// For SQLite that is a new store too: opening one prepares every statement
// it writes with, and each of its connections parses the schema, which
// under -race took longer than most of the use cases themselves.
var backends = []struct {
	name string
	open func(t *testing.T) (fresh func(t *testing.T) accounttest.Store)
}{
	{"sqlite", func(t *testing.T) func(t *testing.T) accounttest.Store {
		path := filepath.Join(t.TempDir(), "twofold.db")
		s, err := accounttest.OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		empty := emptySQLite(t, path)
		return func(t *testing.T) accounttest.Store {
			empty(t)
			return s
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) accounttest.Store {
		dsn := accounttest.PostgresDatabase(t)
		s, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		admin, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close(context.Background()) })
		return func(t *testing.T) accounttest.Store {
			if _, err := admin.Exec(context.Background(), emptyPostgres); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
}

// emptySQLite returns what empties the SQLite database at path, beside the
// store that serves from it, as a new one is: every row deleted (rowids
// start at 1 again: no table is AUTOINCREMENT) but the settings' one row,
// which is put back as the migration made it. Every table, not a list
// that a new migration could leave behind; foreign keys off on its own
// connection, so the order does not matter.
func emptySQLite(t *testing.T, path string) func(t *testing.T) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?`, schema.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stmts []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, fmt.Sprintf("DELETE FROM %q;", name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	script := "BEGIN IMMEDIATE; " + strings.Join(stmts, " ") + " INSERT INTO settings (id) VALUES (1); COMMIT;"
	return func(t *testing.T) {
		t.Helper()
		if _, err := db.Exec(script); err != nil {
			t.Fatalf("empty the SQLite database: %v", err)
		}
	}
}

// emptyPostgres deletes every row and starts every identity at 1 again, as
// in a new database. DELETE, not TRUNCATE: on these few rows it takes about
// 2 ms where TRUNCATE, which gives every table and index a new file, takes
// 60 to 90 ms, and the test empties the database about 90 times.
const emptyPostgres = `
DELETE FROM sessions; DELETE FROM backup_codes; DELETE FROM security_events; DELETE FROM outbox;
DELETE FROM audit_log; DELETE FROM invitations; DELETE FROM disavowals; DELETE FROM users; DELETE FROM throttle_attempts; DELETE FROM pending_signups;
DELETE FROM oidc_clients; DELETE FROM oidc_signing_keys;
UPDATE settings SET require_two_factor = 0, grace_period_days = 0, required_since = NULL, recovery_delay_hours = 0;
ALTER TABLE users ALTER COLUMN id RESTART; ALTER TABLE backup_codes ALTER COLUMN id RESTART;
ALTER TABLE security_events ALTER COLUMN id RESTART; ALTER TABLE outbox ALTER COLUMN id RESTART;
ALTER TABLE throttle_attempts ALTER COLUMN id RESTART; ALTER TABLE pending_signups ALTER COLUMN id RESTART;`

// state is what a use case may change, as the database holds it: row
// counts of every table but the throttle's (a reservation commits on its
// own, before anything is checked), each user's row, and which of the
// fixture's sessions still exist at which stage.
type state struct {
	Rows     map[string]int
	Users    []string
	Sessions map[string]string
	// Devices are the remembered devices with their last use: a rotation
	// changes no count but that (and remembered_device_tokens).
	Devices []string
}

// unitOfWork is a fixture for one use case on a FaultStore.
type unitOfWork struct {
	*fixture
	fault    *accounttest.FaultStore
	hash     string            // the password hash at setup, to tell "unchanged"
	sessions map[string]string // name → token of the sessions the state follows
}

func (u *unitOfWork) state(t *testing.T) state {
	t.Helper()
	rows, err := u.Store.RowCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	users, err := u.Store.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := state{Rows: rows, Sessions: map[string]string{}}
	for _, usr := range users {
		desc := fmt.Sprintf("%s name=%q phone=%q originalPassword=%v version=%d pending=%v",
			usr.Email, usr.Name, usr.MobilePhone, usr.PasswordHash == u.hash, usr.SecurityVersion, usr.PendingTOTP != nil)
		if usr.TOTP != nil {
			desc += fmt.Sprintf(" totp(step=%d failures=%d suspended=%v)", usr.TOTP.LastStep, usr.TOTP.Failures, usr.TOTP.Suspended())
		}
		st.Users = append(st.Users, desc)
		devices, err := u.Store.Devices(ctx, usr.ID, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devices {
			// Not the id or the token: random, and different in every run.
			st.Devices = append(st.Devices, fmt.Sprintf("user=%d created=%d last_used=%d", d.UserID, d.CreatedAt.UnixMilli(), d.LastUsedAt.UnixMilli()))
		}
	}
	for name, token := range u.sessions {
		sess, err := u.Service.Session(ctx, token)
		switch {
		case err == nil:
			st.Sessions[name] = fmt.Sprintf("%s authenticated_at=%s", sess.Stage, sess.AuthenticatedAt.Format(time.RFC3339))
		default:
			st.Sessions[name] = "gone"
		}
	}
	return st
}

// useCase is one state-changing call of the service: setup brings a fresh
// fixture to the state before it and returns the call.
type useCase struct {
	name  string
	setup func(t *testing.T, u *unitOfWork) (call func() error)
}

func backupCodes(t *testing.T, f *fixture) []string {
	t.Helper()
	codes, err := f.Service.GenerateBackupCodes(ctx, f.session(), client)
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

// useCases lists every state-changing use case of the service.
var useCases = []useCase{
	{"SignIn password only", func(t *testing.T, u *unitOfWork) func() error {
		return func() error {
			_, _, err := u.Service.SignIn(ctx, account.SignInInput{Email: u.email, Password: pw, PreviousToken: u.token}, client)
			return err
		}
	}},
	{"SignIn wrong password", func(t *testing.T, u *unitOfWork) func() error {
		return func() error {
			_, _, err := u.Service.SignIn(ctx, account.SignInInput{Email: u.email, Password: "not the password"}, client)
			return err
		}
	}},
	{"SignIn with 2FA", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		return func() error {
			_, _, err := u.Service.SignIn(ctx, account.SignInInput{Email: u.email, Password: pw}, client)
			return err
		}
	}},
	{"SubmitSecondFactor TOTP", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		pending := u.signInPassword()
		u.sessions["pending"] = pending
		return func() error {
			_, err := u.Service.SubmitSecondFactor(ctx, pending, u.Code(t, u.secret), client)
			return err
		}
	}},
	{"SubmitSecondFactor backup code", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		codes := backupCodes(t, u.fixture)
		pending := u.signInPassword()
		u.sessions["pending"] = pending
		return func() error {
			_, err := u.Service.SubmitSecondFactor(ctx, pending, codes[0], client)
			return err
		}
	}},
	{"SubmitSecondFactor wrong code", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		pending := u.signInPassword()
		u.sessions["pending"] = pending
		return func() error {
			_, err := u.Service.SubmitSecondFactor(ctx, pending, u.WrongCode(t, u.secret), client)
			return err
		}
	}},
	{"SignOut", func(t *testing.T, u *unitOfWork) func() error {
		return func() error { return u.Service.SignOut(ctx, u.token, client) }
	}},
	{"ConfirmPassword", func(t *testing.T, u *unitOfWork) func() error {
		u.Clock.Advance(time.Minute)
		sess := u.session()
		return func() error { return u.Service.ConfirmPassword(ctx, sess, pw, client) }
	}},
	{"ChangePassword", func(t *testing.T, u *unitOfWork) func() error {
		sess := u.session()
		return func() error { return u.Service.ChangePassword(ctx, sess, pw, "a brand new password", client) }
	}},
	{"UpdateProfile", func(t *testing.T, u *unitOfWork) func() error {
		sess := u.session()
		name, phone := "Ana B", "+61 412 345 999"
		return func() error {
			_, err := u.Service.UpdateProfile(ctx, sess, account.ProfileUpdate{Name: &name, MobilePhone: &phone}, client)
			return err
		}
	}},
	{"BeginTOTPSetup", func(t *testing.T, u *unitOfWork) func() error {
		sess := u.session()
		return func() error {
			_, err := u.Service.BeginTOTPSetup(ctx, sess)
			return err
		}
	}},
	{"EnableTOTP", func(t *testing.T, u *unitOfWork) func() error {
		sess := u.session()
		setup, err := u.Service.BeginTOTPSetup(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		return func() error { return u.Service.EnableTOTP(ctx, sess, u.Code(t, setup.Secret), client) }
	}},
	{"DisableTOTP", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		codes := backupCodes(t, u.fixture)
		sess := u.session()
		return func() error { return u.Service.DisableTOTP(ctx, sess, pw, codes[0], client) }
	}},
	{"GenerateBackupCodes", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		sess := u.session()
		return func() error {
			_, err := u.Service.GenerateBackupCodes(ctx, sess, client)
			return err
		}
	}},
	{"ResetTwoFactor", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		return func() error { return u.Service.ResetTwoFactor(ctx, u.email, "test") }
	}},
	{"StartSignUp new email", func(t *testing.T, u *unitOfWork) func() error {
		return func() error {
			return u.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client)
		}
	}},
	{"StartSignUp existing email", func(t *testing.T, u *unitOfWork) func() error {
		return func() error {
			return u.Service.StartSignUp(ctx, account.SignUpInput{Email: u.email, Password: pw, Name: "Not Ana"}, client)
		}
	}},
	{"VerifySecondFactor remembering the device", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		pending := u.signInPassword()
		u.sessions["pending"] = pending
		return func() error {
			_, err := u.Service.VerifySecondFactor(ctx, pending, account.SecondFactorInput{Code: u.Code(t, u.secret), RememberDevice: true}, client)
			return err
		}
	}},
	{"SignInWithDevice", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		device := u.remembered()
		return func() error {
			_, err := u.Service.SignInWithDevice(ctx, account.SignInInput{Email: u.email, Password: pw, DeviceToken: device}, client)
			return err
		}
	}},
	{"SignInWithDevice with a copied token", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		device := u.remembered()
		u.signInOn(device)
		u.Clock.Advance(time.Minute)
		return func() error {
			_, err := u.Service.SignInWithDevice(ctx, account.SignInInput{Email: u.email, Password: pw, DeviceToken: device}, client)
			return err
		}
	}},
	{"ForgetDevice one", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		u.remembered()
		sess := u.session()
		devices, err := u.Service.Devices(ctx, sess, "")
		if err != nil || len(devices) != 1 {
			t.Fatalf("Devices = %d, %v", len(devices), err)
		}
		return func() error { return u.Service.ForgetDevice(ctx, sess, devices[0].ID, client) }
	}},
	{"ForgetDevice all", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		u.remembered()
		u.remembered()
		sess := u.session()
		return func() error { return u.Service.ForgetDevice(ctx, sess, 0, client) }
	}},
	{"ChangePassword with a remembered device", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		u.remembered()
		sess := u.session()
		return func() error { return u.Service.ChangePassword(ctx, sess, pw, "a brand new password", client) }
	}},
	{"DisableTOTP with a remembered device", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		codes := backupCodes(t, u.fixture)
		u.remembered()
		sess := u.session()
		return func() error { return u.Service.DisableTOTP(ctx, sess, pw, codes[0], client) }
	}},
	{"RequestHelp", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		firstAdmin(t, u.Env)
		pending := u.signInPassword()
		u.sessions["pending"] = pending
		return func() error { return u.Service.RequestHelp(ctx, pending, "lost it", client) }
	}},
	{"DismissHelpRequest", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		id := u.session().UserID
		ada := firstAdmin(t, u.Env)
		if err := u.Service.RequestHelp(ctx, u.signInPassword(), "", client); err != nil {
			t.Fatal(err)
		}
		return func() error { return u.Service.DismissHelpRequest(ctx, ada, id, client) }
	}},
	{"SendPhoneVerification", func(t *testing.T, u *unitOfWork) func() error {
		id := u.session().UserID
		ada := firstAdmin(t, u.Env)
		return func() error {
			_, err := u.Service.SendPhoneVerification(ctx, ada, id, client)
			return err
		}
	}},
	{"CheckPhoneVerification right code", func(t *testing.T, u *unitOfWork) func() error {
		id := u.session().UserID
		ada := firstAdmin(t, u.Env)
		if _, err := u.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatal(err)
		}
		code := lastText(t, u.Env, "+61412345678")
		return func() error { return u.Service.CheckPhoneVerification(ctx, ada, id, code, client) }
	}},
	{"CheckPhoneVerification wrong code", func(t *testing.T, u *unitOfWork) func() error {
		id := u.session().UserID
		ada := firstAdmin(t, u.Env)
		if _, err := u.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		if lastText(t, u.Env, "+61412345678") == wrong {
			wrong = "111111"
		}
		return func() error { return u.Service.CheckPhoneVerification(ctx, ada, id, wrong, client) }
	}},
	{"ResetTwoFactorFor after phone verification", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		u.remembered()
		id := u.session().UserID
		ada := firstAdmin(t, u.Env)
		if err := u.Service.RequestHelp(ctx, u.signInPassword(), "", client); err != nil {
			t.Fatal(err)
		}
		if _, err := u.Service.SendPhoneVerification(ctx, ada, id, client); err != nil {
			t.Fatal(err)
		}
		if err := u.Service.CheckPhoneVerification(ctx, ada, id, lastText(t, u.Env, "+61412345678"), client); err != nil {
			t.Fatal(err)
		}
		return func() error {
			_, err := u.Service.ResetTwoFactorFor(ctx, ada, id, "", client)
			return err
		}
	}},
	{"ConfirmSignUp", func(t *testing.T, u *unitOfWork) func() error {
		if err := u.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
			t.Fatal(err)
		}
		link := u.SignUpLink(t, "bo@example.com")
		return func() error {
			_, _, err := u.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: link, Password: pw, PreviousToken: u.token}, client)
			return err
		}
	}},
	{"Disavow", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		u.remembered()
		u.sessions["own"] = u.token
		link := u.DisavowLink(t, u.email, account.EventDeviceRemembered)
		return func() error {
			_, err := u.Service.Disavow(ctx, link, pw, client)
			return err
		}
	}},
	{"Disavow with a pending recovery", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		u.recoverySoon(t)
		u.startRecovery(u.signInPassword())
		link := u.DisavowLink(t, u.email, account.EventRecoveryStarted)
		return func() error {
			_, err := u.Service.Disavow(ctx, link, pw, client)
			return err
		}
	}},
	{"RegisterOIDCClient", func(t *testing.T, u *unitOfWork) func() error {
		return func() error {
			_, _, err := u.Service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}, client)
			return err
		}
	}},
	{"SatisfyOIDCAuthRequest", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		c := registered(t, u.fixture)
		r, err := u.Service.StartOIDCAuthRequest(ctx, c, &account.OIDCParams{RedirectURI: c.RedirectURIs[0], Scopes: []string{"openid"}, ResponseType: "code"}, client)
		if err != nil {
			t.Fatal(err)
		}
		return func() error { return u.Service.SatisfyOIDCAuthRequest(ctx, u.session(), r.ID) }
	}},
	{"SatisfyOIDCAuthRequest without 2FA", func(t *testing.T, u *unitOfWork) func() error {
		c := registered(t, u.fixture)
		r, err := u.Service.StartOIDCAuthRequest(ctx, c, &account.OIDCParams{RedirectURI: c.RedirectURIs[0], Scopes: []string{"openid"}, ResponseType: "code"}, client)
		if err != nil {
			t.Fatal(err)
		}
		return func() error { return u.Service.SatisfyOIDCAuthRequest(ctx, u.session(), r.ID) }
	}},
	{"ExchangeOIDCCode with a refresh token", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		r, code := u.oidcCode(registered(t, u.fixture))
		return func() error {
			_, err := u.Service.ExchangeOIDCCode(ctx, r, code, true)
			return err
		}
	}},
	{"RefreshOIDC", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		_, tokens := u.oidcGrant(registered(t, u.fixture))
		h, err := u.Service.OIDCRefreshGrant(ctx, tokens.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		return func() error {
			_, err := u.Service.RefreshOIDC(ctx, h, tokens.RefreshToken)
			return err
		}
	}},
	{"RefreshOIDC with a used token", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		_, tokens := u.oidcGrant(registered(t, u.fixture))
		h, err := u.Service.OIDCRefreshGrant(ctx, tokens.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.Service.RefreshOIDC(ctx, h, tokens.RefreshToken); err != nil {
			t.Fatal(err)
		}
		return func() error {
			_, err := u.Service.RefreshOIDC(ctx, h, tokens.RefreshToken)
			return err
		}
	}},
	{"RemoveOIDCClient", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		c := registered(t, u.fixture)
		u.oidcGrant(c)
		return func() error { return u.Service.RemoveOIDCClient(ctx, nil, c.ID, client) }
	}},
	{"RotateSigningKeys", func(t *testing.T, u *unitOfWork) func() error {
		if _, err := u.Service.SigningKeys(ctx); err != nil {
			t.Fatal(err)
		}
		return func() error { return u.Service.RotateSigningKeys(ctx, nil, client) }
	}},
	{"Disavow wrong password", func(t *testing.T, u *unitOfWork) func() error {
		u.enroll(t)
		link := u.DisavowLink(t, u.email, account.EventTwoFactorEnabled)
		return func() error {
			_, err := u.Service.Disavow(ctx, link, "not the password", client)
			return err
		}
	}},
}

// enroll turns 2FA on for the fixture's user, from its session, and moves
// the clock to a fresh step.
func (u *unitOfWork) enroll(t *testing.T) {
	t.Helper()
	setup, err := u.Service.BeginTOTPSetup(ctx, u.session())
	if err != nil {
		t.Fatal(err)
	}
	u.secret = setup.Secret
	if err := u.Service.EnableTOTP(ctx, u.session(), u.Code(t, u.secret), client); err != nil {
		t.Fatal(err)
	}
	u.Clock.Advance(30 * time.Second)
}

// prepare builds a fresh fixture on a FaultStore for uc and returns it,
// with the state before the call, the call, and the faults reset.
func prepare(t *testing.T, open func(*testing.T) accounttest.Store, uc useCase) (*unitOfWork, state, func() error) {
	t.Helper()
	fault := accounttest.NewFaultStore(open(t))
	f := signedUpOn(t, accounttest.NewOnStore(t, fault, texts))
	u := &unitOfWork{fixture: f, fault: fault, sessions: map[string]string{"own": f.token}}
	call := uc.setup(t, u)
	// Another session of the account, which changes that end the other
	// sessions must end with the rest of their effect.
	other, _, err := u.Service.SignIn(ctx, account.SignInInput{Email: u.email, Password: pw}, account.Client{IP: "198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	u.sessions["other"] = other
	usr, err := u.Store.UserByEmail(ctx, u.email)
	if err != nil {
		t.Fatal(err)
	}
	u.hash = usr.PasswordHash
	before := u.state(t)
	fault.Reset(0, 0)
	return u, before, call
}

// Every state-changing use case commits all of its effect or none of it:
// for each write it makes (and each commit), a run where exactly that one
// fails leaves the database as it was before or as the run without faults
// left it, never in between; and a run that answers success left it as
// the run without faults did.
//
// It is the slowest test of the package (every fault gets a fresh
// fixture), so it runs beside the others, each backend beside the other.
func TestEveryUseCaseCommitsAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fresh := b.open(t)
			for _, uc := range useCases {
				t.Run(uc.name, func(t *testing.T) {
					u, before, call := prepare(t, fresh, uc)
					callErr := call()
					clean := u.fault.Counts()
					after := u.state(t)
					if reflect.DeepEqual(before, after) && callErr == nil {
						t.Fatalf("the use case changed nothing: the test cannot tell all from nothing")
					}
					faults := make([][2]int, 0, clean.Writes+clean.Commits)
					for n := 1; n <= clean.Writes; n++ {
						faults = append(faults, [2]int{n, 0})
					}
					for n := 1; n <= clean.Commits; n++ {
						faults = append(faults, [2]int{0, n})
					}
					for _, fault := range faults {
						u, before, call := prepare(t, fresh, uc)
						u.fault.Reset(fault[0], fault[1])
						err := call()
						got := u.state(t)
						ops := strings.Join(u.fault.Counts().Ops, ", ")
						switch {
						case err == nil && !reflect.DeepEqual(got, after):
							t.Errorf("write %d / commit %d failing: answered success, but the state is\n%+v\nwant as without faults\n%+v\n(ops: %s)", fault[0], fault[1], got, after, ops)
						case !reflect.DeepEqual(got, before) && !reflect.DeepEqual(got, after):
							t.Errorf("write %d / commit %d failing (err %v): the state is half-written:\n%+v\nbefore:\n%+v\nwithout faults:\n%+v\n(ops: %s)", fault[0], fault[1], err, got, before, after, ops)
						}
						if err != nil && errors.Is(err, account.ErrNotFound) {
							t.Errorf("write %d / commit %d failing: answered %v, a 404 for an account that exists", fault[0], fault[1], err)
						}
					}
					t.Logf("%s: %d reads, %d writes, %d commits: %s", uc.name, clean.Reads, clean.Writes, clean.Commits, strings.Join(clean.Ops, ", "))
				})
			}
		})
	}
}

// The hot paths read and commit as little as the issue allows: an
// authenticated request (GET /api/v1/me, every page) is one read, plus a
// touch at most once a minute; the code step is one read and two commits
// (the throttle reservation, then everything else), for a TOTP code and for
// a backup code.
func TestHotPathReadsAndCommits(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fresh := b.open(t)
			tests := []struct {
				name                 string
				uc                   useCase
				reads, commits       int
				wantErr, wantSuccess bool
			}{
				{"authenticated request", useCase{"me", func(t *testing.T, u *unitOfWork) func() error {
					return func() error {
						sess, err := u.Service.Authenticate(ctx, u.token)
						if err == nil && sess.Profile == nil {
							err = errors.New("no profile read with the session")
						}
						return err
					}
				}}, 1, 0, false, true},
				{"authenticated request after the touch interval", useCase{"me later", func(t *testing.T, u *unitOfWork) func() error {
					return func() error {
						u.Clock.Advance(u.Service.Policy().TouchInterval)
						_, err := u.Service.Authenticate(ctx, u.token)
						return err
					}
				}}, 1, 1, false, true},
				{"code step, TOTP", useCases[3], 1, 2, false, true},
				{"code step, backup code", useCases[4], 1, 2, false, true},
				{"code step, wrong code", useCases[5], 1, 2, true, false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					u, _, call := prepare(t, fresh, tt.uc)
					err := call()
					if (err != nil) != tt.wantErr {
						t.Fatalf("call = %v; want error %v", err, tt.wantErr)
					}
					got := u.fault.Counts()
					if got.Reads != tt.reads || got.Commits != tt.commits {
						t.Errorf("%s: %d reads and %d commits; want %d and %d (ops: %s)", tt.name, got.Reads, got.Commits, tt.reads, tt.commits, strings.Join(got.Ops, ", "))
					}
				})
			}
		})
	}
}

// A sign-in whose password was checked against a security version that a
// change bumped before the session is written gets no session, answers as
// a wrong password would, and counts nothing: its throttle reservations
// are given back, so the next sign-in is not refused (the limit here is
// one attempt).
func TestStaleSignInCreatesNothingAndCountsNothing(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fault := accounttest.NewFaultStore(b.open(t)(t))
			f := signedUpOn(t, accounttest.NewOnStore(t, fault, func(p *account.Policy) { p.PasswordAttempts = 1 }))
			usr, err := f.Store.UserByEmail(ctx, f.email)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := f.Store.RowCounts(ctx)
			fault.BeforeNextTx(func() {
				// Another session changes the password hash (to the same
				// password, so only the version tells): what the sign-in
				// checked no longer holds.
				if err := f.Writes().ChangePasswordHash(ctx, usr.ID, usr.SecurityVersion, usr.PasswordHash); err != nil {
					t.Error(err)
				}
			})
			if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); !errors.Is(err, account.ErrInvalidCredentials) {
				t.Fatalf("SignIn racing a password change = %v; want ErrInvalidCredentials", err)
			}
			after, _ := f.Store.RowCounts(ctx)
			if after["sessions"] != before["sessions"] || after["security_events"] != before["security_events"] {
				t.Errorf("the stale sign-in wrote sessions %d → %d, events %d → %d; want none", before["sessions"], after["sessions"], before["security_events"], after["security_events"])
			}
			if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); err != nil {
				t.Errorf("the next sign-in = %v; want it let through (the stale one counted nothing)", err)
			}
		})
	}
}
