package account_test

import (
	"errors"
	"testing"

	"github.com/twofold/twofold/internal/account"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	const next = "a brand new passphrase"
	other, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, current, next, field string
	}{
		{"no current password", "", next, "current_password"},
		{"new one too short", pw, "short", "new_password"},
		{"new one the same", pw, pw, "new_password"},
	} {
		var verr *account.ValidationError
		if err := f.Service.ChangePassword(ctx, f.session(), tt.current, tt.next, client); !errors.As(err, &verr) || verr.Fields[tt.field] == "" {
			t.Errorf("%s: ChangePassword = %v; want a message for %s", tt.name, err, tt.field)
		}
	}
	if err := f.Service.ChangePassword(ctx, f.session(), "not my password", next, client); !errors.Is(err, account.ErrWrongPassword) {
		t.Errorf("ChangePassword(wrong current password) = %v; want ErrWrongPassword", err)
	}
	if err := f.Service.ChangePassword(ctx, f.session(), pw, next, client); err != nil {
		t.Fatalf("ChangePassword = %v", err)
	}

	if _, err := f.Service.Authenticate(ctx, f.token); err != nil {
		t.Errorf("the session that changed the password: %v; want it kept", err)
	}
	if !f.Service.RecentlyAuthenticated(f.session()) {
		t.Error("the session that changed the password does not count as recently authenticated")
	}
	if _, err := f.Service.Authenticate(ctx, other); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("another session after the change: %v; want ErrUnauthenticated", err)
	}
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: pw}, client); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("SignIn with the old password = %v; want ErrInvalidCredentials", err)
	}
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: f.email, Password: next}, client); err != nil {
		t.Errorf("SignIn with the new password = %v", err)
	}
	events, _ := f.Service.Events(ctx, f.session().UserID)
	found := false
	for _, e := range events {
		found = found || e.Kind == account.EventPasswordChanged
	}
	if !found {
		t.Errorf("no %s event", account.EventPasswordChanged)
	}
	msgs, _ := f.Store.Notifications(ctx, 10)
	found = false
	for _, n := range msgs {
		found = found || (n.Kind == account.EventPasswordChanged && n.Recipient == f.email)
	}
	if !found {
		t.Errorf("no %s message to %s", account.EventPasswordChanged, f.email)
	}
}

func TestChangePasswordNeedsAFullSignIn(t *testing.T) {
	t.Parallel()
	f := enrolled(t)
	pending, err := f.Service.Session(ctx, f.signInPassword())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Service.ChangePassword(ctx, pending, pw, "a brand new passphrase", client); !errors.Is(err, account.ErrSecondFactorRequired) {
		t.Errorf("ChangePassword from a half-signed-in session = %v; want ErrSecondFactorRequired", err)
	}
}
