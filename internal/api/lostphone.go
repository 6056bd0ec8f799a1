package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type helpRequest struct {
	Message string `json:"message"`
}

// requestHelp is "Lost your phone?" of a half-signed-in session: the
// administrators are told (202), once while a request is open.
func (h *handler) requestHelp(w http.ResponseWriter, r *http.Request) error {
	var in helpRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.RequestHelp(r.Context(), httpauth.Token(r), in.Message, httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusAccepted, statusOnly{Status: "help_requested"})
}

type statusOnly struct {
	Status string `json:"status"`
}

type helpRequestsResponse struct {
	HelpRequests []helpRequestResponse `json:"help_requests"`
}

type helpRequestResponse struct {
	ID        int64  `json:"id"`
	UserID    int64  `json:"user_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Message   string `json:"message"`
	IP        string `json:"ip"`
	CreatedAt string `json:"created_at"`
}

// helpRequests lists the open help requests, for administrators.
func (h *handler) helpRequests(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	reqs, err := h.svc.HelpRequests(r.Context(), sess)
	if err != nil {
		return err
	}
	out := helpRequestsResponse{HelpRequests: make([]helpRequestResponse, 0, len(reqs))}
	for _, q := range reqs {
		out.HelpRequests = append(out.HelpRequests, helpRequestResponse{
			ID: q.ID, UserID: q.UserID, Email: q.Email, Name: q.Name, Message: q.Message, IP: q.IP,
			CreatedAt: q.CreatedAt.UTC().Format(time.RFC3339),
		})
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

type phoneVerificationResponse struct {
	Status    string `json:"status"`
	SentTo    string `json:"sent_to"` // the number on file, as texted
	ExpiresAt string `json:"expires_at"`
}

// sendPhoneVerification texts a code to the account's number on file.
func (h *handler) sendPhoneVerification(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	v, err := h.svc.SendPhoneVerification(r.Context(), sess, id, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusAccepted, phoneVerificationResponse{
		Status: "code_sent", SentTo: v.Phone, ExpiresAt: v.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

type checkCodeRequest struct {
	Code string `json:"code"`
}

type verifiedResponse struct {
	Verified bool `json:"verified"`
}

// checkPhoneVerification checks the code the person read back.
func (h *handler) checkPhoneVerification(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in checkCodeRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.CheckPhoneVerification(r.Context(), sess, id, in.Code, httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, verifiedResponse{Verified: true})
}

// pathID is the {id} of the path: a positive number, or the route does
// not exist.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errRouteNotFound
	}
	return id, nil
}

// dismissHelpRequest resolves an account's open help requests without a
// reset, for administrators: 204.
func (h *handler) dismissHelpRequest(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := h.svc.DismissHelpRequest(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
