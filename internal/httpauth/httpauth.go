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

// Cookies say how the session cookie is sent: Secure when the service is
// reached over https, and for Domain and its subdomains when set
// (--cookie-domain), so apps on sibling hosts behind forward-auth share
// the session; host-only otherwise.
type Cookies struct {
	Secure bool
	Domain string
}

// SetToken sends the session cookie: HttpOnly, SameSite=Lax, Secure when the
// service is reached over https. The cookie itself lives for the browser
// session; the server enforces the idle and absolute timeouts.
func SetToken(w http.ResponseWriter, token string, c Cookies) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Domain: c.Domain,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// ClearToken tells the browser to forget the session cookie: the
// host-only one, and the domain one when a cookie domain is set (a browser
// may hold both, from before and after the setting).
func ClearToken(w http.ResponseWriter, c Cookies) {
	domains := []string{""}
	if c.Domain != "" {
		domains = append(domains, c.Domain)
	}
	for _, d := range domains {
		http.SetCookie(w, &http.Cookie{
			Name: CookieName, Value: "", Path: "/", Domain: d, MaxAge: -1, Expires: time.Unix(0, 0),
			HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
		})
	}
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
// The device cookie is host-only whatever c.Domain says: only twofold
// reads it.
func SignedIn(w http.ResponseWriter, token, deviceToken string, dropDevice bool, lifetime time.Duration, c Cookies) {
	SetToken(w, token, c)
	switch {
	case deviceToken != "":
		SetDeviceToken(w, deviceToken, lifetime, c.Secure)
	case dropDevice:
		ClearDeviceToken(w, c.Secure)
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
