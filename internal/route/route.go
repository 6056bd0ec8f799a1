// Package route carries the pattern of the route that served a request
// ("POST /api/v1/session", "GET /me") from the ServeMux that matched it back
// out to the middleware around the whole server, for metrics and logs. A
// pattern names a route, never what was in the request: it is safe as a
// metric label.
package route

import (
	"context"
	"net/http"
)

type key struct{}

type holder struct{ pattern string }

// Track returns a request whose context can carry the pattern that
// Recorded muxes further in will set, and a function that reads it after
// the request was served. It reads "" when no mux matched.
func Track(r *http.Request) (*http.Request, func() string) {
	h := &holder{}
	return r.WithContext(context.WithValue(r.Context(), key{}, h)), func() string { return h.pattern }
}

// Recorded wraps a mux so that, once it has served a request, the pattern
// it matched is recorded for Track. The innermost mux records first and
// wins: the root mux's "/api/" never hides the API's own route.
func Recorded(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Deferred: a handler that panics (recovered further out) is
		// still counted under its route.
		defer func() {
			if h, ok := r.Context().Value(key{}).(*holder); ok && h.pattern == "" {
				h.pattern = r.Pattern
			}
		}()
		mux.ServeHTTP(w, r) // sets r.Pattern on this request
	})
}
