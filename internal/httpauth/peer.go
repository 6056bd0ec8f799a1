package httpauth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

type peerKey struct{}

// WithPeer records the request's direct peer (the connection's address,
// parsed once by the caller; the zero Addr when unreadable) before
// RemoteAddr is replaced with the client behind a trusted proxy, for the
// checks that must know who sent the request rather than for whom:
// forward-auth believes X-Forwarded-* only from a trusted proxy.
func WithPeer(r *http.Request, peer netip.Addr) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), peerKey{}, peer.Unmap()))
}

// Peer is the address of the request's direct peer (the zero Addr when
// unreadable).
func Peer(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(peerKey{}).(netip.Addr); ok {
		return a
	}
	a, _ := ParseRemoteAddr(r.RemoteAddr)
	return a.Unmap()
}

// ParseRemoteAddr reads a RemoteAddr: "ip:port", or a bare ip.
func ParseRemoteAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr(), true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}
