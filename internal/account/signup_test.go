package account_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// Promise 3, sign-up half: signing up with an email that has an account
// answers exactly as a new email does; the difference goes by email to the
// address's owner, and the account is untouched.
func TestSignUpAnswersAlikeForNewAndExistingEmails(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "Bo@Example.com", Password: pw, Name: "Bo", MobilePhone: "+61 412 345 678"}, client); err != nil {
		t.Fatal(err)
	}
	token := env.SignUpLink(t, "bo@example.com")
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
	t.Parallel()
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := env.SignUpLink(t, "bo@example.com")
	env.Clock.Advance(env.Service.Policy().SignUpLinkTTL)
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client); !errors.Is(err, account.ErrSignUpLinkInvalid) {
		t.Errorf("ConfirmSignUp after %s = %v; want ErrSignUpLinkInvalid", env.Service.Policy().SignUpLinkTTL, err)
	}
	// The address is free: a new sign-up gets a new link that works.
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: env.SignUpLink(t, "bo@example.com"), Password: pw}, client); err != nil {
		t.Errorf("ConfirmSignUp with the new link = %v", err)
	}
}

// A link takes a few wrong passwords, not a search: then it is spent, and
// refused even with the right one.
func TestSignUpLinkLimitsWrongPasswords(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := env.SignUpLink(t, "bo@example.com")
	limit := env.Service.Policy().SignUpConfirmAttempts
	for i := range limit {
		if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: "guess number " + string(rune('a'+i))}, client); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("wrong password %d = %v; want ErrWrongPassword", i+1, err)
		}
	}
	// The link is spent, not paused: the page it opens says so at once.
	if _, err := env.Service.PendingSignUp(ctx, token); !errors.Is(err, account.ErrSignUpLinkInvalid) {
		t.Errorf("PendingSignUp after %d wrong passwords = %v; want ErrSignUpLinkInvalid", limit, err)
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: pw}, client); !errors.Is(err, account.ErrSignUpLinkInvalid) {
		t.Errorf("right password after %d wrong ones = %v; want ErrSignUpLinkInvalid", limit, err)
	}
	// An empty password is a slip, not a guess: it is not counted.
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "cy@example.com", Password: pw, Name: "Cy"}, client); err != nil {
		t.Fatal(err)
	}
	fresh := env.SignUpLink(t, "cy@example.com")
	var verr *account.ValidationError
	for range limit + 1 {
		if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: fresh, Password: ""}, client); !errors.As(err, &verr) || verr.Fields["password"] == "" {
			t.Fatalf("empty password = %v; want a validation message for password", err)
		}
	}
	if _, _, err := env.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: fresh, Password: pw}, client); err != nil {
		t.Errorf("right password after %d empty ones = %v; want success", limit+1, err)
	}
}

// Someone who signs up with another person's email cannot end up holding
// that person's account: the owner's link needs the owner's password, the
// stranger's link needs the stranger's, and confirming either one voids
// every other link for the address.
func TestSignUpInSomeoneElsesNameGetsNowhere(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	const victim = "ana@example.com"
	mallory := account.Client{IP: "203.0.113.66"}
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: victim, Password: "mallory knows this", Name: "Ana"}, mallory); err != nil {
		t.Fatal(err)
	}
	strangers := env.SignUpLink(t, victim)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: victim, Password: pw, Name: "Ana"}, client); err != nil {
		t.Fatal(err)
	}
	owners := env.SignUpLink(t, victim)
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

// One link makes one account, however many requests race to use it
// (attempts in flight count against the link's wrong-password budget, so
// some may find it spent).
func TestSignUpLinkIsUsedOnce(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := env.SignUpLink(t, "bo@example.com")
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
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, account.ErrSignUpLinkInvalid):
			t.Errorf("racing confirmation = %v; want success or ErrSignUpLinkInvalid", err)
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
	t.Parallel()
	env := accounttest.New(t)
	if err := env.Service.StartSignUp(ctx, account.SignUpInput{Email: "bo@example.com", Password: pw, Name: "Bo"}, client); err != nil {
		t.Fatal(err)
	}
	token := env.SignUpLink(t, "bo@example.com")
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

// One address gets at most SignUpPerEmail messages from sign-ups an hour,
// whoever sends them and whether or not it has an account; the answer
// stays the same.
func TestSignUpMailsAnAddressOnlySoOften(t *testing.T) {
	t.Parallel()
	f := signedUp(t)
	f.Clock.Advance(f.Service.Policy().SignUpWindow) // ana's own sign-up counted too
	limit := f.Service.Policy().SignUpPerEmail
	for _, email := range []string{"ana@example.com", "bo@example.com"} {
		before, _ := f.Store.Notifications(ctx, 1000)
		for i := range limit + 3 {
			from := account.Client{IP: fmt.Sprintf("198.51.100.%d", i+1)}
			if err := f.Service.StartSignUp(ctx, account.SignUpInput{Email: email, Password: pw, Name: "X"}, from); err != nil {
				t.Fatalf("sign-up %d for %s = %v; want nil", i+1, email, err)
			}
		}
		after, _ := f.Store.Notifications(ctx, 1000)
		if got := len(after) - len(before); got != limit {
			t.Errorf("%d sign-ups for %s queued %d messages; want %d", limit+3, email, got, limit)
		}
	}
	// The name typed at sign-up is not put in a message to the address.
	msgs, _ := f.Store.Notifications(ctx, 1)
	if strings.Contains(msgs[0].Body, "Hello X") {
		t.Errorf("sign-up link message greets with the name typed at sign-up: %q", msgs[0].Body)
	}
}

func TestDescribeDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 24 * time.Hour: "24 hours", time.Minute: "1 minute",
		90 * time.Minute: "90 minutes", 30*time.Second + time.Minute: "2 minutes",
	} {
		if got := account.DescribeDuration(d); got != want {
			t.Errorf("DescribeDuration(%v) = %q; want %q", d, got, want)
		}
	}
}
