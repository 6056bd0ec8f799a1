package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// deviceCookie is the remembered-device cookie the jar holds, or "".
func (c *apiClient) deviceCookie() string {
	for _, ck := range c.http.Jar.Cookies(mustURL(c.t, c.base)) {
		if ck.Name == httpauth.DeviceCookieName {
			return ck.Value
		}
	}
	return ""
}

// POST /session/two-factor with "remember_device": true sets the device
// cookie; with it, POST /session answers "authenticated" for a 2FA
// account, once per token (it rotates); GET /me/devices lists the device,
// and DELETE forgets one or all, which brings the code step back.
func TestRememberDevice(t *testing.T) {
	env, srv := newServer(t)
	owner := signedUp(t, env, srv, anaEmail, "+61412345678")
	var setup setupResponse
	wantJSON(t, "setup", owner.send("POST", "/api/v1/me/two-factor/setup", ""), 200, &setup)
	wantJSON(t, "enable", owner.send("POST", "/api/v1/me/two-factor/enable", jsonBody(t, map[string]string{"code": env.Code(t, setup.Secret)})), 200, nil)
	code := func() string {
		env.Clock.Advance(30 * time.Second)
		return env.Code(t, setup.Secret)
	}

	c := newClient(t, srv)
	signIn(t, c, anaEmail, anaPassword, account.StageSecondFactor)
	res := c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]any{"code": code(), "remember_device": true}))
	wantJSON(t, "code with remember_device", res, 200, nil)
	var device *http.Cookie
	for _, ck := range (&http.Response{Header: res.header}).Cookies() {
		if ck.Name == httpauth.DeviceCookieName {
			device = ck
		}
	}
	if device == nil || device.Value == "" || device.Value == c.token() {
		t.Fatalf("device cookie = %+v; want its own token, not the session's", device)
	}
	if !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.MaxAge != 30*24*60*60 || device.Path != "/" {
		t.Errorf("device cookie HttpOnly=%v SameSite=%v MaxAge=%d Path=%q; want true, Lax, 30 days, /", device.HttpOnly, device.SameSite, device.MaxAge, device.Path)
	}

	var list devicesResponse
	wantJSON(t, "GET /me/devices", c.send("GET", "/api/v1/me/devices", ""), 200, &list)
	if len(list.Devices) != 1 || !list.Devices[0].Current || list.Devices[0].ID == 0 || list.Devices[0].Browser == "" || list.Devices[0].IP == "" {
		t.Fatalf("devices = %+v; want this one, current, with its browser and IP", list.Devices)
	}
	var others devicesResponse
	wantJSON(t, "GET /me/devices from another session", owner.send("GET", "/api/v1/me/devices", ""), 200, &others)
	if len(others.Devices) != 1 || others.Devices[0].Current {
		t.Errorf("devices seen from the first session = %+v; want the device, not current", others.Devices)
	}

	// Signed out and back in: the password alone completes, and the token changes.
	wantStatus(t, "sign out", c.send("DELETE", "/api/v1/session", ""), 204)
	before := c.deviceCookie()
	signIn(t, c, anaEmail, anaPassword, account.StageComplete)
	if after := c.deviceCookie(); after == "" || after == before {
		t.Errorf("device cookie after its use = %q; want a new token", after)
	}
	wantJSON(t, "GET /me after the remembered sign-in", c.send("GET", "/api/v1/me", ""), 200, nil)
	// Another client is still asked for the code.
	signIn(t, newClient(t, srv), anaEmail, anaPassword, account.StageSecondFactor)

	id := list.Devices[0].ID
	wantProblem(t, "DELETE another id", c.send("DELETE", fmt.Sprintf("/api/v1/me/devices/%d", id+100), ""), 404, "not_found")
	wantProblem(t, "DELETE a bad id", c.send("DELETE", "/api/v1/me/devices/abc", ""), 404, "not_found")
	wantStatus(t, "DELETE the device", c.send("DELETE", fmt.Sprintf("/api/v1/me/devices/%d", id), ""), 204)
	wantProblem(t, "DELETE it again", c.send("DELETE", fmt.Sprintf("/api/v1/me/devices/%d", id), ""), 404, "not_found")
	wantStatus(t, "sign out", c.send("DELETE", "/api/v1/session", ""), 204)
	signIn(t, c, anaEmail, anaPassword, account.StageSecondFactor)
	if c.deviceCookie() != "" {
		t.Error("the forgotten device's cookie was kept; want it cleared")
	}

	// Forget all: 204 even with none left, and the list is empty.
	wantJSON(t, "code", c.send("POST", "/api/v1/session/two-factor", jsonBody(t, map[string]any{"code": code(), "remember_device": true})), 200, nil)
	wantStatus(t, "DELETE /me/devices", c.send("DELETE", "/api/v1/me/devices", ""), 204)
	wantStatus(t, "DELETE /me/devices with none", c.send("DELETE", "/api/v1/me/devices", ""), 204)
	wantJSON(t, "GET /me/devices after forgetting all", c.send("GET", "/api/v1/me/devices", ""), 200, &list)
	if len(list.Devices) != 0 {
		t.Errorf("devices after DELETE /me/devices = %+v; want none", list.Devices)
	}
	wantProblem(t, "remember_device not a boolean", c.send("POST", "/api/v1/session/two-factor", `{"code":"123456","remember_device":"yes"}`), 400, "invalid_request")
}

func wantStatus(t *testing.T, what string, res *result, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d; want %d (body %s)", what, res.status, status, strings.TrimSpace(string(res.body)))
	}
}
