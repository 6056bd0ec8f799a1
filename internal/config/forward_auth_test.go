package config

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// --allowed-redirect-hosts and --cookie-domain: patterns and a domain the
// browser will accept, every problem reported.
func TestForwardAuthSettings(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr string
		hosts   []string
		domain  string
	}{
		{env: map[string]string{"TWOFOLD_BASE_URL": "https://auth.example.com"}, hosts: []string{"auth.example.com"}},
		{env: map[string]string{"TWOFOLD_BASE_URL": "https://Auth.Example.com", "TWOFOLD_ALLOWED_REDIRECT_HOSTS": "App.example.com, *.apps.example.org", "TWOFOLD_COOKIE_DOMAIN": ".Example.com"},
			hosts: []string{"auth.example.com", "app.example.com", "*.apps.example.org"}, domain: "example.com"},
		{env: map[string]string{"TWOFOLD_BASE_URL": "https://auth.example.com", "TWOFOLD_COOKIE_DOMAIN": "auth.example.com"}, hosts: []string{"auth.example.com"}, domain: "auth.example.com"},
		{env: map[string]string{"TWOFOLD_ALLOWED_REDIRECT_HOSTS": "https://app.example.com"}, wantErr: "allowed redirect hosts"},
		{env: map[string]string{"TWOFOLD_ALLOWED_REDIRECT_HOSTS": "*.com"}, wantErr: "allowed redirect hosts"},
		{env: map[string]string{"TWOFOLD_BASE_URL": "https://auth.example.com", "TWOFOLD_COOKIE_DOMAIN": "other.example"}, wantErr: "cookie domain"},
		{env: map[string]string{"TWOFOLD_BASE_URL": "https://auth.example.com", "TWOFOLD_COOKIE_DOMAIN": "com"}, wantErr: "cookie domain"},
		{env: map[string]string{"TWOFOLD_BASE_URL": "https://auth.example.com", "TWOFOLD_COOKIE_DOMAIN": "ample.com"}, wantErr: "cookie domain"},
	}
	for _, tt := range tests {
		c, err := Load("serve", nil, func(k string) string { return tt.env[k] }, io.Discard)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load(%v) = %v; want an error about %s", tt.env, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("Load(%v) = %v", tt.env, err)
		default:
			if got := c.RedirectHosts(); !slices.Equal(got, tt.hosts) {
				t.Errorf("Load(%v).RedirectHosts() = %v; want %v", tt.env, got, tt.hosts)
			}
			if c.CookieDomain != tt.domain {
				t.Errorf("Load(%v).CookieDomain = %q; want %q", tt.env, c.CookieDomain, tt.domain)
			}
		}
	}
}

// --authz-cache-ms: off by default, at most 1000 (issue 13's bound).
func TestAuthzCacheSetting(t *testing.T) {
	for _, tt := range []struct {
		value   string
		want    int
		wantErr bool
	}{{"", 0, false}, {"500", 500, false}, {"1000", 1000, false}, {"1001", 0, true}, {"-1", 0, true}} {
		c, err := Load("serve", nil, func(k string) string {
			if k == "TWOFOLD_AUTHZ_CACHE_MS" {
				return tt.value
			}
			return ""
		}, io.Discard)
		switch {
		case tt.wantErr:
			if err == nil || !strings.Contains(err.Error(), "authz cache") {
				t.Errorf("TWOFOLD_AUTHZ_CACHE_MS=%q: %v; want an error about the authz cache", tt.value, err)
			}
		case err != nil || c.AuthzCacheMS != tt.want:
			t.Errorf("TWOFOLD_AUTHZ_CACHE_MS=%q: %d, %v; want %d", tt.value, c.AuthzCacheMS, err, tt.want)
		}
	}
}
