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
