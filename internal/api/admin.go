package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type adminUserResponse struct {
	ID                   int64      `json:"id"`
	Email                string     `json:"email"`
	Name                 string     `json:"name"`
	Role                 string     `json:"role"`
	Active               bool       `json:"active"`
	MobilePhoneSet       bool       `json:"mobile_phone_set"`
	TwoFactorEnabled     bool       `json:"two_factor_enabled"`
	BackupCodesRemaining int        `json:"backup_codes_remaining"`
	LastSignInAt         *time.Time `json:"last_sign_in_at"` // null when never
	// TwoFactorStatus is enabled or not_required until "Require 2FA for
	// all users" exists; then also grace and overdue.
	TwoFactorStatus string `json:"two_factor_status"`
}

func newAdminUserResponse(u *account.User, codes int, last time.Time) adminUserResponse {
	r := adminUserResponse{
		ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Active: u.DeactivatedAt.IsZero(),
		MobilePhoneSet: u.MobilePhone != "", TwoFactorEnabled: u.TwoFactorEnabled(), BackupCodesRemaining: codes,
		TwoFactorStatus: "not_required",
	}
	if u.TwoFactorEnabled() {
		r.TwoFactorStatus = "enabled"
	}
	if !last.IsZero() {
		r.LastSignInAt = &last
	}
	return r
}

type adminUsersResponse struct {
	Users []adminUserResponse `json:"users"`
}

func (h *handler) adminUsers(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	list, err := h.svc.AdminUsers(r.Context(), sess)
	if err != nil {
		return err
	}
	out := adminUsersResponse{Users: []adminUserResponse{}}
	for _, s := range list {
		out.Users = append(out.Users, newAdminUserResponse(s.User, s.BackupCodesRemaining, s.LastSignInAt))
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

// updateUserRequest: a member left out (or null) is left unchanged.
type updateUserRequest struct {
	Role   *string `json:"role"`
	Active *bool   `json:"active"`
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errRouteNotFound
	}
	var in updateUserRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	var update account.UserUpdate
	if in.Role != nil {
		role := account.Role(*in.Role)
		update.Role = &role
	}
	update.Active = in.Active
	u, err := h.svc.UpdateUser(r.Context(), sess, id, update, httpauth.Client(r))
	if err != nil {
		return err
	}
	// Answered as the Users page lists it (with its counts); an
	// administrator who deactivated or demoted themselves can no longer
	// list, and gets the row as written.
	list, err := h.svc.AdminUsers(r.Context(), sess)
	if err == nil {
		for _, s := range list {
			if s.User.ID == u.ID {
				return h.writeJSON(w, r, http.StatusOK, newAdminUserResponse(s.User, s.BackupCodesRemaining, s.LastSignInAt))
			}
		}
	}
	return h.writeJSON(w, r, http.StatusOK, newAdminUserResponse(u, 0, time.Time{}))
}
