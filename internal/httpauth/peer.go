package httpauth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

type peerKey struct{}

// WithPeer records the request's direct peer (the connection's address)
// before RemoteAddr is replaced with the client behind a trusted proxy, for
// the checks that must know who sent the request rather than for whom:
// forward-auth believes X-Forwarded-* only from a trusted proxy.
func WithPeer(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), peerKey{}, r.RemoteAddr))
}

// Peer is the address of the request's direct peer (the zero Addr when
// unreadable).
func Peer(r *http.Request) netip.Addr {
	remote, ok := r.Context().Value(peerKey{}).(string)
	if !ok {
		remote = r.RemoteAddr
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
