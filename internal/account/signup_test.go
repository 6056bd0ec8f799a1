package account_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// linkFor returns the token of the newest sign-up link mailed to email.
func linkFor(t *testing.T, env *accounttest.Env, email string) string {
	t.Helper()
	token, ok, err := accounttest.SignUpToken(ctx, env.Store, email)
	if err != nil || !ok {
		t.Fatalf("sign-up link for %s: ok=%v, %v", email, ok, err)
	}
	return token
}

// Promise 3, sign-up half: signing up with an email that has an account
// answers exactly as a new email does; the difference goes by email to the
// address's owner, and the account is untouched.
func TestSignUpAnswersAlikeForNewAndExistingEmails(t *testing.T) {
	f := signedUp(t)
	before, _ := f.Store.Notifications(ctx, 1000)

	errExisting := f.Service.StartSignUp(ctx, account.SignUpInput{Email: "ANA@example.com", Password: "mallory's password", Name: "Mallory"}, client)
	errNew := f.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client)
	if errExisting != nil || errNew != nil {
		t.Fatalf("StartSignUp existing = %v, new = %v; want nil for both", errExisting, errNew)
	}

	after, _ := f.Store.Notifications(ctx, 1000)
	got := map[string][]account.EventKind{}
	for _, n := range after[:len(after)-len(before)] {
		got[n.Recipient] = append(got[n.Recipient], n.Kind)
	}
	if len(got) != 2 || len(got["ana@example.com"]) != 1 || got["ana@example.com"][0] != account.EventSignUpAttempt ||
		len(got["bo@example.com"]) != 1 || got["bo@example.com"][0] != account.NotificationSignUpLink {
		t.Errorf("new messages by recipient = %v; want a %s notice to the owner and a %s to the new address",
			got, account.EventSignUpAttempt, account.NotificationSignUpLink)
	}
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: pw}, client); err != nil {
		t.Errorf("owner's own password after someone signed up with the email: SignIn = %v; want success", err)
	}
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: "mallory's password"}, client); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("the password typed at the second sign-up: SignIn = %v; want ErrInvalidCredentials", err)
	}
	if _, _, err := f.Service.SignIn(ctx, account.SignInInput{Email: "bo@example.com", Password: pw}, client); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("SignIn before the link was opened = %v; want ErrInvalidCredentials (no account yet)", err)
	}
}

func TestConfirmSignUp(t *testing.T) {
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "Bo@Example.com", Password: pw, Name: "Bo", MobilePhone: "+61 412 345 678"}, client); err != nil {
		t.Fatal(err)
	}
	token := linkFor(t, env, "bo@example.com")
	p, err := env.Service.PendingSignUp(ctx, token)
	if err != nil || p.Email != "bo@example.com" || p.Name != "Bo" {
		t.Fatalf("PendingSignUp = %+v, %v; want Bo's sign-up", p, err)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: "not my password"}, client); !errors.Is(err, account.ErrWrongPassword) {
		t.Errorf("ConfirmSignUp(wrong password) = %v; want ErrWrongPassword", err)
	}
	u, session, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client)
	if err != nil {
		t.Fatalf("ConfirmSignUp = %v", err)
	}
	if u.Email != "bo@example.com" || u.MobilePhone != "+61412345678" {
		t.Errorf("user = %q %q; want bo@example.com, +61412345678", u.Email, u.MobilePhone)
	}
	sess, err := env.Service.Authenticate(ctx, session)
	if err != nil || sess.UserID != u.ID {
		t.Errorf("Authenticate(new session) = %+v, %v; want a signed-in session of user %d", sess, err, u.ID)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client); !errors.Is(err, account.ErrSignUpLinkInvalid) {
		t.Errorf("the same link again = %v; want ErrSignUpLinkInvalid", err)
	}
	events, _ := env.Service.Events(ctx, u.ID)
	if len(events) != 1 || events[0].Kind != account.EventSignUp {
		t.Errorf("events = %v; want one %s", events, account.EventSignUp)
	}
	for _, bad := range []string{"", "garbage", strings.Repeat("A", 43), strings.Repeat("x", 10000)} {
		if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: bad, Password: pw}, client); !errors.Is(err, account.ErrSignUpLinkInvalid) {
			t.Errorf("ConfirmSignUp(token %.20q) = %v; want ErrSignUpLinkInvalid", bad, err)
		}
	}
}

func TestSignUpLinkExpires(t *testing.T) {
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := linkFor(t, env, "bo@example.com")
	env.Clock.Advance(env.Service.Policy().SignUpLinkTTL)
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client); !errors.Is(err, account.ErrSignUpLinkInvalid) {
		t.Errorf("ConfirmSignUp after %s = %v; want ErrSignUpLinkInvalid", env.Service.Policy().SignUpLinkTTL, err)
	}
	// The address is free: a new sign-up gets a new link that works.
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: linkFor(t, env, "bo@example.com"), Password: pw}, client); err != nil {
		t.Errorf("ConfirmSignUp with the new link = %v", err)
	}
}

// A link takes a few wrong passwords, not a search: then it is refused
// even with the right one, until it expires.
func TestSignUpLinkLimitsWrongPasswords(t *testing.T) {
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := linkFor(t, env, "bo@example.com")
	limit := env.Service.Policy().SignUpConfirmAttempts
	for i := range limit {
		if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: "guess number " + string(rune('a'+i))}, client); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("wrong password %d = %v; want ErrWrongPassword", i+1, err)
		}
	}
	var te *account.ThrottledError
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client); !errors.As(err, &te) {
		t.Errorf("right password after %d wrong ones = %v; want ThrottledError", limit, err)
	}
}

// Someone who signs up with another person's email cannot end up holding
// that person's account: the owner's link needs the owner's password, the
// stranger's link needs the stranger's, and confirming either one voids
// every other link for the address.
func TestSignUpInSomeoneElsesNameGetsNowhere(t *testing.T) {
	env := accounttest.New(t)
	const victim = "ana@example.com"
	mallory := account.Client{IP: "203.0.113.66"}
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: victim, Password: "mallory knows this", Name: "Ana"}, mallory); err != nil {
		t.Fatal(err)
	}
	strangers := linkFor(t, env, victim)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: victim, Password: pw, Name: "Ana"}, client); err != nil {
		t.Fatal(err)
	}
	owners := linkFor(t, env, victim)
	if strangers == owners {
		t.Fatal("two sign-ups got the same link")
	}
	// Ana opens the stranger's link by mistake and types her own password.
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: strangers, Password: pw}, client); !errors.Is(err, account.ErrWrongPassword) {
		t.Errorf("the stranger's link with the owner's password = %v; want ErrWrongPassword", err)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: owners, Password: pw}, client); err != nil {
		t.Fatalf("the owner's link = %v", err)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: strangers, Password: "mallory knows this"}, mallory); !errors.Is(err, account.ErrSignUpLinkInvalid) {
		t.Errorf("the stranger's link after the owner confirmed = %v; want ErrSignUpLinkInvalid", err)
	}
	if _, _, err := env.Service.SignIn(ctx, account.SignInInput{Email: victim, Password: "mallory knows this"}, mallory); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("SignIn with the stranger's password = %v; want ErrInvalidCredentials", err)
	}
}

// One link makes one account, however many requests race to use it.
func TestSignUpLinkIsUsedOnce(t *testing.T) {
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := linkFor(t, env, "bo@example.com")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client)
		})
	}
	wg.Wait()
	ok := 0
	var te *account.ThrottledError
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, account.ErrSignUpLinkInvalid) && !errors.As(err, &te):
			// Throttled: attempts in flight count against the link's limit.
			t.Errorf("racing confirmation = %v; want success, ErrSignUpLinkInvalid or ThrottledError", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d racing confirmations succeeded; want exactly 1", ok, n)
	}
	users, _ := env.Store.ListUsers(ctx)
	if len(users) != 1 {
		t.Errorf("%d users; want 1", len(users))
	}
}

// Expired links are removed by the cleanup job.
func TestCleanupRemovesExpiredSignUpLinks(t *testing.T) {
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := linkFor(t, env, "bo@example.com")
	p, err := env.Service.PendingSignUp(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(env.Service.Policy().SignUpLinkTTL - time.Second)
	if err := env.Service.DeleteExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.PendingSignUpByTokenHash(ctx, p.TokenHash); err != nil {
		t.Errorf("a link one second before it expires, after cleanup: %v; want it kept", err)
	}
	env.Clock.Advance(time.Second)
	if err := env.Service.DeleteExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.PendingSignUpByTokenHash(ctx, p.TokenHash); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("an expired link after cleanup: %v; want ErrNotFound", err)
	}
}
