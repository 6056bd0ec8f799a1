package web

import "net/http"

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, pageMessage, &view{Title: "Page not found", Data: message{
		Heading: "Page not found",
		Text:    "There is no page at this address.",
	}})
}
