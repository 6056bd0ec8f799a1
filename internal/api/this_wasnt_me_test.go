package api

import (
	"testing"

	"github.com/twofold/twofold/internal/account"
)

// POST /api/v1/this-wasnt-me: the link's token and the password sign every
// session of the account out (200 signed_out_everywhere); a wrong password
// is 401 invalid_credentials and keeps the link; a used or unknown link is
// 410 disavow_link_invalid. The password-changed email's link takes the
// password from before the change.
func TestDisavowEndpoint(t *testing.T) {
	env, srv := newServer(t)
	c := newClient(t, srv)
	const old, next = "correct horse battery", "a brand new password"
	wantJSON(t, "sign up", c.signUp(env, map[string]string{"email": "ana@example.com", "password": old, "name": "Ana"}), 201, nil)
	sess, err := env.Service.Authenticate(t.Context(), c.token())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.ChangePassword(t.Context(), sess, old, next, account.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	other := newClient(t, srv)
	wantJSON(t, "sign in elsewhere", other.send("POST", "/api/v1/session", jsonBody(t, map[string]string{"email": "ana@example.com", "password": next})), 200, nil)
	token := env.DisavowLink(t, "ana@example.com", account.EventPasswordChanged)

	wantProblem(t, "no password", c.send("POST", "/api/v1/this-wasnt-me", jsonBody(t, map[string]string{"token": token})), 422, "validation_failed")
	wantProblem(t, "wrong password", c.send("POST", "/api/v1/this-wasnt-me", jsonBody(t, map[string]string{"token": token, "password": "not it"})), 401, "invalid_credentials")
	wantJSON(t, "me after a wrong password", other.send("GET", "/api/v1/me", ""), 200, nil)

	var got struct {
		Status            string `json:"status"`
		DevicesForgotten  int    `json:"devices_forgotten"`
		RecoveryCancelled bool   `json:"recovery_cancelled"`
	}
	res := c.send("POST", "/api/v1/this-wasnt-me", jsonBody(t, map[string]string{"token": token, "password": old}))
	wantJSON(t, "this wasn't me", res, 200, &got)
	if got.Status != "signed_out_everywhere" {
		t.Errorf("status = %q; want signed_out_everywhere", got.Status)
	}
	if res.header.Get("Set-Cookie") == "" || c.token() != "" {
		t.Errorf("the client's own session cookie after the link = %q; want it cleared", c.token())
	}
	for name, cl := range map[string]*apiClient{"this client": c, "the other": other} {
		wantProblem(t, "me of "+name+" after the link", cl.send("GET", "/api/v1/me", ""), 401, "unauthenticated")
	}
	wantProblem(t, "the link again", other.send("POST", "/api/v1/this-wasnt-me", jsonBody(t, map[string]string{"token": token, "password": old})), 410, "disavow_link_invalid")
	wantProblem(t, "an unknown link", other.send("POST", "/api/v1/this-wasnt-me", jsonBody(t, map[string]string{"token": "garbage", "password": old})), 410, "disavow_link_invalid")
}
