package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy configured for this peer: header ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"through the load balancer", "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed entries left of the real client are ignored", "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", "10.0.0.2:4000", []string{"198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"several header lines", "10.0.0.2:4000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"only proxies: the leftmost", "10.0.0.2:4000", []string{"10.0.0.7"}, "10.0.0.7"},
		{"garbage stops the walk at the proxy", "10.0.0.2:4000", []string{"198.51.100.1, not-an-ip"}, "10.0.0.2"},
		{"no header from the proxy", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"IPv6 proxy", "[::1]:4000", []string{"2001:db8::7"}, "2001:db8::7"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		got, ok := clientIP(r, trusted)
		if !ok || got.String() != tt.want {
			t.Errorf("%s: clientIP = %v, %v; want %s", tt.name, got, ok, tt.want)
		}
	}
}
