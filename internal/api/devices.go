package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/agent"
	"github.com/twofold/twofold/internal/httpauth"
)

type devicesResponse struct {
	Devices []deviceResponse `json:"devices"`
}

type deviceResponse struct {
	ID          int64  `json:"id"`
	Browser     string `json:"browser"` // browser and system, from the User-Agent of its last use
	FirstUsedAt string `json:"first_used_at"`
	LastUsedAt  string `json:"last_used_at"`
	ExpiresAt   string `json:"expires_at"`
	IP          string `json:"ip"`
	Current     bool   `json:"current"` // the device this request came from
}

// devices lists the remembered devices of the signed-in user.
func (h *handler) devices(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	devices, err := h.svc.Devices(r.Context(), sess, httpauth.DeviceToken(r))
	if err != nil {
		return err
	}
	out := devicesResponse{Devices: make([]deviceResponse, 0, len(devices))}
	for _, d := range devices {
		out.Devices = append(out.Devices, deviceResponse{
			ID: d.ID, Browser: agent.Describe(d.UserAgent), IP: d.IP, Current: d.Current,
			FirstUsedAt: d.CreatedAt.UTC().Format(time.RFC3339),
			LastUsedAt:  d.LastUsedAt.UTC().Format(time.RFC3339),
			ExpiresAt:   d.ExpiresAt.UTC().Format(time.RFC3339),
		})
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

// forgetDevice forgets one remembered device, or with no id in the path
// all of them: 204.
func (h *handler) forgetDevice(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var id int64
	if raw := r.PathValue("id"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			return errRouteNotFound
		}
		id = n
	}
	if err := h.svc.ForgetDevice(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
