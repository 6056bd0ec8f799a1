package main_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// No user enumeration at sign-in: an unknown email and a known email with a
// wrong password get the same status and body, and take about as long (the
// unknown email is checked against a dummy argon2id hash). Measured against
// the real binary with the real (OWASP) password cost, samples interleaved
// so that machine load affects both sides alike.
func TestSignInDoesNotRevealWhichEmailsExist(t *testing.T) {
	p := start(t, t.TempDir())
	defer p.stop(t)
	const n = 15 // known accounts; each gets one wrong password (the per-account throttle allows 20)
	for i := range n {
		status, body, _ := call(t, p.base, "POST", "/signup", "", map[string]string{"email": fmt.Sprintf("known%d@example.com", i), "password": "correct horse battery", "name": "K"})
		if status != 201 {
			t.Fatalf("signup = %d %v", status, body)
		}
	}
	var known, unknown []time.Duration
	var knownBody, unknownBody map[string]any
	for i := range n {
		for _, email := range []string{fmt.Sprintf("known%d@example.com", i), fmt.Sprintf("nobody%d@example.com", i)} {
			start := time.Now()
			status, body, _ := call(t, p.base, "POST", "/session", "", map[string]string{"email": email, "password": "wrong password!"})
			elapsed := time.Since(start)
			if status != 401 {
				t.Fatalf("sign-in as %s with a wrong password = %d %v; want 401", email, status, body)
			}
			if email[0] == 'k' {
				known, knownBody = append(known, elapsed), body
			} else {
				unknown, unknownBody = append(unknown, elapsed), body
			}
		}
	}
	if fmt.Sprint(knownBody) != fmt.Sprint(unknownBody) {
		t.Errorf("bodies differ:\nknown email:   %v\nunknown email: %v", knownBody, unknownBody)
	}
	median := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	mk, mu := median(known), median(unknown)
	ratio := float64(max(mk, mu)) / float64(min(mk, mu))
	t.Logf("median sign-in time: known email %v, unknown email %v (ratio %.2f)", mk, mu, ratio)
	if ratio >= 1.25 {
		t.Errorf("median times differ by %.0f%%; want under 25%%", (ratio-1)*100)
	}
}
