package account_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

func role(r account.Role) *account.Role { return &r }
func active(b bool) *bool               { return &b }

// invited makes an account through an invitation from admin and returns
// its session.
func invited(t *testing.T, env *accounttest.Env, admin *account.Session, email string, r account.Role) *account.Session {
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
	return sess
}

// The last active administrator can be neither demoted nor deactivated;
// with a second one, either can.
func TestLastAdministratorStays(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	ada := firstAdmin(t, env)
	for what, update := range map[string]account.UserUpdate{"demote": {Role: role(account.RoleMember)}, "deactivate": {Active: active(false)}} {
		if _, err := env.Service.UpdateUser(ctx, ada, ada.UserID, update, client); !errors.Is(err, account.ErrLastAdministrator) {
			t.Errorf("%s the last administrator = %v; want ErrLastAdministrator", what, err)
		}
	}
	bo := invited(t, env, ada, "bo@example.com", account.RoleMember)
	if _, err := env.Service.UpdateUser(ctx, bo, ada.UserID, account.UserUpdate{Role: role(account.RoleMember)}, client); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("a member demotes an administrator = %v; want ErrForbidden", err)
	}
	u, err := env.Service.UpdateUser(ctx, ada, bo.UserID, account.UserUpdate{Role: role(account.RoleAdmin)}, client)
	if err != nil || u.Role != account.RoleAdmin {
		t.Fatalf("promote bo = %+v, %v", u, err)
	}
	if u, err := env.Service.UpdateUser(ctx, ada, ada.UserID, account.UserUpdate{Role: role(account.RoleMember)}, client); err != nil || u.Role != account.RoleMember {
		t.Errorf("ada steps down with bo an administrator = %+v, %v; want done", u, err)
	}
}

// Two administrators demoting each other at the same moment leave one,
// on each store.
func TestMutualDemotionLeavesAnAdministrator(t *testing.T) {
	t.Parallel()
	for name, newEnv := range map[string]func(testing.TB, ...func(*account.Policy)) *accounttest.Env{
		"sqlite": accounttest.New, "postgres": accounttest.NewPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			for round := range 5 {
				env := newEnv(t, inviteOnly)
				ada := firstAdmin(t, env)
				bo := invited(t, env, ada, "bo@example.com", account.RoleAdmin)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, pair := range [][2]*account.Session{{ada, bo}, {bo, ada}} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[i] = env.Service.UpdateUser(ctx, pair[0], pair[1].UserID, account.UserUpdate{Role: role(account.RoleMember)}, client)
					}()
				}
				wg.Wait()
				n, err := env.Store.CountAdministrators(ctx)
				if err != nil || n != 1 {
					t.Errorf("round %d: after mutual demotion (%v, %v) %d administrators; want 1", round, errs[0], errs[1], n)
				}
				for _, err := range errs {
					if err != nil && !errors.Is(err, account.ErrConflict) && !errors.Is(err, account.ErrLastAdministrator) && !errors.Is(err, account.ErrForbidden) {
						t.Errorf("round %d: demotion = %v; want success, ErrConflict, ErrLastAdministrator or ErrForbidden", round, err)
					}
				}
			}
		})
	}
}

// Deactivation ends the account's sessions at once; its right password
// then answers ErrAccountDeactivated and a wrong one the usual error;
// reactivated, it signs in again.
func TestDeactivation(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	ada := firstAdmin(t, env)
	bo := invited(t, env, ada, "bo@example.com", account.RoleMember)
	token, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "bo@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.UpdateUser(ctx, ada, bo.UserID, account.UserUpdate{Active: active(false)}, client); err != nil {
		t.Fatalf("deactivate bo = %v", err)
	}
	if _, err := env.Service.Authenticate(ctx, token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("bo's session after deactivation = %v; want ErrUnauthenticated", err)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "bo@example.com", Password: pw}, client); !errors.Is(err, account.ErrAccountDeactivated) {
		t.Errorf("bo's right password = %v; want ErrAccountDeactivated", err)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "bo@example.com", Password: "not the password"}, client); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("a wrong password for bo = %v; want ErrInvalidCredentials", err)
	}
	if _, err := env.Service.UpdateUser(ctx, ada, bo.UserID, account.UserUpdate{Active: active(true)}, client); err != nil {
		t.Fatalf("reactivate bo = %v", err)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "bo@example.com", Password: pw}, client); err != nil {
		t.Errorf("bo after reactivation = %v; want signed in", err)
	}
	events, _ := env.Service.Events(ctx, bo.UserID)
	kinds := map[account.EventKind]bool{}
	for _, e := range events {
		kinds[e.Kind] = true
	}
	if !kinds[account.EventDeactivated] || !kinds[account.EventReactivated] {
		t.Errorf("bo's activity = %v; want the deactivation and the reactivation", kinds)
	}
}

// Every administrative action is in the audit log, with who did it, on
// whom and what; the operator's CLI actions too.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	ada := firstAdmin(t, env)
	bo := invited(t, env, ada, "bo@example.com", account.RoleMember)
	if _, err := env.Service.UpdateUser(ctx, ada, bo.UserID, account.UserUpdate{Role: role(account.RoleAdmin)}, client); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.UpdateUser(ctx, ada, bo.UserID, account.UserUpdate{Active: active(false)}, client); err != nil {
		t.Fatal(err)
	}
	inv, _, err := env.Service.Invite(ctx, nil, account.InviteInput{Email: "cy@example.com", Role: account.RoleMember}, account.Client{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.RevokeInvitation(ctx, ada, inv.ID, client); err != nil {
		t.Fatal(err)
	}
	entries, err := env.Service.AuditLog(ctx, ada, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+string(e.Action)+" "+e.Target)
	}
	want := []string{
		"ada@example.com revoke_invitation cy@example.com",
		"operator (CLI) invite cy@example.com",
		"ada@example.com deactivate bo@example.com",
		"ada@example.com role_change bo@example.com",
		"ada@example.com invite bo@example.com",
	}
	if len(got) != len(want) {
		t.Fatalf("audit log = %q; want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit entry %d = %q; want %q", i, got[i], want[i])
		}
	}
	if _, err := env.Service.AuditLog(ctx, bo, 10); err == nil {
		t.Error("a deactivated account read the audit log")
	}
}
