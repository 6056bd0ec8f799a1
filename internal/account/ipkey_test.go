package account

import "testing"

func TestIPKeyCountsIPv6ByItsSlash64(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"::ffff:192.0.2.7":          "::ffff:192.0.2.7",
		"fe80::1%eth0":              "fe80::/64",
		"not an address":            "not an address",
	} {
		if got := ipKey(ip); got != want {
			t.Errorf("ipKey(%q) = %q; want %q", ip, got, want)
		}
	}
}
