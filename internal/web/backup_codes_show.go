package web

import "net/http"

// showBackupCodes exists for a reload or a bookmark of the codes page: codes
// are shown only in the response that generated them, so it goes to My info.
func (h *handler) showBackupCodes(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, "/me")
}
