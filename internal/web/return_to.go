package web

import (
	"encoding/base64"
	"net/http"

	"github.com/twofold/twofold/internal/account"
)

// returnCookie keeps the ?rd= a browser brought to the sign-in page (sent
// there by a reverse proxy's forward-auth) through the password step, the
// code step and any enrollment, without a hidden field on each form. It is
// checked when it is used (SafeRedirect), never when it is set.
const returnCookie = "twofold_rd"

// returnCookieLife covers a sign-in with its code step and an enrollment.
const returnCookieLife = 30 * 60

// The flashes of an app that requires 2FA of an account without it.
const (
	flashEnrollApp       = "enroll-app"
	flashEnrollAppNumber = "enroll-app-number"
)

func init() {
	flashes[flashEnrollApp] = flash{Kind: "warning", Title: "This app requires 2 factor authentication.",
		Text: "Enable it to continue: you are sent back to the app afterwards."}
	flashes[flashEnrollAppNumber] = flash{Kind: "warning", Title: "This app requires 2 factor authentication.",
		Text: "Add your mobile phone number and save, then enable 2 factor authentication: you are sent back to the app afterwards."}
}

func (h *handler) rememberReturn(w http.ResponseWriter, rd string) {
	if len(rd) > 2048 {
		return // SafeRedirect would refuse it; a cookie could not hold it
	}
	http.SetCookie(w, &http.Cookie{
		Name: returnCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(rd)), Path: "/", MaxAge: returnCookieLife,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (h *handler) forgetReturn(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(returnCookie); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: returnCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
}

// pendingReturn is the rd the browser brought, or "".
func pendingReturn(r *http.Request) string {
	c, err := r.Cookie(returnCookie)
	if err != nil {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(b)
}

// afterSignIn sends a browser that has just finished signing in (the
// password, the code or enrollment) where it belongs: back to the app
// that sent it (returnTo) when it brought an rd, or to the app's OpenID
// sign-in request it came for, else My info.
func (h *handler) afterSignIn(w http.ResponseWriter, r *http.Request, token string) {
	if id := pendingOIDC(r); id != "" {
		redirect(w, r, continuePath(id)) // an app's OpenID sign-in request
		return
	}
	if rd := pendingReturn(r); rd != "" {
		h.returnTo(w, r, token, rd)
		return
	}
	redirect(w, r, "/me")
}

// returnTo sends the session of token to rd, when SafeRedirect allows it
// and the app would let it in now; a session that still needs its code
// step or enrollment for that app is sent there first (the rd is kept for
// afterwards). A refused rd goes to My info (SafeRedirect logs it).
func (h *handler) returnTo(w http.ResponseWriter, r *http.Request, token, rd string) {
	target, ok := h.svc.SafeRedirect(r.Context(), rd)
	if !ok {
		h.forgetReturn(w, r)
		redirect(w, r, "/me")
		return
	}
	orig, _, err := account.ParseOriginalURL(target)
	if err != nil {
		h.forgetReturn(w, r)
		redirect(w, r, "/me")
		return
	}
	d, err := h.svc.Authorize(r.Context(), token, orig.Host, orig.Path)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	switch d.Outcome {
	case account.AuthzSignIn:
		h.rememberReturn(w, rd)
		redirect(w, r, "/signin")
		return
	case account.AuthzSecondFactor:
		h.rememberReturn(w, rd)
		redirect(w, r, "/signin/two-factor")
		return
	case account.AuthzEnroll:
		h.rememberReturn(w, rd)
		sess, err := h.svc.Authenticate(r.Context(), token)
		if err != nil {
			h.fail(w, r, err, recovery{})
			return
		}
		if h.svc.EnrollmentDue(sess) {
			h.toEnrollment(w, r, sess.Profile)
			return
		}
		if sess.Profile.User.MobilePhone == "" {
			h.setFlash(w, flashEnrollAppNumber)
			redirect(w, r, "/me#mobile_phone")
			return
		}
		h.setFlash(w, flashEnrollApp)
		redirect(w, r, "/me/two-factor/enable")
		return
	}
	// Let in, or not let in: either way the app's proxy says so now.
	h.forgetReturn(w, r)
	http.Redirect(w, r, target, http.StatusSeeOther)
}
