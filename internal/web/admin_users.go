package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

const usersPath = "/admin/users"

// usersData is the data of the administrators' Users page.
type usersData struct {
	Users       []*account.UserSummary
	Invitations []*account.Invitation
	Self        int64 // the administrator looking at the page
	// NewLink is the link of the invitation just made, shown once for
	// servers without mail.
	NewLink  string
	NewEmail string
	Low      int // backup codes at or below which the page warns
	Settings account.Settings
	// Filter is the 2FA status the list is narrowed to ("" for all).
	Filter string
	Audit  []*account.AuditEntry
	// Help are the open "Lost your phone?" requests, oldest first;
	// AskedHelp marks the accounts that have one.
	Help      []*account.HelpRequest
	AskedHelp map[int64]bool
}

// showUsers lists every account and the pending invitations, with the
// actions an administrator takes on them.
func (h *handler) showUsers(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v, err := h.usersView(r, sess, p, nil)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageUsers, v)
}

func (h *handler) usersView(r *http.Request, sess *account.Session, p *account.Profile, form map[string]string) (*view, error) {
	all, err := h.svc.AdminUsers(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	settings, err := h.svc.Settings(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	audit, err := h.svc.AuditLog(r.Context(), sess, 20)
	if err != nil {
		return nil, err
	}
	filter := r.URL.Query().Get("status")
	users := all
	switch account.TwoFactorStatus(filter) {
	case account.TwoFactorOn, account.TwoFactorInGrace, account.TwoFactorOverdue:
		users = nil
		for _, u := range all {
			if string(u.TwoFactorStatus) == filter {
				users = append(users, u)
			}
		}
	default:
		filter = ""
	}
	invitations, err := h.svc.Invitations(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	help, err := h.svc.HelpRequests(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	asked := map[int64]bool{}
	for _, q := range help {
		asked[q.UserID] = true
	}
	now := h.svc.Now()
	var pending []*account.Invitation
	for _, inv := range invitations {
		if !inv.IsSetupLink() && inv.Usable(now) {
			pending = append(pending, inv)
		}
	}
	if form == nil {
		form = map[string]string{}
	}
	if _, ok := form["grace_period_days"]; !ok {
		form["grace_period_days"] = strconv.Itoa(settings.GracePeriodDays)
	}
	if _, ok := form["recovery_delay_hours"]; !ok {
		form["recovery_delay_hours"] = strconv.Itoa(settings.RecoveryDelayHours)
	}
	return &view{Title: "Users", User: p.User, Form: form, Wide: true, Data: &usersData{
		Users: users, Invitations: pending, Self: p.User.ID, Low: lowBackupCodes, Settings: settings, Filter: filter, Audit: audit,
		Help: help, AskedHelp: asked,
	}}, nil
}

// lowBackupCodes is where My info and the Users page start warning.
const lowBackupCodes = 2

// invite makes an invitation from the Users page and shows its link.
func (h *handler) inviteFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	in := account.InviteInput{Email: r.PostFormValue("email"), Role: account.Role(r.PostFormValue("role"))}
	inv, link, err := h.svc.Invite(r.Context(), sess, in, httpauth.Client(r))
	if err != nil {
		h.usersFailed(w, r, sess, p, map[string]string{"email": in.Email, "role": string(in.Role)}, err)
		return
	}
	v, err := h.usersView(r, sess, p, nil)
	if err != nil {
		h.fail(w, r, err, recovery{back: usersPath})
		return
	}
	d := v.Data.(*usersData)
	d.NewLink, d.NewEmail = link, inv.Email
	v.Flash = &flash{Kind: "success", Title: "Invitation sent to " + inv.Email}
	if !h.sendsEmail {
		v.Flash.Text = "This server sends no email: copy the link below and pass it on yourself."
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, pageUsers, v)
}

// revokeFromPage withdraws a pending invitation.
func (h *handler) revokeFromPage(w http.ResponseWriter, r *http.Request) {
	sess, _, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	err := h.svc.RevokeInvitation(r.Context(), sess, id, httpauth.Client(r))
	switch {
	case errors.Is(err, account.ErrInvitationNotFound):
		h.setFlash(w, flashNotPending)
	case err != nil:
		h.fail(w, r, err, recovery{back: usersPath})
		return
	default:
		h.setFlash(w, flashRevoked)
	}
	redirect(w, r, usersPath)
}

// updateFromPage promotes, demotes, deactivates or reactivates an account.
func (h *handler) updateFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	var update account.UserUpdate
	done := flashUserUpdated
	switch r.PostFormValue("action") {
	case "promote":
		role := account.RoleAdmin
		update.Role = &role
	case "demote":
		role := account.RoleMember
		update.Role = &role
	case "deactivate":
		no := false
		update.Active, done = &no, flashUserDeactivated
	case "reactivate":
		yes := true
		update.Active = &yes
	default:
		redirect(w, r, usersPath)
		return
	}
	u, err := h.svc.UpdateUser(r.Context(), sess, id, update, httpauth.Client(r))
	if err != nil {
		h.usersFailed(w, r, sess, p, nil, err)
		return
	}
	h.setFlash(w, done)
	if u.ID == p.User.ID && update.Role != nil && *update.Role != account.RoleAdmin {
		redirect(w, r, "/me") // no longer an administrator: the page is not theirs
		return
	}
	redirect(w, r, usersPath)
}

// saveSettings switches "Require 2FA for all users" and sets its grace
// period, from the Users page.
func (h *handler) saveSettings(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	require := r.PostFormValue("require_two_factor") == "on"
	update := account.SettingsUpdate{RequireTwoFactor: &require}
	grace := r.PostFormValue("grace_period_days")
	days, err := strconv.Atoi(grace)
	if err != nil {
		days = -1 // refused below with the service's message
	}
	update.GracePeriodDays = &days
	form := map[string]string{"grace_period_days": grace}
	if r.PostForm.Has("recovery_delay_hours") {
		raw := r.PostFormValue("recovery_delay_hours")
		hours, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			hours = -1 // refused with the service's message
		}
		update.RecoveryDelayHours = &hours
		form["recovery_delay_hours"] = raw
	}
	if _, err := h.svc.UpdateSettings(r.Context(), sess, update, httpauth.Client(r)); err != nil {
		h.usersFailed(w, r, sess, p, form, err)
		return
	}
	h.setFlash(w, flashSettingsSaved)
	redirect(w, r, usersPath)
}

// resetFromPage turns an account's 2FA off, with the reason typed next to
// the button.
func (h *handler) resetFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	reason := r.PostFormValue("reason")
	if _, err := h.svc.ResetTwoFactorFor(r.Context(), sess, id, reason, httpauth.Client(r)); err != nil {
		h.resetFailed(w, r, sess, p, id, map[string]string{"reason": reason}, err)
		return
	}
	h.setFlash(w, flashUserReset)
	redirect(w, r, usersPath)
}

// resendFromPage replaces a pending invitation with a new link, mailed
// again and shown.
func (h *handler) resendFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	inv, link, err := h.svc.ResendInvitation(r.Context(), sess, id, httpauth.Client(r))
	if errors.Is(err, account.ErrInvitationNotFound) {
		h.setFlash(w, flashNotPending)
		redirect(w, r, usersPath)
		return
	}
	if err != nil {
		h.fail(w, r, err, recovery{back: usersPath})
		return
	}
	v, err := h.usersView(r, sess, p, nil)
	if err != nil {
		h.fail(w, r, err, recovery{back: usersPath})
		return
	}
	d := v.Data.(*usersData)
	d.NewLink, d.NewEmail = link, inv.Email
	v.Flash = &flash{Kind: "success", Title: "Invitation sent again to " + inv.Email, Text: "The earlier link no longer works."}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, pageUsers, v)
}

// pathID is the {id} of the path: a positive whole number, or not ok.
// signedInOn is signedIn for a page about the account whose id is in the
// path: a path id that cannot be one is the 404 page.
func (h *handler) signedInOn(w http.ResponseWriter, r *http.Request) (*account.Session, *account.Profile, int64, bool) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return nil, nil, 0, false
	}
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return nil, nil, 0, false
	}
	return sess, p, id, true
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// usersFailed shows the Users page again with what went wrong with an
// administrator's action: a message over the page for the problems of an
// action on one row (there is one reason field per row), the field's
// message for the forms at the top, and the common mapping (errors.go) for
// the rest.
func (h *handler) usersFailed(w http.ResponseWriter, r *http.Request, sess *account.Session, p *account.Profile, form map[string]string, err error) {
	v, verr := h.usersView(r, sess, p, form)
	if verr != nil {
		h.fail(w, r, verr, recovery{back: usersPath})
		return
	}
	var invalid *account.ValidationError
	switch {
	case errors.As(err, &invalid) && invalid.Fields["reason"] != "":
		v.Message = invalid.Fields["reason"]
		h.render(w, r, http.StatusUnprocessableEntity, pageUsers, v)
	case errors.Is(err, account.ErrLastAdministrator):
		v.Message = "This is the last active administrator. Make someone else an administrator first."
		h.render(w, r, http.StatusConflict, pageUsers, v)
	case errors.Is(err, account.ErrNotFound):
		v.Message = "There is no such account."
		h.render(w, r, http.StatusNotFound, pageUsers, v)
	case errors.Is(err, account.ErrTwoFactorNotEnabled):
		v.Message = "2 factor authentication is off for that account already."
		h.render(w, r, http.StatusConflict, pageUsers, v)
	default:
		h.fail(w, r, err, recovery{page: pageUsers, view: v, back: usersPath})
	}
}
