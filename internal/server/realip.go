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
	peer, ok := httpauth.ParseRemoteAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	return clientFrom(r, peer, trusted), true
}

// clientFrom is clientIP for the peer already read from RemoteAddr.
func clientFrom(r *http.Request, peer netip.Addr, trusted []netip.Prefix) netip.Addr {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	client := peer
	if !isTrusted(client) {
		return client
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
	return client
}

// realIP rewrites RemoteAddr to the client's address when the request came
// through a trusted proxy, so throttles and the activity log see the person,
// not the load balancer.
func realIP(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The peer is parsed once, here, for both: forward-auth's check of
		// the proxy (httpauth.Peer) and the client behind it.
		peer, ok := httpauth.ParseRemoteAddr(r.RemoteAddr)
		r = httpauth.WithPeer(r, peer)
		if ok {
			r.RemoteAddr = net.JoinHostPort(clientFrom(r, peer, trusted).String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}
