package api

import (
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type meResponse struct {
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	MobilePhone string            `json:"mobile_phone"` // E.164, or "" when not set
	Role        string            `json:"role"`         // member or admin
	TwoFactor   twoFactorResponse `json:"two_factor"`
}

type twoFactorResponse struct {
	Enabled              bool `json:"enabled"`
	BackupCodesRemaining int  `json:"backup_codes_remaining"`
}

func newMeResponse(p *account.Profile) meResponse {
	return meResponse{
		Email:       p.User.Email,
		Name:        p.User.Name,
		MobilePhone: p.User.MobilePhone,
		Role:        string(p.User.Role),
		TwoFactor: twoFactorResponse{
			Enabled:              p.User.TwoFactorEnabled(),
			BackupCodesRemaining: p.BackupCodesRemaining,
		},
	}
}

func (h *handler) me(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	// The profile was read with the session: one read per request.
	return h.writeJSON(w, r, http.StatusOK, newMeResponse(sess.Profile))
}

// updateMeRequest: a member left out (or null) is left unchanged;
// "mobile_phone": "" removes the number (only while 2FA is off).
type updateMeRequest struct {
	Name        *string `json:"name"`
	MobilePhone *string `json:"mobile_phone"`
}

func (h *handler) updateMe(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in updateMeRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	update := account.ProfileUpdate{Name: in.Name, MobilePhone: in.MobilePhone}
	if _, err := h.svc.UpdateProfile(r.Context(), sess, update, httpauth.Client(r)); err != nil {
		return err
	}
	return h.me(w, r, sess)
}

type eventsResponse struct {
	Events []eventResponse `json:"events"`
}

type eventResponse struct {
	Kind        account.EventKind `json:"kind"`
	Description string            `json:"description"`
	IP          string            `json:"ip"`
	UserAgent   string            `json:"user_agent"`
	Detail      string            `json:"detail"`
	CreatedAt   string            `json:"created_at"` // RFC 3339, UTC
}

// events lists the recent security activity, newest first.
func (h *handler) events(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	events, err := h.svc.Events(r.Context(), sess.UserID)
	if err != nil {
		return err
	}
	out := eventsResponse{Events: make([]eventResponse, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, eventResponse{
			Kind:        e.Kind,
			Description: e.Kind.Describe(),
			IP:          e.IP,
			UserAgent:   e.UserAgent,
			Detail:      e.Detail,
			CreatedAt:   e.CreatedAt.UTC().Format(time.RFC3339),
		})
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}
