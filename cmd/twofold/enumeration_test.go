package main_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// No user enumeration at sign-in: an unknown email and a known email with a
// wrong password get the same status and body, and take about as long (the
// unknown email is checked against a dummy argon2id hash). Nor at sign-up:
// a known email gets the same answer as a new one, as fast (the owner is
// told by email instead). Measured against the real binary with the real
// (OWASP) password cost, samples interleaved in alternating order so that
// machine load (CI runs every package at once) affects both sides alike.
//
// It is the one test of the package that does not call t.Parallel: it runs
// before the others start, so its timings do not share the machine with
// this package's floods and races.
func TestSignInAndSignUpDoNotRevealWhichEmailsExist(t *testing.T) {
	p := start(t, t.TempDir())
	defer p.stop(t)
	// 18 known accounts (one client may sign up 20 an hour), 3 wrong
	// passwords each: 54 samples a side and 108 failures, spread over two
	// client addresses to stay under the per-IP (100) and per-account (20)
	// throttles.
	const n, rounds = 18, 3
	// 18 more known accounts for the sign-up half, from another client.
	// Nothing is timed yet: the two clients sign up at once, each on a
	// hash slot of its own.
	const signUpKnown = 2 * n
	var wg sync.WaitGroup
	for half, c := range []*http.Client{apiClient, clientFrom("127.0.4.3")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := half * n; i < (half+1)*n; i++ {
				email := fmt.Sprintf("known%d@example.com", i)
				if status, body, _, err := signUp(c, p.base, map[string]string{"email": email, "password": "correct horse battery", "name": "K"}); err != nil || status != http.StatusCreated {
					t.Errorf("sign up %s = %d %v %v; want 201", email, status, body, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var known, unknown []time.Duration
	var knownBody, unknownBody map[string]any
	signers := []*http.Client{clientFrom("127.0.4.1"), clientFrom("127.0.4.2")}
	for j := range n * rounds {
		i := j % n
		pair := []string{fmt.Sprintf("known%d@example.com", i), fmt.Sprintf("nobody%d@example.com", i)}
		if j%2 == 1 {
			pair[0], pair[1] = pair[1], pair[0]
		}
		for _, email := range pair {
			start := time.Now()
			status, body, _, err := send(signers[j%2], p.base, "POST", "/session", "", map[string]string{"email": email, "password": "wrong password!"})
			elapsed := time.Since(start)
			if err != nil || status != 401 {
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

	// Sign-up: 72 pairs, each from its own client address (one client may
	// sign up 20 times an hour), each of the 36 known addresses twice (it
	// may receive 3 messages an hour, and its own sign-up was one). A
	// sign-up takes about 60 ms against the race build here, so a few
	// milliseconds of a busy machine's scheduling weigh on its median: 36
	// pairs once gave a ratio of 1.27 at a load average of 16, and twice
	// as many samples make both medians steadier.
	var taken, fresh []time.Duration
	var takenAnswer, freshAnswer string
	for j := range 2 * signUpKnown {
		c := clientFrom(fmt.Sprintf("127.0.3.%d", j+1))
		pair := []string{fmt.Sprintf("known%d@example.com", j%signUpKnown), fmt.Sprintf("new%d@example.com", j)}
		if j%2 == 1 {
			pair[0], pair[1] = pair[1], pair[0]
		}
		for _, email := range pair {
			start := time.Now()
			resp, err := c.Post(p.base+"/api/v1/signup", "application/json",
				strings.NewReader(fmt.Sprintf(`{"email":%q,"password":"another good password","name":"M"}`, email)))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			elapsed := time.Since(start)
			answer := fmt.Sprintf("%d %s cookies=%d %s", resp.StatusCode, resp.Header.Get("Content-Type"), len(resp.Cookies()), raw)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("sign-up as %s = %s; want 202", email, answer)
			}
			if email[0] == 'k' {
				taken, takenAnswer = append(taken, elapsed), answer
			} else {
				fresh, freshAnswer = append(fresh, elapsed), answer
			}
		}
	}
	if takenAnswer != freshAnswer {
		t.Errorf("sign-up answers differ:\nexisting email: %s\nnew email:      %s", takenAnswer, freshAnswer)
	}
	mt, mf := median(taken), median(fresh)
	ratio = float64(max(mt, mf)) / float64(min(mt, mf))
	t.Logf("median sign-up time: existing email %v, new email %v (ratio %.2f)", mt, mf, ratio)
	if ratio >= 1.25 {
		t.Errorf("median sign-up times differ by %.0f%%; want under 25%%", (ratio-1)*100)
	}
}
