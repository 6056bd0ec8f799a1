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
	// TwoFactorStatus is enabled, grace, overdue or not_required.
	TwoFactorStatus string `json:"two_factor_status"`
	// TwoFactorDeadline is set while the status is grace or overdue.
	TwoFactorDeadline *time.Time `json:"two_factor_deadline,omitempty"`
}

func newAdminUserResponse(sum *account.UserSummary) adminUserResponse {
	u := sum.User
	r := adminUserResponse{
		ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Active: u.DeactivatedAt.IsZero(),
		MobilePhoneSet: u.MobilePhone != "", TwoFactorEnabled: u.TwoFactorEnabled(), BackupCodesRemaining: sum.BackupCodesRemaining,
		TwoFactorStatus: string(sum.TwoFactorStatus),
	}
	if r.TwoFactorStatus == "" {
		r.TwoFactorStatus = string(account.TwoFactorNotRequired)
		if u.TwoFactorEnabled() {
			r.TwoFactorStatus = string(account.TwoFactorOn)
		}
	}
	if !sum.LastSignInAt.IsZero() {
		last := sum.LastSignInAt
		r.LastSignInAt = &last
	}
	if !sum.Deadline.IsZero() {
		d := sum.Deadline
		r.TwoFactorDeadline = &d
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
		out.Users = append(out.Users, newAdminUserResponse(s))
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
				return h.writeJSON(w, r, http.StatusOK, newAdminUserResponse(s))
			}
		}
	}
	return h.writeJSON(w, r, http.StatusOK, newAdminUserResponse(&account.UserSummary{User: u}))
}

type settingsJSON struct {
	RequireTwoFactor   bool `json:"require_two_factor"`
	GracePeriodDays    int  `json:"grace_period_days"`
	RecoveryDelayHours int  `json:"recovery_delay_hours"` // 0: self-recovery is off
}

func newSettingsJSON(st account.Settings) settingsJSON {
	return settingsJSON{RequireTwoFactor: st.RequireTwoFactor, GracePeriodDays: st.GracePeriodDays, RecoveryDelayHours: st.RecoveryDelayHours}
}

type settingsPatch struct {
	RequireTwoFactor   *bool `json:"require_two_factor"`
	GracePeriodDays    *int  `json:"grace_period_days"`
	RecoveryDelayHours *int  `json:"recovery_delay_hours"`
}

func (h *handler) settings(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	st, err := h.svc.Settings(r.Context(), sess)
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, newSettingsJSON(st))
}

func (h *handler) updateSettings(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in settingsPatch
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	st, err := h.svc.UpdateSettings(r.Context(), sess, account.SettingsUpdate{
		RequireTwoFactor: in.RequireTwoFactor, GracePeriodDays: in.GracePeriodDays, RecoveryDelayHours: in.RecoveryDelayHours,
	}, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, newSettingsJSON(st))
}

type auditEntryResponse struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail"`
	IP     string    `json:"ip"`
}

type auditResponse struct {
	Entries []auditEntryResponse `json:"entries"`
}

// auditLog lists the newest 100 administrative actions.
func (h *handler) auditLog(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	entries, err := h.svc.AuditLog(r.Context(), sess, 100)
	if err != nil {
		return err
	}
	out := auditResponse{Entries: []auditEntryResponse{}}
	for _, e := range entries {
		out.Entries = append(out.Entries, auditEntryResponse{ID: e.ID, At: e.CreatedAt, Actor: e.Actor, Action: string(e.Action), Target: e.Target, Detail: e.Detail, IP: e.IP})
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

type resetRequest struct {
	Reason string `json:"reason"`
}

// resetUserTwoFactor turns an account's 2FA off, with a reason.
func (h *handler) resetUserTwoFactor(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errRouteNotFound
	}
	var in resetRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	u, err := h.svc.ResetTwoFactorFor(r.Context(), sess, id, in.Reason, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, newAdminUserResponse(&account.UserSummary{User: u}))
}
