package api

import (
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// sendRecoveryCode texts the code that starts a self-recovery to the
// half-signed-in account's number on file.
func (h *handler) sendRecoveryCode(w http.ResponseWriter, r *http.Request) error {
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	if err := h.svc.SendRecoveryCode(r.Context(), httpauth.Token(r), httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusAccepted, statusOnly{Status: "code_sent"})
}

type startRecoveryRequest struct {
	SMSCode string `json:"sms_code"`
}

type recoveryResponse struct {
	Status      string `json:"status"`
	EffectiveAt string `json:"effective_at"`
}

// startRecovery starts the self-recovery with the texted code: 202 and
// when the next password sign-in will turn 2FA off.
func (h *handler) startRecovery(w http.ResponseWriter, r *http.Request) error {
	var in startRecoveryRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	rec, err := h.svc.StartRecovery(r.Context(), httpauth.Token(r), in.SMSCode, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusAccepted, recoveryResponse{Status: "recovery_pending", EffectiveAt: rec.EffectiveAt.UTC().Format(time.RFC3339)})
}

// myRecovery is the signed-in user's pending recovery, if any.
func (h *handler) myRecovery(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	rec, err := h.svc.PendingRecoveryOf(r.Context(), sess.UserID)
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, recoveryResponse{Status: "recovery_pending", EffectiveAt: rec.EffectiveAt.UTC().Format(time.RFC3339)})
}

// cancelMyRecovery cancels the signed-in user's pending recovery.
func (h *handler) cancelMyRecovery(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	if err := h.svc.CancelOwnRecovery(r.Context(), sess, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type cancelLinkRequest struct {
	Token string `json:"token"`
}

// cancelRecoveryByLink cancels the recovery of an emailed cancel link; no
// session is needed.
func (h *handler) cancelRecoveryByLink(w http.ResponseWriter, r *http.Request) error {
	var in cancelLinkRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.CancelRecoveryByLink(r.Context(), in.Token, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// cancelUserRecovery cancels an account's pending recovery, for
// administrators.
func (h *handler) cancelUserRecovery(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := h.svc.CancelRecoveryFor(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
