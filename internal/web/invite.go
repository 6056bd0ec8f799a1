package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// inviteData is the data of the page that accepts an invitation.
type inviteData struct {
	Setup bool   // the first administrator's setup link: the email is asked
	Email string // the invited email otherwise
	Admin bool
}

// inviteView is the page for invitation inv, carrying the link's token in
// a hidden field (out of the address bar, into the body of the post).
func inviteView(inv *account.Invitation, token string, form map[string]string) *view {
	if form == nil {
		form = map[string]string{}
	}
	form["token"] = token
	title := "Accept your invitation"
	if inv.IsSetupLink() {
		title = "Create the administrator account"
	}
	return &view{Title: title, Form: form, Data: inviteData{Setup: inv.IsSetupLink(), Email: inv.Email, Admin: inv.Role == account.RoleAdmin}}
}

// showInvite is where an invitation (or the setup link) lands. An unknown,
// used, withdrawn or expired one gets the 410 page (errors.go).
func (h *handler) showInvite(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token := r.URL.Query().Get("token")
	inv, err := h.svc.InvitationByToken(r.Context(), token)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageInvite, inviteView(inv, token, nil))
}

// acceptInvite makes the invited account and signs it in.
func (h *handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	in := account.AcceptInput{
		Token: r.PostFormValue("token"), Email: r.PostFormValue("email"), Name: r.PostFormValue("name"),
		Password: r.PostFormValue("password"), PreviousToken: httpauth.Token(r),
	}
	inv, err := h.svc.InvitationByToken(r.Context(), in.Token)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	_, token, err := h.svc.AcceptInvitation(r.Context(), in, httpauth.Client(r))
	if err != nil {
		h.fail(w, r, err, recovery{page: pageInvite, view: inviteView(inv, in.Token, map[string]string{"email": in.Email, "name": in.Name})})
		return
	}
	httpauth.SetToken(w, token, h.cookies)
	h.setFlash(w, flashWelcome)
	redirect(w, r, "/me")
}
