package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// signUp creates the account and signs it in.
func (h *handler) signUp(w http.ResponseWriter, r *http.Request) {
	in := account.SignUpInput{
		Name:        r.PostFormValue("name"),
		Email:       r.PostFormValue("email"),
		Password:    r.PostFormValue("password"),
		MobilePhone: r.PostFormValue("mobile_phone"),
	}
	v := &view{Title: "Sign up", Form: map[string]string{
		"name": in.Name, "email": in.Email, "mobile_phone": in.MobilePhone,
	}}
	_, token, err := h.svc.SignUp(r.Context(), in, httpauth.Client(r))
	if err != nil {
		h.fail(w, r, err, recovery{page: pageSignUp, view: v})
		return
	}
	// A session this browser held before (another account) ends here.
	if old := httpauth.Token(r); old != "" {
		if err := h.svc.SignOut(r.Context(), old, httpauth.Client(r)); err != nil {
			h.log.WarnContext(r.Context(), "web: end previous session at sign-up", "err", err)
		}
	}
	httpauth.SetToken(w, token, h.secure)
	h.setFlash(w, flashWelcome)
	redirect(w, r, "/me")
}
