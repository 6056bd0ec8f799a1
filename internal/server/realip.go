package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/twofold/twofold/internal/httpauth"
)

// clientIP finds the address of the client behind trusted reverse proxies:
// X-Forwarded-For is read from the right (each proxy appends the address it
// saw), skipping trusted proxies; the first address that is not one is the
// client. A header from a peer that is not a trusted proxy is ignored, since
// anyone can send one; an unreadable entry stops the walk at what was
// established so far.
func clientIP(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	client, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(client) {
		return client, err == nil
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !isTrusted(client) {
			break
		}
	}
	return client, true
}

// realIP rewrites RemoteAddr to the client's address when the request came
// through a trusted proxy, so throttles and the activity log see the person,
// not the load balancer.
func realIP(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = httpauth.WithPeer(r)
		if ip, ok := clientIP(r, trusted); ok {
			r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}
