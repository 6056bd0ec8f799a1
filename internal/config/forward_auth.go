package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// validateForwardAuth checks the settings of forward-auth: each allowed
// redirect host is a host pattern, and the cookie domain is the base URL's
// host or a parent of it (a browser drops a cookie for any other domain).
func (c Config) validateForwardAuth() []error {
	var problems []error
	if c.AuthzCacheMS < 0 || time.Duration(c.AuthzCacheMS)*time.Millisecond > account.MaxAuthzCache {
		problems = append(problems, fmt.Errorf("authz cache %d ms: want 0 (off) to %d", c.AuthzCacheMS, account.MaxAuthzCache.Milliseconds()))
	}
	for _, h := range c.AllowedRedirectHosts {
		if _, problem := account.NormalizeHostPattern(h); problem != "" {
			problems = append(problems, fmt.Errorf("allowed redirect hosts: %q: want a host name like app.example.com or *.example.com", h))
		}
	}
	if c.CookieDomain == "" {
		return problems
	}
	d := strings.TrimPrefix(strings.ToLower(c.CookieDomain), ".")
	if !account.ValidHostname(d) || !strings.Contains(d, ".") {
		return append(problems, fmt.Errorf("cookie domain %q: want a domain name like example.com", c.CookieDomain))
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return problems // reported by Validate
	}
	if host := strings.ToLower(u.Hostname()); host != d && !strings.HasSuffix(host, "."+d) {
		problems = append(problems, fmt.Errorf("cookie domain %q: must be the base URL's host (%s) or a domain above it, or browsers drop the session cookie", c.CookieDomain, host))
	}
	return problems
}

// RedirectHosts are the host patterns a browser may be sent back to after
// signing in or out, besides the protected apps': twofold's own host and
// AllowedRedirectHosts, lower-case.
func (c Config) RedirectHosts() []string {
	var hosts []string
	if u, err := url.Parse(c.BaseURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, strings.ToLower(u.Hostname()))
	}
	for _, h := range c.AllowedRedirectHosts {
		if p, problem := account.NormalizeHostPattern(h); problem == "" {
			hosts = append(hosts, p)
		}
	}
	return hosts
}
