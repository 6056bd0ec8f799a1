package web

import (
	"errors"
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// msgWrongDisavowPassword is shown next to the password of the "This
// wasn't me" page.
const msgWrongDisavowPassword = "That isn't the password of the account this email was sent to."

// disavowData is the data of the "This wasn't me" page.
type disavowData struct {
	*account.DisavowalNotice
	PasswordChanged bool
}

// disavowView asks for the password behind the link of n, carrying the
// token in a hidden field so that it moves from the address bar to the
// body of the post. The token is opaque here: passed on, never logged.
func disavowView(n *account.DisavowalNotice, token string) *view {
	return &view{Title: "This wasn't me", Form: map[string]string{"token": token},
		Data: disavowData{DisavowalNotice: n, PasswordChanged: n.Kind == account.EventPasswordChanged}}
}

// showDisavow is where the "This wasn't me" link of a security email
// lands: it says which email it came in and asks for the password. It
// changes nothing; an unknown, used or expired link gets the 410 page.
func (h *handler) showDisavow(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token := r.URL.Query().Get("token")
	n, err := h.svc.Disavowal(r.Context(), token)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageDisavow, disavowView(n, token))
}

// disavow signs the link's account out everywhere, with its password, and
// says what was done. Nobody is signed in.
func (h *handler) disavow(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token := r.PostFormValue("token")
	n, err := h.svc.Disavowal(r.Context(), token)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	res, err := h.svc.Disavow(r.Context(), token, r.PostFormValue("password"), httpauth.Client(r))
	if err != nil {
		// Nobody is signed in: a wrong password is like a wrong sign-in (401).
		h.fail(w, r, err, recovery{page: pageDisavow, view: disavowView(n, token),
			wrongPassword: &fieldProblem{http.StatusUnauthorized, "password", msgWrongDisavowPassword}})
		return
	}
	// This browser's session, if it was the account's, is gone with the
	// rest: its cookie goes too. Another account's session stays.
	if t := httpauth.Token(r); t != "" {
		if _, err := h.svc.Session(r.Context(), t); errors.Is(err, account.ErrUnauthenticated) || errors.Is(err, account.ErrPendingExpired) {
			httpauth.ClearToken(w, h.cookies)
		}
	}
	text := "Every session of your account was signed out, on every browser and app"
	switch res.DevicesForgotten {
	case 0:
		text += ", and it has no remembered devices"
	case 1:
		text += ", and its remembered device was forgotten"
	default:
		text += ", and its " + plural(res.DevicesForgotten, "remembered device", "remembered devices") + " were forgotten"
	}
	if res.RecoveryCancelled {
		text += ". The recovery of your account that was waiting was cancelled"
	}
	text += ". We emailed you that this was done, and your administrator can see it. Now sign in and change your password: whoever did what the email describes may know it. Can't sign in? Contact your administrator."
	h.render(w, r, http.StatusOK, pageMessage, &view{Title: "Signed out everywhere", Data: message{
		Heading: "You are signed out everywhere",
		Text:    text,
		Links:   []link{{Href: "/signin", Label: "Sign in"}},
	}})
}
