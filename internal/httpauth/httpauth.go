// Package httpauth is the HTTP side of a twofold session, shared by the web
// pages and the JSON API so both read the same cookie: how the session token
// travels (an HttpOnly cookie) and who the client is.
package httpauth

import (
	"net"
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// CookieName is the session cookie of the pages and the API alike.
const CookieName = "twofold_session"

// Token returns the session token the request carries, or "".
func Token(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// SetToken sends the session cookie: HttpOnly, SameSite=Lax, Secure when the
// service is reached over https. The cookie itself lives for the browser
// session; the server enforces the idle and absolute timeouts.
func SetToken(w http.ResponseWriter, token string, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/",
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// ClearToken tells the browser to forget the session cookie.
func ClearToken(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// DeviceCookieName is the cookie of a remembered device: its own random
// token, never the session's, kept for as long as the device is
// remembered.
const DeviceCookieName = "twofold_device"

// DeviceToken returns the remembered-device token the request carries, or "".
func DeviceToken(r *http.Request) string {
	c, err := r.Cookie(DeviceCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// SetDeviceToken sends the remembered-device cookie, for lifetime: HttpOnly,
// SameSite=Lax, Secure when the service is reached over https.
func SetDeviceToken(w http.ResponseWriter, token string, lifetime time.Duration, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookieName, Value: token, Path: "/", MaxAge: int(lifetime / time.Second),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// ClearDeviceToken tells the browser to forget the remembered-device cookie.
func ClearDeviceToken(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookieName, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// SignedIn sends the cookies of a finished password or code step: the
// session's, and the remembered device's when it was issued or rotated
// (or its removal when it is of no use any more).
func SignedIn(w http.ResponseWriter, token, deviceToken string, dropDevice bool, lifetime time.Duration, secure bool) {
	SetToken(w, token, secure)
	switch {
	case deviceToken != "":
		SetDeviceToken(w, deviceToken, lifetime, secure)
	case dropDevice:
		ClearDeviceToken(w, secure)
	}
}

// Client describes the requester for throttling and the activity log. The
// IP is the connection's peer; behind a reverse proxy, the server replaces
// RemoteAddr from a trusted header before this runs.
func Client(r *http.Request) account.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return account.Client{IP: ip, UserAgent: r.UserAgent()}
}
