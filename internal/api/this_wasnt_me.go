package api

import (
	"errors"
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type disavowRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

type disavowResponse struct {
	Status            string `json:"status"`
	DevicesForgotten  int    `json:"devices_forgotten"`
	RecoveryCancelled bool   `json:"recovery_cancelled"`
}

// disavow carries out the "This wasn't me" link of a security email: with
// the link's token and the account's password, every session of the
// account is signed out, every remembered device forgotten and a pending
// recovery cancelled; 200 with what was done. It signs nobody in. An
// unknown, used or expired token is 410 disavow_link_invalid; a wrong
// password 401 invalid_credentials (counted, and the link stays usable).
func (h *handler) disavow(w http.ResponseWriter, r *http.Request) error {
	var in disavowRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	res, err := h.svc.Disavow(r.Context(), in.Token, in.Password, httpauth.Client(r))
	if err != nil {
		return err
	}
	// The client's session, if it was the account's, ended with the rest.
	if t := httpauth.Token(r); t != "" {
		if _, err := h.svc.Session(r.Context(), t); errors.Is(err, account.ErrUnauthenticated) || errors.Is(err, account.ErrPendingExpired) {
			httpauth.ClearToken(w, h.cookies)
		}
	}
	return h.writeJSON(w, r, http.StatusOK, disavowResponse{Status: "signed_out_everywhere",
		DevicesForgotten: res.DevicesForgotten, RecoveryCancelled: res.RecoveryCancelled})
}
