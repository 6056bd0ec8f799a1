package web

import (
	"net/http"
	"net/url"
	"strings"
)

// allowFormTarget lets the page's forms lead to the app the browser is
// signing in for. A browser checks the policy's form-action against every
// redirect that follows a form's submission, not only against the form's
// own action: after the last sign-in step (the password, the code,
// enrollment) the answer redirects to the app (forward-auth's rd, or an
// OpenID app's redirect URI), which 'self' alone would block. The one
// origin added is the pending return's, and only once it is allowed
// (SafeRedirect, or the OpenID app's registered redirect URI).
func (h *handler) allowFormTarget(w http.ResponseWriter, r *http.Request) {
	csp := w.Header().Get("Content-Security-Policy")
	if csp == "" || !strings.Contains(csp, "form-action 'self'") {
		return
	}
	origin := h.returnOrigin(r)
	if origin == "" {
		return
	}
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+origin, 1))
}

// returnOrigin is the origin (scheme://host[:port]) the browser returns to
// after signing in, or "".
func (h *handler) returnOrigin(r *http.Request) string {
	var target string
	if id := pendingOIDC(r); id != "" {
		_, p, _, err := h.svc.OIDCRequestForSignIn(r.Context(), id)
		if err != nil {
			return ""
		}
		target = p.RedirectURI
	} else if rd := pendingReturn(r); rd != "" {
		t, ok := h.svc.SafeRedirect(r.Context(), rd)
		if !ok {
			return ""
		}
		target = t
	} else {
		return ""
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	// A source expression of the policy: nothing but a host name or
	// address and a port, so no wildcard or separator gets in.
	for _, c := range u.Host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}
