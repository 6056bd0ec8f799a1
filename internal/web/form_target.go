package web

import (
	"net/http"
	"net/url"
	"strings"
)

// pendingApp is what a page shows and allows about the return the
// browser is signing in for, looked up once per page.
type pendingApp struct {
	name   string // the OpenID app's name, "" for forward-auth or none
	origin string // scheme://host[:port] the sign-in returns to, or ""
}

// pendingAppOf looks up the browser's pending return: an OpenID app's
// request (its name and registered redirect URI) or an rd SafeRedirect
// allows.
func (h *handler) pendingAppOf(r *http.Request) pendingApp {
	var target string
	var app pendingApp
	if id := pendingOIDC(r); id != "" {
		_, p, client, err := h.svc.OIDCRequestForSignIn(r.Context(), id)
		if err != nil {
			return pendingApp{}
		}
		app.name, target = client.Name, p.RedirectURI
	} else if rd := pendingReturn(r); rd != "" {
		t, ok := h.svc.SafeRedirect(r.Context(), rd)
		if !ok {
			return pendingApp{}
		}
		target = t
	}
	app.origin = originOf(target)
	return app
}

// originOf is target's origin as a source expression of the policy:
// nothing but a host name or address and a port, so no wildcard or
// separator gets in; "" otherwise.
func originOf(target string) string {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	for _, c := range u.Host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}

// allowFormTarget lets the page's forms lead to the app the browser is
// signing in for. A browser checks the policy's form-action against every
// redirect that follows a form's submission, not only against the form's
// own action: after the last sign-in step (the password, the code,
// enrollment) the answer redirects to the app (forward-auth's rd, or an
// OpenID app's redirect URI), which 'self' alone would block. The one
// origin added is the pending return's, and only once it is allowed.
func allowFormTarget(w http.ResponseWriter, origin string) {
	csp := w.Header().Get("Content-Security-Policy")
	if origin == "" || !strings.Contains(csp, "form-action 'self'") {
		return
	}
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+origin, 1))
}
