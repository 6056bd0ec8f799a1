package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

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
	// While 2FA is required and its grace period runs, every page shows
	// the deadline (render reads this header, which the API sends too).
	if deadline := h.svc.TwoFactorDeadline(sess); !deadline.IsZero() {
		w.Header().Set(deadlineHeader, deadline.UTC().Format(time.RFC3339))
	}
	// Past it, only enrolling is allowed: every other page leads there.
	if h.svc.EnrollmentDue(sess) && !enrollmentPages[r.URL.Path] {
		h.toEnrollment(w, r, sess.Profile)
		return nil, nil, false
	}
	// The profile was read with the session: one read per page.
	return sess, sess.Profile, true
}

// deadlineHeader carries the 2FA deadline of an account in its grace period.
const deadlineHeader = "Twofold-Two-Factor-Deadline"

// enrollmentPages are the pages an account that must enable 2FA may use:
// My info (for the mobile number), enabling, backup codes and the password
// confirmation they need.
var enrollmentPages = map[string]bool{
	"/me": true, "/me/two-factor/enable": true, "/me/backup-codes": true, "/confirm-password": true,
}

// toEnrollment sends an account that must enable 2FA to the next step: its
// mobile number when it has none, else the page that enables 2FA.
func (h *handler) toEnrollment(w http.ResponseWriter, r *http.Request, p *account.Profile) {
	if p.User.MobilePhone == "" {
		h.setFlash(w, flashEnrollNumber)
		redirect(w, r, "/me#mobile_phone")
		return
	}
	h.setFlash(w, flashEnroll)
	redirect(w, r, "/me/two-factor/enable")
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
