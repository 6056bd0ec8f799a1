package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type acceptInvitationRequest struct {
	Token    string `json:"token"`
	Email    string `json:"email"` // only for the first administrator's setup link
	Name     string `json:"name"`
	Password string `json:"password"`
}

// acceptInvitation makes the invited account and signs it in: 201 with the
// body of GET /me, or 410 invitation_invalid.
func (h *handler) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var in acceptInvitationRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	u, token, err := h.svc.AcceptInvitation(r.Context(), account.AcceptInput{
		Token: in.Token, Email: in.Email, Name: in.Name, Password: in.Password, PreviousToken: httpauth.Token(r),
	}, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.created(w, r, u, token)
}

type inviteRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

type invitationResponse struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Status is pending, accepted, revoked or expired.
	Status string `json:"status"`
	// URL is the link, only in the answer that made it: only its hash is kept.
	URL string `json:"url,omitempty"`
}

func newInvitationResponse(inv *account.Invitation, now time.Time) invitationResponse {
	status := "pending"
	switch {
	case !inv.AcceptedAt.IsZero():
		status = "accepted"
	case !inv.RevokedAt.IsZero():
		status = "revoked"
	case !now.Before(inv.ExpiresAt):
		status = "expired"
	}
	return invitationResponse{ID: inv.ID, Email: inv.Email, Role: string(inv.Role), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, Status: status}
}

// invite makes an invitation (administrators): 201 with its link.
func (h *handler) invite(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in inviteRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = string(account.RoleMember)
	}
	inv, link, err := h.svc.Invite(r.Context(), sess, account.InviteInput{Email: in.Email, Role: account.Role(in.Role)}, httpauth.Client(r))
	if err != nil {
		return err
	}
	resp := newInvitationResponse(inv, h.svc.Now())
	resp.URL = link
	w.Header().Set("Location", "/api/v1/admin/invitations")
	return h.writeJSON(w, r, http.StatusCreated, resp)
}

type invitationsResponse struct {
	Invitations []invitationResponse `json:"invitations"`
}

// invitations lists the invitations, newest first (administrators). Setup
// links are not shown: they are the operator's, from the log.
func (h *handler) invitations(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	list, err := h.svc.Invitations(r.Context(), sess)
	if err != nil {
		return err
	}
	now := h.svc.Now()
	out := invitationsResponse{Invitations: []invitationResponse{}}
	for _, inv := range list {
		if !inv.IsSetupLink() {
			out.Invitations = append(out.Invitations, newInvitationResponse(inv, now))
		}
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

// revokeInvitation withdraws a pending invitation: 204, or 404 when there
// is no pending invitation with that id.
func (h *handler) revokeInvitation(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errRouteNotFound
	}
	if err := h.svc.RevokeInvitation(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resendInvitation replaces a pending invitation with a new link to the
// same email and role: 201 with the new invitation and its link.
func (h *handler) resendInvitation(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errRouteNotFound
	}
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	inv, link, err := h.svc.ResendInvitation(r.Context(), sess, id, httpauth.Client(r))
	if err != nil {
		return err
	}
	resp := newInvitationResponse(inv, h.svc.Now())
	resp.URL = link
	return h.writeJSON(w, r, http.StatusCreated, resp)
}
