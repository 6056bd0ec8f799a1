package main_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// "Require 2FA for all users" through the API of the real binary: the
// administrator (with 2FA on) switches it on with 0 days; an invited
// member is then stopped (403 two_factor_enrollment_required) everywhere
// but enrollment, enrolls through the API and is let through; they cannot
// turn 2FA off (409); with 7 days a new member gets the deadline header,
// and the Users list says "grace".
func TestRequireTwoFactorThroughTheAPI(t *testing.T) {
	t.Parallel()
	p := start(t, t.TempDir(), "TWOFOLD_SIGNUP=invite")
	defer p.stop(t)
	c := clientFrom("127.0.0.1")
	must := func(what string, status int, body map[string]any, err error, want int) {
		t.Helper()
		if err != nil || status != want {
			t.Fatalf("%s = %d %v %v; want %d", what, status, body, err, want)
		}
	}
	u, _ := url.Parse(p.setupURL)
	status, body, admin, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{"token": u.Query().Get("token"), "email": "ada@example.com", "name": "Ada", "password": crashPassword})
	must("accept the setup link", status, body, err, 201)
	enroll := func(token string) []byte {
		t.Helper()
		status, body, _, err := send(c, p.base, "PATCH", "/me", token, map[string]string{"mobile_phone": "+61412345678"})
		must("add a number", status, body, err, 200)
		status, body, _, err = send(c, p.base, "POST", "/me/two-factor/setup", token, nil)
		must("setup", status, body, err, 200)
		secret, err := totp.DecodeSecret(body["secret"].(string))
		if err != nil {
			t.Fatal(err)
		}
		status, body, _, err = send(c, p.base, "POST", "/me/two-factor/enable", token, map[string]string{"code": totp.Code(secret, time.Now())})
		must("enable", status, body, err, 200)
		return secret
	}
	invite := func(email string) string {
		t.Helper()
		status, body, _, err := send(c, p.base, "POST", "/admin/invitations", admin, map[string]string{"email": email})
		must("invite "+email, status, body, err, 201)
		link, _ := url.Parse(body["url"].(string))
		status, body, token, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{"token": link.Query().Get("token"), "name": "N", "password": crashPassword})
		must("accept "+email, status, body, err, 201)
		return token
	}

	status, body, _, err = send(c, p.base, "PATCH", "/admin/settings", admin, map[string]any{"require_two_factor": true, "grace_period_days": 0})
	must("require 2FA without it yourself", status, body, err, 422)
	enroll(admin)
	status, body, _, err = send(c, p.base, "PATCH", "/admin/settings", admin, map[string]any{"require_two_factor": true, "grace_period_days": 0})
	if err != nil || status != 200 || body["require_two_factor"] != true {
		t.Fatalf("require 2FA = %d %v %v", status, body, err)
	}

	bo := invite("bo@example.com")
	for _, call := range []struct{ method, path string }{{"POST", "/me/password"}, {"GET", "/admin/users"}, {"POST", "/me/two-factor/disable"}} {
		status, body, _, err := send(c, p.base, call.method, call.path, bo, map[string]string{})
		if err != nil || status != 403 || body["code"] != "two_factor_enrollment_required" {
			t.Errorf("%s %s before enrolling = %d %v %v; want 403 two_factor_enrollment_required", call.method, call.path, status, body, err)
		}
	}
	status, body, _, err = send(c, p.base, "GET", "/me", bo, nil)
	must("GET /me before enrolling", status, body, err, 200)
	secret := enroll(bo)
	status, body, _, err = send(c, p.base, "POST", "/me/password", bo, map[string]string{"current_password": "wrong", "new_password": "another good password"})
	if err != nil || status == 403 {
		t.Errorf("a password change after enrolling = %d %v %v; want it let through (and refused for the wrong current password)", status, body, err)
	}
	status, body, _, err = send(c, p.base, "POST", "/me/two-factor/disable", bo, map[string]string{"password": crashPassword, "code": totp.Code(secret, time.Now().Add(30*time.Second))})
	if err != nil || status != 409 || body["code"] != "two_factor_required_by_policy" {
		t.Errorf("turn 2FA off while required = %d %v %v; want 409 two_factor_required_by_policy", status, body, err)
	}

	// 7 days of grace: the deadline in a header, and "grace" on the list.
	status, body, _, err = send(c, p.base, "PATCH", "/admin/settings", admin, map[string]any{"grace_period_days": 7})
	must("grace 7 days", status, body, err, 200)
	cy := invite("cy@example.com")
	req, _ := http.NewRequest("GET", p.base+"/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "twofold_session", Value: cy})
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline, err := time.Parse(time.RFC3339, resp.Header.Get("Twofold-Two-Factor-Deadline"))
	if resp.StatusCode != 200 || err != nil || deadline.Before(time.Now().Add(7*24*time.Hour-time.Minute)) {
		t.Errorf("cy's GET /me = %d, deadline header %q (%v); want 200 and a deadline 7 days out", resp.StatusCode, resp.Header.Get("Twofold-Two-Factor-Deadline"), err)
	}
	status, body, _, err = send(c, p.base, "GET", "/admin/users", admin, nil)
	must("users", status, body, err, 200)
	for _, u := range body["users"].([]any) {
		m := u.(map[string]any)
		want := map[string]string{"ada@example.com": "enabled", "bo@example.com": "enabled", "cy@example.com": "grace"}[m["email"].(string)]
		if m["two_factor_status"] != want {
			t.Errorf("%s: two_factor_status %v; want %s", m["email"], m["two_factor_status"], want)
		}
	}
}
