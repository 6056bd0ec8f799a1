package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/oidc"
)

// The flash of an app that asks for a sign-in more recent, or stronger,
// than the browser's.
const flashSignInAgain = "oidc-sign-in-again"

func init() {
	flashes[flashSignInAgain] = flash{Kind: "info", Title: "Sign in again to continue.",
		Text: "The app you came from asks for a recent sign-in with your password and, if you use it, your 2 factor authentication code."}
}

// continueOIDC is where the OpenID provider sends a browser for an app's
// sign-in request (?id=). It sends the browser through what the session
// still lacks (the password, the code, enrollment, a fresh sign-in),
// coming back here after each step (the return cookie), and once the
// session is enough, records it on the request and sends the browser to
// the provider's callback, which hands the app its code.
func (h *handler) continueOIDC(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	req, p, client, err := h.svc.OIDCRequestForSignIn(r.Context(), id)
	if err != nil {
		h.oidcFail(w, r, err)
		return
	}
	here := continuePath(id)
	callback := oidc.CallbackPath + "?id=" + url.QueryEscape(id)
	token := httpauth.Token(r)
	sess, err := h.svc.Session(r.Context(), token)
	if err != nil || sess.Stage != account.StageComplete {
		if p.PromptNone() {
			// The app asked for no page: the callback tells it that
			// a sign-in is needed.
			h.forgetReturn(w, r)
			redirect(w, r, callback)
			return
		}
		h.rememberReturn(w, here)
		if err == nil {
			redirect(w, r, "/signin/two-factor")
			return
		}
		redirect(w, r, "/signin?oidc="+url.QueryEscape(id))
		return
	}
	outcome := h.svc.DecideOIDC(sess, req, p, client)
	if outcome != account.OIDCAllow && p.PromptNone() {
		h.forgetReturn(w, r)
		redirect(w, r, callback)
		return
	}
	switch outcome {
	case account.OIDCSignInAgain:
		h.rememberReturn(w, here)
		h.setFlash(w, flashSignInAgain)
		redirect(w, r, "/signin?again=1&oidc="+url.QueryEscape(id))
		return
	case account.OIDCEnroll:
		h.rememberReturn(w, here)
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
	if err := h.svc.SatisfyOIDCAuthRequest(r.Context(), sess, id); err != nil {
		h.oidcFail(w, r, err)
		return
	}
	h.forgetReturn(w, r)
	redirect(w, r, callback)
}

func continuePath(id string) string { return oidc.ContinuePath + "?id=" + url.QueryEscape(id) }

// pendingOIDC is the id of the app's request the browser is signing in
// for (its return cookie points at continueOIDC), or "".
func pendingOIDC(r *http.Request) string {
	rd, ok := strings.CutPrefix(pendingReturn(r), oidc.ContinuePath+"?id=")
	if !ok {
		return ""
	}
	id, err := url.QueryUnescape(rd)
	if err != nil {
		return ""
	}
	return id
}

func (h *handler) oidcFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, account.ErrOIDCRequestNotFound) || errors.Is(err, account.ErrOIDCClientNotFound) {
		h.forgetReturn(w, r)
		h.render(w, r, http.StatusGone, pageMessage, &view{Title: "This sign-in request has expired", Data: message{
			Heading: "This sign-in request has expired",
			Text: "An app's sign-in request works for " + account.DescribeDuration(account.OIDCRequestTTL) +
				" and once. Go back to the app and sign in from there again.",
			Links: []link{{Href: "/me", Label: "My info"}},
		}})
		return
	}
	h.fail(w, r, err, recovery{})
}
