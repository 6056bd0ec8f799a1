package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// enrollSession turns 2FA on for the account of sess (a mobile number
// first), and moves the clock to the next step.
func enrollSession(t *testing.T, env *accounttest.Env, token string) (secret string) {
	t.Helper()
	sess, err := env.Service.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	phone := "+61412345678"
	if _, err := env.Service.UpdateProfile(ctx, sess, account.ProfileUpdate{MobilePhone: &phone}, client); err != nil {
		t.Fatal(err)
	}
	sess, _ = env.Service.Authenticate(ctx, token)
	setup, err := env.Service.BeginTOTPSetup(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.EnableTOTP(ctx, sess, env.Code(t, setup.Secret), client); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(30 * time.Second)
	return setup.Secret
}

// "Require 2FA for all users": switching it on needs the administrator's
// own 2FA; with 0 days an account without 2FA is stopped at once (only
// enrolling is allowed) and told by email; an account with 2FA cannot turn
// it off; with 7 days the deadline is shown until it passes.
func TestRequireTwoFactorForAllUsers(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t, inviteOnly)
	link, err := env.Service.CreateSetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, adaToken, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Email: "ada@example.com", Name: "Ada", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	session := func(token string) *account.Session {
		t.Helper()
		sess, err := env.Service.Authenticate(ctx, token)
		if err != nil {
			t.Fatalf("Authenticate = %v", err)
		}
		return sess
	}
	join := func(email string) string {
		t.Helper()
		_, link, err := env.Service.Invite(ctx, session(adaToken), account.InviteInput{Email: email, Role: account.RoleMember}, client)
		if err != nil {
			t.Fatal(err)
		}
		_, token, err := env.Service.AcceptInvitation(ctx, account.AcceptInput{Token: tokenOf(t, link), Name: "N", Password: pw}, client)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	boToken, cyToken := join("bo@example.com"), join("cy@example.com")

	on, zero, seven := true, 0, 7
	if _, err := env.Service.UpdateSettings(ctx, session(adaToken), account.SettingsUpdate{RequireTwoFactor: &on, GracePeriodDays: &zero}, client); !errors.As(err, new(*account.ValidationError)) {
		t.Fatalf("require 2FA by an administrator without it = %v; want a validation error", err)
	}
	enrollSession(t, env, adaToken)
	enrollSession(t, env, cyToken)

	before, _ := env.Store.Notifications(ctx, 100)
	st, err := env.Service.UpdateSettings(ctx, session(adaToken), account.SettingsUpdate{RequireTwoFactor: &on, GracePeriodDays: &zero}, client)
	if err != nil || !st.RequireTwoFactor || !st.RequiredSince.Equal(env.Clock.Now()) {
		t.Fatalf("require 2FA = %+v, %v", st, err)
	}
	after, _ := env.Store.Notifications(ctx, 100)
	sent := map[string]account.EventKind{}
	for _, n := range after[:len(after)-len(before)] {
		sent[n.Recipient] = n.Kind
	}
	if sent["bo@example.com"] != account.EventTwoFactorRequired || sent["ada@example.com"] != account.EventSettingsChanged || len(sent) != 2 {
		t.Errorf("mails when 2FA became required = %v; want bo told the deadline and the administrator told the change (cy has 2FA)", sent)
	}

	bo := session(boToken)
	if !env.Service.EnrollmentDue(bo) {
		t.Error("bo without 2FA, 0 days of grace: EnrollmentDue = false")
	}
	if err := env.Service.ChangePassword(ctx, bo, pw, "another good password", client); !errors.Is(err, account.ErrEnrollmentRequired) {
		t.Errorf("bo changes the password before enrolling = %v; want ErrEnrollmentRequired", err)
	}
	if err := env.Service.DisableTOTP(ctx, session(cyToken), pw, "000000", client); !errors.Is(err, account.ErrTwoFactorRequiredByPolicy) {
		t.Errorf("cy turns 2FA off while it is required = %v; want ErrTwoFactorRequiredByPolicy", err)
	}
	statuses := map[string]account.TwoFactorStatus{}
	users, err := env.Service.AdminUsers(ctx, session(adaToken))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		statuses[u.User.Email] = u.TwoFactorStatus
	}
	if statuses["bo@example.com"] != account.TwoFactorOverdue || statuses["cy@example.com"] != account.TwoFactorOn || statuses["ada@example.com"] != account.TwoFactorOn {
		t.Errorf("statuses = %v; want bo overdue, cy and ada enabled", statuses)
	}

	// Enrolling lifts it.
	enrollSession(t, env, boToken)
	if env.Service.EnrollmentDue(session(boToken)) {
		t.Error("bo with 2FA on: EnrollmentDue = true")
	}

	// 7 days of grace for a new account: its deadline is shown.
	if _, err := env.Service.UpdateSettings(ctx, session(adaToken), account.SettingsUpdate{GracePeriodDays: &seven}, client); err != nil {
		t.Fatal(err)
	}
	dee := session(join("dee@example.com"))
	deadline := env.Service.TwoFactorDeadline(dee)
	if want := env.Clock.Now().Add(7 * 24 * time.Hour); !deadline.Equal(want) || env.Service.EnrollmentDue(dee) {
		t.Errorf("dee's deadline = %v (due %v); want %v, not due yet", deadline, env.Service.EnrollmentDue(dee), want)
	}
}

// The grace period counts from when 2FA became required, or from the
// account's creation when that is later; an account with 2FA is on time.
func TestTwoFactorStatus(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	st := account.Settings{RequireTwoFactor: true, GracePeriodDays: 7, RequiredSince: since}
	old := &account.User{CreatedAt: since.Add(-30 * day)}
	late := &account.User{CreatedAt: since.Add(3 * day)}
	on := &account.User{CreatedAt: since, TOTP: &account.TOTPState{}}
	for _, tc := range []struct {
		name     string
		st       account.Settings
		u        *account.User
		now      time.Time
		want     account.TwoFactorStatus
		deadline time.Time
	}{
		{"not required", account.Settings{}, old, since, account.TwoFactorNotRequired, time.Time{}},
		{"enabled", st, on, since.Add(30 * day), account.TwoFactorOn, time.Time{}},
		{"in grace", st, old, since.Add(6 * day), account.TwoFactorInGrace, since.Add(7 * day)},
		{"overdue", st, old, since.Add(7 * day), account.TwoFactorOverdue, since.Add(7 * day)},
		{"created later: grace from creation", st, late, since.Add(8 * day), account.TwoFactorInGrace, since.Add(10 * day)},
		{"0 days", account.Settings{RequireTwoFactor: true, RequiredSince: since}, old, since, account.TwoFactorOverdue, since},
	} {
		got, deadline := tc.st.StatusOf(tc.u, tc.now)
		if got != tc.want || !deadline.Equal(tc.deadline) {
			t.Errorf("%s: StatusOf = %s, %v; want %s, %v", tc.name, got, deadline, tc.want, tc.deadline)
		}
	}
}
