package main_test

import (
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// The first minutes of a new install, as the README tells them, against
// the real binary on each store: serve logs a setup link; it makes the
// administrator; sign-up is by invitation; the operator's `user invite`
// and the administrator's API invite people, whose links make their
// accounts; members cannot use the administrators' API; a restart logs no
// new setup link once there is an administrator.
func TestFirstRunSetupLinkAndInvitations(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			env := []string{"TWOFOLD_SIGNUP=invite"}
			dbFlag := []string{"--data-dir", data}
			if backend == "postgres" {
				dsn := pgtest.Database(t)
				env = append(env, "TWOFOLD_DATABASE="+dsn)
				dbFlag = []string{"--database", dsn, "--data-dir", data}
			}
			p := start(t, data, env...)
			if p.setupURL == "" {
				t.Fatalf("serve on a new database logged no setup link:\n%s", p.logs)
			}
			c := clientFrom("127.0.0.1")
			tokenOf := func(link string) string {
				t.Helper()
				u, err := url.Parse(link)
				if err != nil || u.Path != "/invite" || u.Query().Get("token") == "" {
					t.Fatalf("link %q: want <base>/invite?token=…", link)
				}
				return u.Query().Get("token")
			}

			status, body, _, err := send(c, p.base, "POST", "/signup", "", map[string]string{"email": "eve@example.com", "password": crashPassword, "name": "Eve"})
			if err != nil || status != 403 || body["code"] != "signup_disabled" {
				t.Errorf("sign-up by invitation only = %d %v %v; want 403 signup_disabled", status, body, err)
			}
			status, body, admin, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{
				"token": tokenOf(p.setupURL), "email": "ada@example.com", "name": "Ada", "password": crashPassword})
			if err != nil || status != 201 || body["role"] != "admin" || body["email"] != "ada@example.com" {
				t.Fatalf("accept the setup link = %d %v %v; want 201, the administrator", status, body, err)
			}

			// The operator invites from the command line.
			cmd := exec.Command(binary, append([]string{"user", "invite", "bo@example.com"}, dbFlag...)...)
			cmd.Env = append(cmd.Environ(), env...)
			out, err := cmd.CombinedOutput()
			link := regexp.MustCompile(`http://\S+/invite\?token=\S+`).FindString(string(out))
			if err != nil || link == "" || !strings.Contains(string(out), "as member") {
				t.Fatalf("user invite = %s, %v; want the link", out, err)
			}
			status, body, bo, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{"token": tokenOf(link), "name": "Bo", "password": crashPassword})
			if err != nil || status != 201 || body["email"] != "bo@example.com" || body["role"] != "member" {
				t.Fatalf("accept bo's invitation = %d %v %v; want 201, the member bo", status, body, err)
			}
			status, body, _, err = send(c, p.base, "POST", "/invitations/accept", "", map[string]string{"token": tokenOf(link), "name": "Bo", "password": crashPassword})
			if err != nil || status != 410 || body["code"] != "invitation_invalid" {
				t.Errorf("the same invitation again = %d %v %v; want 410 invitation_invalid", status, body, err)
			}

			// The administrator invites through the API; a member cannot.
			status, body, _, err = send(c, p.base, "POST", "/admin/invitations", admin, map[string]string{"email": "cy@example.com", "role": "admin"})
			if err != nil || status != 201 || body["status"] != "pending" || body["url"] == nil {
				t.Fatalf("admin invites cy = %d %v %v; want 201 with the link", status, body, err)
			}
			id := body["id"]
			status, body, _, err = send(c, p.base, "POST", "/admin/invitations", bo, map[string]string{"email": "dee@example.com"})
			if err != nil || status != 403 || body["code"] != "forbidden" {
				t.Errorf("a member invites = %d %v %v; want 403 forbidden", status, body, err)
			}
			status, body, _, err = send(c, p.base, "GET", "/admin/invitations", admin, nil)
			if list, _ := body["invitations"].([]any); err != nil || status != 200 || len(list) != 2 {
				t.Errorf("list invitations = %d %v %v; want bo's (accepted) and cy's (pending)", status, body, err)
			}
			if status, _, _, err := send(c, p.base, "DELETE", "/admin/invitations/"+toJSON(id), admin, nil); err != nil || status != 204 {
				t.Errorf("withdraw cy's invitation = %d %v; want 204", status, err)
			}

			status, body, _, err = send(c, p.base, "GET", "/admin/audit", admin, nil)
			entries, _ := body["entries"].([]any)
			if err != nil || status != 200 || len(entries) != 3 {
				t.Errorf("audit log = %d %v %v; want the CLI's invitation, the API's and the withdrawal", status, body, err)
			} else if first := entries[2].(map[string]any); first["actor"] != "operator (CLI)" || first["action"] != "invite" || first["target"] != "bo@example.com" {
				t.Errorf("oldest audit entry = %v; want the operator inviting bo", first)
			}

			// Users: the last administrator stays; a deactivated member's
			// session ends at once on every instance of the database, and
			// their right password answers 403, a wrong one 401.
			other := p
			if backend == "postgres" {
				other = start(t, data, env...)
				defer other.stop(t)
			}
			status, body, _, err = send(c, p.base, "GET", "/admin/users", admin, nil)
			users, _ := body["users"].([]any)
			if err != nil || status != 200 || len(users) != 2 {
				t.Fatalf("admin users = %d %v %v; want ada and bo", status, body, err)
			}
			ids := map[string]string{}
			for _, u := range users {
				m := u.(map[string]any)
				ids[m["email"].(string)] = toJSON(m["id"])
				if m["email"] == "bo@example.com" && (m["role"] != "member" || m["active"] != true || m["two_factor_status"] != "not_required") {
					t.Errorf("bo in the users list = %v", m)
				}
			}
			status, body, _, err = send(c, p.base, "PATCH", "/admin/users/"+ids["ada@example.com"], admin, map[string]any{"role": "member"})
			if err != nil || status != 409 || body["code"] != "last_administrator" {
				t.Errorf("demote the last administrator = %d %v %v; want 409 last_administrator", status, body, err)
			}
			if status, _, _, _ := send(c, other.base, "GET", "/me", bo, nil); status != 200 {
				t.Fatalf("bo's session on the other instance = %d; want 200 before deactivation", status)
			}
			status, body, _, err = send(c, p.base, "PATCH", "/admin/users/"+ids["bo@example.com"], admin, map[string]any{"active": false})
			if err != nil || status != 200 || body["active"] != false {
				t.Fatalf("deactivate bo = %d %v %v; want 200, inactive", status, body, err)
			}
			for _, inst := range []*process{p, other} {
				if status, body, _, _ := send(c, inst.base, "GET", "/me", bo, nil); status != 401 {
					t.Errorf("bo's session on %s after deactivation = %d %v; want 401", inst.base, status, body)
				}
			}
			status, body, _, err = send(c, other.base, "POST", "/session", "", map[string]string{"email": "bo@example.com", "password": crashPassword})
			if err != nil || status != 403 || body["code"] != "account_deactivated" {
				t.Errorf("bo's right password after deactivation = %d %v %v; want 403 account_deactivated", status, body, err)
			}
			status, body, _, err = send(c, other.base, "POST", "/session", "", map[string]string{"email": "bo@example.com", "password": "not the password"})
			if err != nil || status != 401 || body["code"] != "invalid_credentials" {
				t.Errorf("a wrong password for bo = %d %v %v; want 401 invalid_credentials", status, body, err)
			}
			p.stop(t)

			q := start(t, data, env...)
			defer q.stop(t)
			if q.setupURL != "" {
				t.Errorf("a restart with an administrator logged a setup link %q", q.setupURL)
			}
		})
	}
}
