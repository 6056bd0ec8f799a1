package web

import (
	"net/http"
	"strconv"

	"github.com/twofold/twofold/internal/httpauth"
)

// forgetDevice forgets one remembered device (the id in the path) or, on
// /me/devices/forget, all of them; signing in from them asks for the code
// again.
func (h *handler) forgetDevice(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	var id int64
	if raw := r.PathValue("id"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			h.notFound(w, r)
			return
		}
		id = n
	}
	if err := h.svc.ForgetDevice(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	if id == 0 {
		h.setFlash(w, flashDevicesForgotten)
	} else {
		h.setFlash(w, flashDeviceForgotten)
	}
	redirect(w, r, "/me#devices")
}
