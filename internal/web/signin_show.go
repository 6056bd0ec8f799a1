package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// showSignIn shows the password step. A half-signed-in session may start
// over here; a fully signed-in one goes to My info. Sent by an app's
// reverse proxy (?rd=, forward-auth), a fully signed-in session goes back
// to the app (or its enrollment) and a half-signed-in one to the code step;
// the rd is kept for after the sign-in.
func (h *handler) showSignIn(w http.ResponseWriter, r *http.Request) {
	if id := r.URL.Query().Get("oidc"); id != "" {
		h.showSignInForApp(w, r, id)
		return
	}
	if rd := r.URL.Query().Get("rd"); rd != "" {
		h.rememberReturn(w, rd)
		sess, err := h.svc.Session(r.Context(), httpauth.Token(r))
		switch {
		case err == nil && sess.Stage == account.StageComplete:
			h.returnTo(w, r, httpauth.Token(r), rd)
			return
		case err == nil:
			redirect(w, r, "/signin/two-factor")
			return
		}
	} else {
		h.forgetReturn(w, r)
	}
	if _, err := h.svc.Authenticate(r.Context(), httpauth.Token(r)); err == nil {
		redirect(w, r, "/me")
		return
	}
	h.render(w, r, http.StatusOK, pageSignIn, &view{Title: "Sign in"})
}

// showSignInForApp is the password step of an app's sign-in request
// (OpenID Connect, ?oidc=<request id>): the page names the app, and the
// browser returns to continueOIDC afterwards. A signed-in session goes
// straight back there, unless the app asked for a fresh sign-in
// (?again=1, set by continueOIDC): then the form is shown, and signing
// in replaces the session.
func (h *handler) showSignInForApp(w http.ResponseWriter, r *http.Request, id string) {
	_, _, client, err := h.svc.OIDCRequestForSignIn(r.Context(), id)
	if err != nil {
		h.oidcFail(w, r, err)
		return
	}
	app := client.Name
	h.rememberReturn(w, continuePath(id))
	v := &view{Title: "Sign in", App: app}
	sess, err := h.svc.Session(r.Context(), httpauth.Token(r))
	switch {
	case err == nil && r.URL.Query().Get("again") == "1":
		v.Form = map[string]string{"email": sess.Profile.User.Email}
	case err == nil && sess.Stage == account.StageComplete:
		redirect(w, r, continuePath(id))
		return
	case err == nil:
		redirect(w, r, "/signin/two-factor")
		return
	}
	h.render(w, r, http.StatusOK, pageSignIn, v)
}
