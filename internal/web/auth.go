package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// signedIn returns the session and profile of a fully signed-in user. Anyone
// else is sent where they belong (a half-signed-in session to the code step,
// no session to sign-in) and ok is false.
func (h *handler) signedIn(w http.ResponseWriter, r *http.Request) (sess *account.Session, p *account.Profile, ok bool) {
	sess, err := h.svc.Authenticate(r.Context(), httpauth.Token(r))
	if err != nil {
		h.fail(w, r, err, recovery{})
		return nil, nil, false
	}
	// The profile was read with the session: one read per page.
	return sess, sess.Profile, true
}

// safeNext returns next if it is a path on this site, else "/me": only a
// single leading slash, no backslash (browsers read "/\" as "//"), no
// scheme, host or control characters. This keeps /confirm-password from
// being an open redirect.
func safeNext(next string) string {
	const fallback = "/me"
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") {
		return fallback
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return next
}
