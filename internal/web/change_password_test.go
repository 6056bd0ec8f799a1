package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
)

const newTestPassword = "staple cloud orbit lantern"

var fieldErrorID = regexp.MustCompile(`<p class="field-error" id="([a-z_]+)-error">`)

// fieldsWithErrors lists the fields that show a message, top to bottom.
func fieldsWithErrors(r *response) []string {
	var names []string
	for _, m := range fieldErrorID.FindAllStringSubmatch(r.body, -1) {
		names = append(names, m[1])
	}
	return names
}

// Changing the password: every problem is shown next to its field (and
// only there), a wrong current password changes nothing, and the right one
// replaces the password, keeps this browser signed in, signs out every
// other session of the account and tells the user.
func TestChangePassword(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp(testPhone)
	other := s.browser(t) // the same account in another browser
	other.signIn("/me")

	me := b.page("/me")
	wantText(t, me, `<h2 id="password-heading">Password</h2>`, `<a class="button secondary" href="/me/password">Change password</a>`)
	page := b.page("/me/password")
	wantText(t, page, "<title>Change password — twofold</title>", "<h1>Change password</h1>",
		`<label for="current_password">Current password</label>`, `<label for="new_password">New password</label>`,
		`autocomplete="current-password"`, `autocomplete="new-password"`,
		`<p class="hint" id="new_password-hint">At least 8 characters. A few unrelated words make a strong password.</p>`,
		`<button type="submit">Change password</button>`, `<a href="/me">Cancel</a>`)

	tests := []struct {
		name, current, next string
		want                map[string]string // message by field
	}{
		{"nothing", "", "", map[string]string{
			"current_password": "Enter your current password.",
			"new_password":     "Use at least 8 characters for your password.",
		}},
		{"no current password", "", newTestPassword, map[string]string{"current_password": "Enter your current password."}},
		{"short new password", testPassword, "short", map[string]string{"new_password": "Use at least 8 characters for your password."}},
		{"long new password", testPassword, strings.Repeat("a", 129), map[string]string{"new_password": "Use at most 128 characters for your password."}},
		{"new password not text", testPassword, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", map[string]string{"new_password": "Your password contains bytes that are not text."}},
		{"same as current", testPassword, testPassword, map[string]string{"new_password": "Choose a password different from your current one."}},
		{"wrong current password", "not it at all", newTestPassword, map[string]string{"current_password": msgWrongCurrentPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post("/me/password", url.Values{"current_password": {tt.current}, "new_password": {tt.next}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantText(t, r, "<h1>Change password</h1>")
			for field, want := range tt.want {
				if got := fieldError(t, r, field); got != want {
					t.Errorf("message next to %s: got %q; want %q", field, got, want)
				}
			}
			var want []string
			for _, field := range fieldOrder[pageChangePassword] {
				if tt.want[field] != "" {
					want = append(want, field)
				}
			}
			if got := fieldsWithErrors(r); !slices.Equal(got, want) {
				t.Errorf("messages next to %q; want next to %q only", got, want)
			}
			// Passwords are never sent back.
			wantNoText(t, r, testPassword, newTestPassword, `value="not it at all"`)
		})
	}
	// Nothing changed: both browsers are still signed in, on the old password.
	wantStatus(t, other.get("/me"), http.StatusOK)
	if events := b.page("/me"); strings.Contains(events.text(), "Password changed") {
		t.Errorf("a refused change is in the activity list as done")
	}

	// The change.
	wantRedirect(t, b.post("/me/password", url.Values{"current_password": {testPassword}, "new_password": {newTestPassword}}), "/me")
	me = b.page("/me")
	wantText(t, me, `<div class="flash flash-success" role="status">`, "Your password is changed.", "Your other sessions were signed out.",
		"<td>Password changed</td>")
	wantStatus(t, b.page("/me/password"), http.StatusOK) // this browser stays signed in
	wantRedirect(t, other.get("/me"), "/signin")         // the other is signed out

	msgs, err := s.env.Store.Notifications(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(msgs, func(n *account.Notification) bool {
		return n.Kind == account.EventPasswordChanged && n.Recipient == testEmail
	}) {
		t.Errorf("no %s message queued for %s", account.EventPasswordChanged, testEmail)
	}

	// At sign-in, the old password is refused and the new one works.
	third := s.browser(t)
	old := third.post("/signin", url.Values{"email": {testEmail}, "password": {testPassword}})
	wantStatus(t, old, http.StatusUnauthorized)
	wantText(t, old, "Wrong email or password.")
	wantRedirect(t, third.post("/signin", url.Values{"email": {testEmail}, "password": {newTestPassword}}), "/me")
	wantStatus(t, third.get("/me"), http.StatusOK)

	checkPages(t, b.pages)
}

// Wrong current passwords count like wrong passwords at sign-in: after
// too many, the page says to wait, and the right password waits too.
func TestChangePasswordThrottled(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signUp("")
	for range account.DefaultPolicy().PasswordAttempts {
		wantStatus(t, b.post("/me/password", url.Values{"current_password": {"not it at all"}, "new_password": {newTestPassword}}), http.StatusUnprocessableEntity)
	}
	r := b.post("/me/password", url.Values{"current_password": {testPassword}, "new_password": {newTestPassword}})
	wantStatus(t, r, http.StatusTooManyRequests)
	wantText(t, r, "<h1>Change password</h1>", `<div class="alert" role="alert" id="form-message"><p>Too many attempts. Wait 15 minutes, then try again.</p></div>`)
	if got := r.header.Get("Retry-After"); got == "" {
		t.Errorf("no Retry-After header")
	}
	wantStatus(t, b.get("/me"), http.StatusOK)
}
