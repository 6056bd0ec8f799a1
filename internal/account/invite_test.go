package account_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

func inviteOnly(p *account.Policy) { p.OpenSignUp = false }

// tokenOf is the token of an invitation link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q has no token", link)
	}
	return u.Query().Get("token")
}

// firstAdmin accepts a fresh setup link as ada@example.com and returns her
// session.
func firstAdmin(t *testing.T, env *accounttest.Env) *account.Session {
	t.Helper()
	link, err := env.Service.CreateSetupLink(ctx)
	if err != nil || link == "" {
		t.Fatalf("CreateSetupLink = %q, %v; want a link on a database without administrators", link, err)
	}
	u, token, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Email: "Ada@Example.com", Name: "Ada", Password: pw}, client)
	if err != nil || u.Role != account.RoleAdmin || u.Email != "ada@example.com" {
		t.Fatalf("accept setup link = %+v, %v; want the administrator ada@example.com", u, err)
	}
	sess, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("the setup link's session: %v", err)
	}
	return sess
}

// The first run's setup link makes the first administrator once; while an
// administrator exists no new link is made, and a link made before does
// nothing.
func TestSetupLinkMakesTheFirstAdministratorOnce(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	older, err := env.Service.CreateSetupLink(ctx)
	if err != nil || older == "" {
		t.Fatalf("CreateSetupLink = %q, %v", older, err)
	}
	firstAdmin(t, env)
	if link, err := env.Service.CreateSetupLink(ctx); err != nil || link != "" {
		t.Errorf("CreateSetupLink with an administrator = %q, %v; want none", link, err)
	}
	_, _, err = env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, older), Email: "eve@example.com", Name: "Eve", Password: pw}, client)
	if !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("an earlier setup link once an administrator exists = %v; want ErrInvitationInvalid", err)
	}
	if _, err := env.Store.UserByEmail(ctx, "eve@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("the refused setup link made an account: %v", err)
	}
}

// Two setup links accepted at the same moment make one administrator, on
// each store (the count is taken under LockAdministrators).
func TestConcurrentSetupLinksMakeOneAdministrator(t *testing.T) {
	t.Parallel()
	for name, newEnv := range map[string]func(testing.TB, ...func(*account.Policy)) *accounttest.Env{
		"sqlite": accounttest.New, "postgres": accounttest.NewPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, inviteOnly)
			const n = 8
			tokens := make([]string, n)
			for i := range tokens {
				link, err := env.Service.CreateSetupLink(ctx)
				if err != nil {
					t.Fatal(err)
				}
				tokens[i] = tokenOf(t, link)
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range tokens {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errs[i] = env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokens[i], Email: fmt.Sprintf("admin%d@example.com", i), Name: "A", Password: pw}, client)
				}()
			}
			wg.Wait()
			made := 0
			for i, err := range errs {
				switch {
				case err == nil:
					made++
				case !errors.Is(err, account.ErrInvitationInvalid):
					t.Errorf("setup link %d = %v; want success or ErrInvitationInvalid", i, err)
				}
			}
			n2, err := env.Store.CountAdministrators(ctx)
			if made != 1 || n2 != 1 || err != nil {
				t.Errorf("%d concurrent setup links made %d accounts and %d administrators (%v); want 1 and 1", n, made, n2, err)
			}
		})
	}
}

// An administrator invites by email; the mailed link makes that account
// (the email fixed by the invitation) once; a used, revoked or expired
// link makes nothing; only administrators invite.
func TestInvitation(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	admin := firstAdmin(t, env)

	inv, link, err := env.Service.Invite(ctx, admin, account.InviteInput{Email: "Bo@Example.com", Role: account.RoleMember}, client)
	if err != nil || inv.Email != "bo@example.com" || !inv.ExpiresAt.Equal(env.Clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("Invite = %+v, %v; want bo@example.com for 7 days", inv, err)
	}
	messages, err := env.Store.Notifications(ctx, 10)
	if err != nil || len(messages) == 0 || messages[0].Recipient != "bo@example.com" || messages[0].Kind != account.NotificationInvitation ||
		!strings.Contains(messages[0].Body, link) {
		t.Errorf("newest message = %+v, %v; want the invitation to bo with the link Invite returned", messages[0], err)
	}
	// The email is the invitation's, whatever is sent.
	u, token, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Email: "mallory@example.com", Name: "Bo", Password: pw}, client)
	if err != nil || u.Email != "bo@example.com" || u.Role != account.RoleMember || token == "" {
		t.Fatalf("AcceptInvitation = %+v, %v; want bo@example.com, a member, signed in", u, err)
	}
	if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Name: "Bo", Password: pw}, client); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("the same invitation again = %v; want ErrInvitationInvalid", err)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: "bo@example.com", Password: pw}, client); err != nil {
		t.Errorf("bo signs in with the password chosen at the invitation: %v", err)
	}

	// Only administrators invite; a member is refused before anything is written.
	bo, _ := env.Service.Authenticate(ctx, token)
	if _, _, err := env.Service.Invite(ctx, bo, account.InviteInput{Email: "cy@example.com", Role: account.RoleAdmin}, client); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("a member's Invite = %v; want ErrForbidden", err)
	}

	// Revoked and expired invitations make nothing.
	revoked, revokedLink, err := env.Service.Invite(ctx, admin, account.InviteInput{Email: "cy@example.com", Role: account.RoleMember}, client)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.RevokeInvitation(ctx, admin, revoked.ID, client); err != nil {
		t.Fatalf("RevokeInvitation = %v", err)
	}
	if err := env.Service.RevokeInvitation(ctx, admin, revoked.ID, client); !errors.Is(err, account.ErrInvitationNotFound) {
		t.Errorf("revoking it twice = %v; want ErrInvitationNotFound", err)
	}
	if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, revokedLink), Name: "Cy", Password: pw}, client); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("a revoked invitation = %v; want ErrInvitationInvalid", err)
	}
	_, expiring, err := env.Service.Invite(ctx, admin, account.InviteInput{Email: "di@example.com", Role: account.RoleMember}, client)
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(7*24*time.Hour + time.Second)
	if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, expiring), Name: "Di", Password: pw}, client); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("an invitation after 7 days = %v; want ErrInvitationInvalid", err)
	}
}

// Inviting an email that has an account answers exactly as a new one
// does; its owner is told, and the link makes nothing.
func TestInvitingAnExistingEmailAnswersAlike(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t) // open sign-up, to make the account
	env.SignUp(t, account.SignUpInput{Email: "ana@example.com", Password: pw, Name: "Ana"}, client)
	admin := firstAdmin(t, env)
	existing, existingLink, errExisting := env.Service.Invite(ctx, admin, account.InviteInput{Email: "ana@example.com", Role: account.RoleAdmin}, client)
	fresh, _, errNew := env.Service.Invite(ctx, admin, account.InviteInput{Email: "bo@example.com", Role: account.RoleAdmin}, client)
	if errExisting != nil || errNew != nil || existing.ID == 0 || fresh.ID == 0 || existing.ExpiresAt != fresh.ExpiresAt {
		t.Fatalf("Invite existing = %+v, %v; new = %+v, %v; want the same kind of answer", existing, errExisting, fresh, errNew)
	}
	messages, _ := env.Store.Notifications(ctx, 10)
	kinds := map[string]account.EventKind{}
	for _, n := range messages {
		if _, seen := kinds[n.Recipient]; !seen {
			kinds[n.Recipient] = n.Kind
		}
	}
	if kinds["ana@example.com"] != account.EventInvitationAttempt || kinds["bo@example.com"] != account.NotificationInvitation {
		t.Errorf("newest messages = %v; want a notice to ana and an invitation to bo", kinds)
	}
	if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, existingLink), Name: "Mallory", Password: "another password"}, client); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("the link made for an existing email = %v; want ErrInvitationInvalid", err)
	}
	u, err := env.Store.UserByEmail(ctx, "ana@example.com")
	if err != nil || u.Role != account.RoleMember || u.Name != "Ana" {
		t.Errorf("ana after the invitation = %+v, %v; want her account unchanged", u, err)
	}
}

// One invitation accepted from many requests at once makes one account.
func TestConcurrentAcceptsMakeOneAccount(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	admin := firstAdmin(t, env)
	_, link, err := env.Service.Invite(ctx, admin, account.InviteInput{Email: "bo@example.com", Role: account.RoleMember}, client)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Name: fmt.Sprint("Bo ", i), Password: pw}, client)
			switch {
			case err == nil:
				mu.Lock()
				made++
				mu.Unlock()
			case !errors.Is(err, account.ErrInvitationInvalid):
				t.Errorf("accept #%d = %v", i, err)
			}
		}()
	}
	wg.Wait()
	if made != 1 {
		t.Errorf("10 concurrent accepts made %d accounts; want 1", made)
	}
}

// With sign-up by invitation, the sign-up use case is refused before
// anything is written.
func TestSignUpByInvitationOnly(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client)
	if !errors.Is(err, account.ErrSignUpDisabled) {
		t.Errorf("StartSignUp by invitation only = %v; want ErrSignUpDisabled", err)
	}
	if messages, _ := env.Store.Notifications(ctx, 10); len(messages) != 0 {
		t.Errorf("a refused sign-up queued %d messages", len(messages))
	}
}

// Sending an invitation again makes a new link and stops the old one, in
// one transaction; an accepted one cannot be sent again.
func TestResendInvitation(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	admin := firstAdmin(t, env)
	inv, first, err := env.Service.Invite(ctx, admin, account.InviteInput{Email: "bo@example.com", Role: account.RoleAdmin}, client)
	if err != nil {
		t.Fatal(err)
	}
	again, second, err := env.Service.ResendInvitation(ctx, admin, inv.ID, client)
	if err != nil || again.Email != "bo@example.com" || again.Role != account.RoleAdmin || second == first {
		t.Fatalf("ResendInvitation = %+v, %q, %v; want a new link to bo as admin", again, second, err)
	}
	if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, first), Name: "Bo", Password: pw}, client); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("the first link after sending again = %v; want ErrInvitationInvalid", err)
	}
	if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, second), Name: "Bo", Password: pw}, client); err != nil {
		t.Errorf("the new link = %v", err)
	}
	if _, _, err := env.Service.ResendInvitation(ctx, admin, again.ID, client); !errors.Is(err, account.ErrInvitationNotFound) {
		t.Errorf("sending an accepted invitation again = %v; want ErrInvitationNotFound", err)
	}
}

// Decisions made on a read are checked where they are written: an
// invitation withdrawn, or 2FA switched to required, between a use case's
// read and its transaction makes the use case change nothing (each store).
func TestInvitationAndPolicyRaces(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fault := accounttest.NewFaultStore(b.open(t)(t))
			env := accounttest.NewOnStore(t, fault, inviteOnly)
			link, err := env.Service.CreateSetupLink(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, adaToken, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Email: "ada@example.com", Name: "Ada", Password: pw}, client)
			if err != nil {
				t.Fatal(err)
			}
			ada, _ := env.Service.Authenticate(ctx, adaToken)

			// Accept racing a withdrawal.
			inv, boLink, err := env.Service.Invite(ctx, ada, account.InviteInput{Email: "bo@example.com", Role: account.RoleMember}, client)
			if err != nil {
				t.Fatal(err)
			}
			fault.BeforeNextTx(func() {
				if err := env.Writes().RevokeInvitation(ctx, inv.ID, env.Clock.Now()); err != nil {
					t.Error(err)
				}
			})
			if _, _, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, boLink), Name: "Bo", Password: pw}, client); !errors.Is(err, account.ErrInvitationInvalid) {
				t.Errorf("accept racing its withdrawal = %v; want ErrInvitationInvalid", err)
			}
			if _, err := env.Store.UserByEmail(ctx, "bo@example.com"); !errors.Is(err, account.ErrNotFound) {
				t.Errorf("the withdrawn invitation made an account (%v)", err)
			}

			// Disabling 2FA racing "Require 2FA for all users".
			secret := enrollSession(t, env, adaToken)
			ada, _ = env.Service.Authenticate(ctx, adaToken)
			before, err := env.Store.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			fault.BeforeNextTx(func() {
				required := before
				required.RequireTwoFactor, required.RequiredSince = true, env.Clock.Now()
				if err := env.Writes().UpdateSettings(ctx, before, required); err != nil {
					t.Error(err)
				}
			})
			if err := env.Service.DisableTOTP(ctx, ada, pw, env.Code(t, secret), client); !errors.Is(err, account.ErrTwoFactorRequiredByPolicy) {
				t.Errorf("disable racing the requirement = %v; want ErrTwoFactorRequiredByPolicy", err)
			}
			if u, _ := env.Store.UserByEmail(ctx, "ada@example.com"); !u.TwoFactorEnabled() {
				t.Error("2FA was turned off although it became required meanwhile")
			}
		})
	}
}

// A link mailed while sign-up was open makes nothing once it is by
// invitation; an accepted invitation gives its sign-up attempt back.
func TestSignUpModeAndInvitationAttempts(t *testing.T) {
	t.Parallel()
	open := accounttest.New(t, func(p *account.Policy) { p.SignUpAttempts = 1 })
	elsewhere := account.Client{IP: "198.51.100.9"} // its own sign-up attempt
	if err := open.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, elsewhere); err != nil {
		t.Fatal(err)
	}
	link := open.SignUpLink(t, "bo@example.com")
	closed := accounttest.NewOnStore(t, open.Store, inviteOnly, func(p *account.Policy) { p.SignUpAttempts = 1 })
	if _, _, err := closed.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: link, Password: pw}, elsewhere); !errors.Is(err, account.ErrSignUpDisabled) {
		t.Errorf("a sign-up link once sign-up is by invitation = %v; want ErrSignUpDisabled", err)
	}
	admin := firstAdmin(t, closed) // one attempt from this address, given back
	for _, email := range []string{"cy@example.com", "dee@example.com"} {
		_, l, err := closed.Service.Invite(ctx, admin, account.InviteInput{Email: email, Role: account.RoleMember}, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := closed.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, l), Name: "N", Password: pw}, client); err != nil {
			t.Errorf("accept %s from the same address with a limit of 1 = %v; want accepted", email, err)
		}
	}
}
