package main_test

// Promise 9: overload does not become a hole or a crash. 500 password
// attempts at once against a real server process: memory stays within what
// the argon2id concurrency limit allows, every attempt gets 401, 429 or 503
// (never a dropped connection or another 5xx), the process lives on, and a
// user who already passed the password step completes the code step while
// the flood is still being answered.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

var (
	productionOnce sync.Once
	productionPath string
	productionErr  error
)

// productionBinary builds twofold without -race, as operators run it. The
// race detector keeps shadow memory for every byte the program touches, so
// the race build's resident set says nothing about the product's.
func productionBinary(t *testing.T) string {
	t.Helper()
	productionOnce.Do(func() {
		productionPath = filepath.Join(filepath.Dir(binary), "twofold-production")
		out, err := exec.Command("go", "build", "-o", productionPath, ".").CombinedOutput()
		if err != nil {
			productionErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if productionErr != nil {
		t.Fatal(productionErr)
	}
	return productionPath
}

// procStatusKiB reads a "Vm…: N kB" line of /proc/<pid>/status.
func procStatusKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status %s: %v", pid, field, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// Promise 9. The memory bound, from the design: a hash slot holds one
// argon2id block array of 19 MiB while it runs; Go's collector lets the heap
// grow to twice what was live at its last cycle (GOGC=100), and arrays
// allocated while a cycle runs count as live for it, so the flood can hold
// at most 2 x 2 x slots arrays, plus its connections, above what the
// process had at start-up (which includes the dummy hash made there).
// Without the limit the attempts that reach the hasher would need 19 MiB
// each at once: gigabytes.
func TestOverloadIsTurnedAwayNotACrash(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc and uses loopback source addresses beyond 127.0.0.1")
	}
	const (
		attempts        = 500
		hashConcurrency = 2                    // fixed, so the bound does not depend on the machine's CPUs
		queued          = 16 * hashConcurrency // internal/cli lets 16 per slot wait
		hashMiB         = 19                   // argon2id m = 19 MiB (password.OWASP)
		perConnKiB      = 64                   // goroutine, stack and buffers of one connection, generously
	)
	p := startBuild(t, productionBinary(t), t.TempDir(), fmt.Sprintf("TWOFOLD_HASH_CONCURRENCY=%d", hashConcurrency))
	pid := p.cmd.Process.Pid
	startedKiB := procStatusKiB(t, pid, "VmHWM")
	c := clientFrom("127.0.0.1")

	// The legitimate user: 2FA on, and two sign-ins past the password step
	// before the flood begins.
	const victim = "ana@example.com"
	ana, err := enrollMember(c, p.base, victim, true)
	if err != nil {
		t.Fatal(err)
	}
	pendingTOTP, err := passwordStep(c, p.base, victim)
	if err != nil {
		t.Fatal(err)
	}
	pendingBackup, err := passwordStep(c, p.base, victim)
	if err != nil {
		t.Fatal(err)
	}

	// The flood: 500 wrong passwords at once. 150 come from 127.0.0.1, more
	// than the 100 failures an IP may have per 15 minutes; 50 from 127.0.0.9
	// go to the victim's email, more than the 20 an account may have; 300
	// come from six other addresses, 50 each, to unknown emails, so the
	// per-IP throttle does not stand between them and the hasher, as it
	// would not for a botnet.
	policy := account.DefaultPolicy()
	type source struct {
		ip    string
		n     int
		email func(i int) string
		limit int // failed passwords the throttle may let through, by the policy
	}
	unknown := func(i int) string { return fmt.Sprintf("nobody-%d@example.com", i) }
	sources := []source{
		{"127.0.0.1", 150, unknown, policy.PasswordIPAttempt},
		{"127.0.0.9", 50, func(int) string { return victim }, policy.PasswordAttempts},
	}
	for i := 2; i <= 7; i++ {
		sources = append(sources, source{fmt.Sprintf("127.0.0.%d", i), 50, unknown, policy.PasswordIPAttempt})
	}
	type answer struct {
		source     int
		status     int
		code       string
		retryAfter string
		err        error
	}
	var answers []*answer
	var outstanding atomic.Int64
	var flood, written sync.WaitGroup
	gun := make(chan struct{})
	for si, src := range sources {
		client := clientFrom(src.ip)
		client.Timeout = 60 * time.Second
		client.Transport.(*http.Transport).DisableKeepAlives = true
		for range src.n {
			a := &answer{source: si}
			answers = append(answers, a)
			body, _ := json.Marshal(map[string]string{"email": src.email(len(answers)), "password": "wrong password!"})
			outstanding.Add(1)
			flood.Add(1)
			written.Add(1)
			go func() {
				defer flood.Done()
				defer outstanding.Add(-1)
				var once sync.Once
				wrote := func() { once.Do(written.Done) }
				defer wrote() // if it failed before it was written
				trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote() }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", p.base+"/api/v1/session", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				<-gun
				resp, err := client.Do(req)
				if err != nil {
					a.err = err
					return
				}
				defer resp.Body.Close()
				raw, err := io.ReadAll(resp.Body)
				var m map[string]any
				if err == nil {
					err = json.Unmarshal(raw, &m)
				}
				a.status, a.err, a.retryAfter = resp.StatusCode, err, resp.Header.Get("Retry-After")
				a.code, _ = m["code"].(string)
			}()
		}
	}
	if len(answers) != attempts {
		t.Fatalf("flood of %d; want %d", len(answers), attempts)
	}
	floodStarted := time.Now()
	close(gun)
	written.Wait()

	// Every attempt is at the server: the victim sends their codes now.
	type codeStep struct {
		name        string
		token, code string
		status      int
		body        map[string]any
		err         error
		took        time.Duration
		before      int64 // flood requests unanswered when this was sent...
		after       int64 // ...and when it was answered
	}
	steps := []*codeStep{
		{name: "TOTP code", token: pendingTOTP, code: totp.Code(ana.secret, time.Now().Add(totp.Period))}, // one step past the one enable used
		{name: "backup code", token: pendingBackup, code: ana.codes[0]},
	}
	patient := clientFrom("127.0.0.1")
	patient.Timeout = 60 * time.Second // longer than the server's WriteTimeout: a slow answer fails there, not here
	var victimWG sync.WaitGroup
	for _, s := range steps {
		victimWG.Add(1)
		go func() {
			defer victimWG.Done()
			sent := time.Now()
			s.before = outstanding.Load()
			s.status, s.body, _, s.err = send(patient, p.base, "POST", "/session/two-factor", s.token, map[string]string{"code": s.code})
			s.took, s.after = time.Since(sent), outstanding.Load()
		}()
	}
	victimWG.Wait()
	flood.Wait()
	floodTook := time.Since(floodStarted)

	// The process is alive and well.
	select {
	case err := <-p.done:
		t.Fatalf("twofold died during the flood: %v\n%s", err, p.logs)
	default:
	}
	peakKiB := procStatusKiB(t, pid, "VmHWM")
	resp, err := c.Get(p.base + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz after the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz after the flood = %d; want 200", resp.StatusCode)
	}

	// Every flood request got a whole answer, of the right kind.
	want := map[int]string{401: "invalid_credentials", 429: "throttled", 503: "busy"}
	counts := map[int]int{}
	bySource := make([]map[int]int, len(sources))
	for i := range bySource {
		bySource[i] = map[int]int{}
	}
	failed := 0
	for i, a := range answers {
		if a.err != nil {
			if failed++; failed <= 5 {
				t.Errorf("flood request %d from %s: %v; want an answer", i, sources[a.source].ip, a.err)
			}
			continue
		}
		counts[a.status]++
		if code, ok := want[a.status]; !ok || a.code != code {
			t.Errorf("flood request %d from %s = %d %q; want 401 invalid_credentials, 429 throttled or 503 busy", i, sources[a.source].ip, a.status, a.code)
		}
		if (a.status == 429 || a.status == 503) && a.retryAfter == "" {
			t.Errorf("flood request %d = %d without Retry-After", i, a.status)
		}
		bySource[a.source][a.status]++
	}
	if failed > 0 {
		t.Errorf("%d of %d flood requests got no answer; want none", failed, attempts)
	}
	// Not a hole: under the flood the throttles still let no more wrong
	// passwords be checked than the policy allows, and turn the rest away.
	for i, src := range sources {
		got := bySource[i]
		if got[401] > src.limit {
			t.Errorf("wrong passwords checked from %s = %d; want at most %d", src.ip, got[401], src.limit)
		}
		if src.n > src.limit && got[429]+got[503] < src.n-src.limit {
			t.Errorf("turned away from %s: %d x 429 + %d x 503; want at least %d of its %d (limit %d)", src.ip, got[429], got[503], src.n-src.limit, src.n, src.limit)
		}
	}
	reachedHasher := attempts - counts[429]
	if counts[503] == 0 {
		t.Errorf("no 503 busy among %d attempts that reached a hasher of %d slots and %d places to wait; want the excess turned away", reachedHasher, hashConcurrency, queued)
	}

	// The victim's code steps succeeded while the flood was being answered.
	for _, s := range steps {
		switch {
		case s.err != nil:
			t.Errorf("victim's %s during the flood: %v; want 200", s.name, s.err)
		case s.status != 200 || s.body["status"] != "authenticated":
			t.Errorf("victim's %s during the flood = %d %v; want 200 authenticated", s.name, s.status, s.body)
		case s.after == 0:
			t.Errorf("victim's %s was answered after the last flood request (in %v); want it answered during the flood", s.name, s.took)
		}
	}

	boundKiB := startedKiB + 2*2*hashConcurrency*hashMiB*1024 + attempts*perConnKiB
	t.Logf("%d wrong passwords answered in %v: %d x 401, %d x 429, %d x 503 (%d reached the hasher of %d slots + %d waiting)",
		attempts, floodTook.Round(time.Millisecond), counts[401], counts[429], counts[503], reachedHasher, hashConcurrency, queued)
	for i, src := range sources[:2] {
		t.Logf("from %s (%d attempts, limit %d): %v", src.ip, src.n, src.limit, bySource[i])
	}
	for _, s := range steps {
		t.Logf("victim's %s: %d in %v, sent with %d flood requests unanswered, answered with %d", s.name, s.status, s.took.Round(time.Millisecond), s.before, s.after)
	}
	t.Logf("server memory: %d MiB at start-up, peak (VmHWM) %d MiB; bound %d MiB = start-up + 2 x 2 x %d slots x %d MiB + %d connections x %d KiB; unlimited hashing would need %d MiB",
		startedKiB/1024, peakKiB/1024, boundKiB/1024, hashConcurrency, hashMiB, attempts, perConnKiB, reachedHasher*hashMiB)
	if peakKiB > boundKiB {
		t.Errorf("peak resident memory %d MiB; want at most %d MiB", peakKiB/1024, boundKiB/1024)
	}
	p.stop(t)
}
