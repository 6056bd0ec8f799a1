package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// signUpSentData is the data of the page shown once a sign-up is started.
type signUpSentData struct {
	Email  string
	Within string // how long the link works, in words
	// Mailed is false when the server sends no email: the message waits
	// in the outbox, and the page sends the person to the operator.
	Mailed bool
}

// titleAskOperator heads the page after a sign-up on a server that sends
// no email.
const titleAskOperator = "Ask for your sign-up link"

// signUp starts a sign-up: the service mails a link that finishes it
// (signup_confirm_*.go). The answer is the same page whether or not the
// email already has an account, so the page does not tell which emails do;
// nobody is signed in and no cookie is set here.
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
	if err := h.svc.StartSignUp(r.Context(), in, httpauth.Client(r)); err != nil {
		h.fail(w, r, err, recovery{page: pageSignUp, view: v})
		return
	}
	// The address as the service wrote to it (trimmed, lower case), so a
	// typo is easy to spot. It passed validation, so it normalizes.
	email, _ := account.NormalizeEmail(in.Email)
	title := "Check your inbox"
	if !h.sendsEmail {
		title = titleAskOperator
	}
	h.render(w, r, http.StatusOK, pageSignUpSent, &view{Title: title, Data: signUpSentData{
		Email: email, Within: h.linkLifetime, Mailed: h.sendsEmail,
	}})
}
