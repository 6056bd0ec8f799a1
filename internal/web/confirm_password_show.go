package web

import "net/http"

func confirmView(next string) *view {
	return &view{Title: "Confirm your password", Form: map[string]string{"next": next}}
}

// showConfirmPassword asks for the password again before a sensitive change.
func (h *handler) showConfirmPassword(w http.ResponseWriter, r *http.Request) {
	_, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := confirmView(safeNext(r.URL.Query().Get("next")))
	v.User = p.User
	h.render(w, r, http.StatusOK, pageConfirmPassword, v)
}
