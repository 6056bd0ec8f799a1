package main_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

// scrape reads every metric family the metrics listener serves.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d; want 200", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	return families
}

// value is the value of the sample of family name whose labels include
// every pair of labels (counter, gauge or a histogram's count); 0 when there
// is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return 0
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// A whole-system test of the metrics (issue 10): a real server with
// --metrics-addr on each store; the counters of sign-in outcomes move as a
// person signs in right, wrong, with a replayed code, a backup code and
// into the throttle; the public port does not serve them; and no label of
// any metric holds an email, an IP address, a token, a code or the secret.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			env := []string{"TWOFOLD_METRICS_ADDR=127.0.0.1:0"}
			if backend == "postgres" {
				env = append(env, "TWOFOLD_DATABASE="+pgtest.Database(t))
			}
			p := start(t, t.TempDir(), env...)
			defer p.stop(t)
			if p.metrics == "" {
				t.Fatalf("no metrics listener was logged:\n%s", p.logs)
			}
			if resp, err := http.Get(p.base + "/metrics"); err != nil || resp.StatusCode != 404 {
				t.Fatalf("GET /metrics on the public port = %v, %v; want 404: metrics are never served there", resp.StatusCode, err)
			}
			before := scrape(t, p.metrics)

			c := clientFrom("127.0.0.1")
			const email = "metrics.person@example.com"
			m, err := enrollMember(c, p.base, email, true)
			if err != nil {
				t.Fatal(err)
			}
			secrets := []string{email, "example.com", "127.0.0.1", "::1", crashPassword, m.token, string(m.secret)}
			secrets = append(secrets, m.codes...)
			expect := func(status int, err error, want int, what string) {
				t.Helper()
				if err != nil || status != want {
					t.Fatalf("%s = %d, %v; want %d", what, status, err, want)
				}
			}

			// A wrong password.
			status, _, _, err := send(c, p.base, "POST", "/session", "", map[string]string{"email": email, "password": "not the password"})
			expect(status, err, 401, "wrong password")
			// The right password, then the next step's code (the one used to
			// enable is spent; ±1 step is accepted), then the same code again.
			pending, err := passwordStep(c, p.base, email)
			if err != nil {
				t.Fatal(err)
			}
			next := totp.Code(m.secret, time.Now().Add(30*time.Second))
			secrets = append(secrets, pending, next)
			status, _, full, err := send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": next})
			expect(status, err, 200, "code step")
			secrets = append(secrets, full)
			pending, err = passwordStep(c, p.base, email)
			if err != nil {
				t.Fatal(err)
			}
			status, _, _, err = send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": next})
			expect(status, err, 401, "the same code again")
			// A backup code.
			status, _, _, err = send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": m.codes[0]})
			expect(status, err, 200, "backup code")
			// Wrong codes up to the throttle (10 per account; the replay
			// was one), then one more that is refused unchecked.
			pending, err = passwordStep(c, p.base, email)
			if err != nil {
				t.Fatal(err)
			}
			wrong := "000000"
			for _, step := range []int{-1, 0, 1} {
				if totp.Code(m.secret, time.Now().Add(time.Duration(step)*30*time.Second)) == wrong {
					wrong = "999999" // never a right code by chance
				}
			}
			for i := range 9 {
				status, _, _, err = send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": wrong})
				expect(status, err, 401, fmt.Sprintf("wrong code #%d", i+1))
			}
			status, _, _, err = send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": wrong})
			expect(status, err, 429, "a code beyond the throttle")

			after := scrape(t, p.metrics)
			moved := func(name string, want float64, labels ...string) {
				t.Helper()
				if got := value(after, name, labels...) - value(before, name, labels...); got != want {
					t.Errorf("%s%v moved by %v; want %v", name, labels, got, want)
				}
			}
			moved("twofold_sign_in_steps_total", 1, "step", "password", "outcome", "wrong")
			moved("twofold_sign_in_steps_total", 3, "step", "password", "outcome", "ok")
			moved("twofold_sign_in_steps_total", 1, "step", "totp", "outcome", "ok")
			moved("twofold_sign_in_steps_total", 1, "step", "totp", "outcome", "replayed")
			moved("twofold_sign_in_steps_total", 9, "step", "totp", "outcome", "wrong")
			moved("twofold_sign_in_steps_total", 1, "step", "totp", "outcome", "throttled")
			moved("twofold_sign_in_steps_total", 1, "step", "backup_code", "outcome", "ok")
			moved("twofold_throttle_rejections_total", 1, "limit", "code")
			moved("twofold_http_requests_total", 1, "route", "POST /api/v1/session", "code", "401")
			moved("twofold_http_requests_total", 1, "route", "POST /api/v1/session/two-factor", "code", "429")
			moved("twofold_http_request_duration_seconds", 2, "route", "POST /api/v1/session/two-factor", "code", "200")
			if value(after, "twofold_store_transaction_duration_seconds", "kind", "use_case", "result", "commit") == 0 {
				t.Error("no store transaction was timed")
			}
			// Sign-up link and notices wait in the outbox: no SMTP here.
			if got := value(after, "twofold_outbox_queued_messages"); got < 3 {
				t.Errorf("twofold_outbox_queued_messages = %v; want the sign-up link and the notices (at least 3)", got)
			}
			if value(after, "twofold_outbox_sender_enabled") != 0 {
				t.Error("twofold_outbox_sender_enabled = 1 without TWOFOLD_SMTP_URL")
			}
			if value(after, "twofold_password_hash_slots") < 1 {
				t.Error("twofold_password_hash_slots is missing")
			}
			if value(after, "twofold_build_info") != 1 {
				t.Error("twofold_build_info is missing")
			}
			pool := "go_sql_max_open_connections"
			if backend == "postgres" {
				pool = "twofold_postgres_pool_max_connections"
			}
			if value(after, pool) < 1 {
				t.Errorf("%s is missing: the store's pool is not reported", pool)
			}

			for name, f := range after {
				for _, metric := range f.GetMetric() {
					for _, l := range metric.GetLabel() {
						for _, s := range secrets {
							if s != "" && strings.Contains(l.GetValue(), s) {
								t.Errorf("metric %s label %s=%q holds %q: no label may carry an email, IP, token or code", name, l.GetName(), l.GetValue(), s)
							}
						}
						if strings.Contains(l.GetValue(), "@") {
							t.Errorf("metric %s label %s=%q looks like an email", name, l.GetName(), l.GetValue())
						}
					}
				}
			}
		})
	}
}

// `twofold backup FILE` while the server takes sign-ins and sign-ups: the
// copy restores (a data directory with the backup and the same key) to a
// server where the accounts made before it sign in with their password and
// code (issue 10).
func TestBackupWhileServingRestores(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := start(t, data)
	c := clientFrom("127.0.0.1")
	var before []*member
	for i := range 3 {
		m, err := enrollMember(c, p.base, fmt.Sprintf("before%d@example.com", i), false)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, m)
	}

	// Writers keep going while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := clientFrom(fmt.Sprintf("127.0.9.%d", w+1))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := passwordStep(wc, p.base, before[i%len(before)].email); err == nil {
					writes.Add(1)
				}
				status, _, _, err := signUp(wc, p.base, map[string]string{"email": fmt.Sprintf("during%d-%d@example.com", w, i), "password": crashPassword, "name": "D"})
				if err == nil && status == 201 {
					writes.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	file := filepath.Join(t.TempDir(), "twofold-backup.db")
	out, err := exec.Command(binary, "backup", file, "--data-dir", data).CombinedOutput()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(string(out), "integrity ok") || !strings.Contains(string(out), "secret.key") {
		t.Fatalf("backup = %s, %v; want it written and checked, with a word about the key", out, err)
	}
	if writes.Load() == 0 {
		t.Fatal("nothing was written while the backup ran: the test proves nothing")
	}
	t.Logf("%d sign-ins and sign-ups went on around the backup", writes.Load())
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode = %v, %v; want 0600: it holds password hashes", info.Mode().Perm(), err)
	}
	// A second backup to the same file is refused: nothing is overwritten.
	if out, err := exec.Command(binary, "backup", file, "--data-dir", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "already exists") {
		t.Errorf("backup over an existing file = %s, %v; want a refusal", out, err)
	}
	p.stop(t)

	// Restore: a new data directory with the backup as its database and the same key.
	restored := t.TempDir()
	copyFile(t, file, filepath.Join(restored, "twofold.db"))
	copyFile(t, filepath.Join(data, "secret.key"), filepath.Join(restored, "secret.key"))
	q := start(t, restored)
	defer q.stop(t)
	for _, m := range before {
		pending, err := passwordStep(c, q.base, m.email)
		if err != nil {
			t.Fatalf("after restore: %v", err)
		}
		status, body, _, err := send(c, q.base, "POST", "/session/two-factor", pending, map[string]string{"code": totp.Code(m.secret, time.Now().Add(30*time.Second))})
		if err != nil || status != 200 {
			t.Errorf("after restore, %s's code step = %d %v %v; want 200", m.email, status, body, err)
		}
	}
}

// PostgreSQL is backed up with pg_dump and restored with pg_restore into an
// empty database, as docs/operations.md says; the restored database serves
// the accounts, password and code.
func TestPostgresDumpRestores(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	source := pgtest.Database(t)
	p := start(t, t.TempDir(), "TWOFOLD_DATABASE="+source, "TWOFOLD_SECRET_KEY="+testKey)
	c := clientFrom("127.0.0.1")
	m, err := enrollMember(c, p.base, "dumped@example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "twofold.dump")
	if out, err := exec.Command("pg_dump", "--format=custom", "--file", dump, source).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump while serving: %s %v", out, err)
	}
	p.stop(t)

	target := pgtest.Database(t)
	if out, err := exec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname", target, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %s %v", out, err)
	}
	q := start(t, t.TempDir(), "TWOFOLD_DATABASE="+target, "TWOFOLD_SECRET_KEY="+testKey)
	defer q.stop(t)
	pending, err := passwordStep(c, q.base, m.email)
	if err != nil {
		t.Fatalf("after restore: %v", err)
	}
	status, body, _, err := send(c, q.base, "POST", "/session/two-factor", pending, map[string]string{"code": totp.Code(m.secret, time.Now().Add(30*time.Second))})
	if err != nil || status != 200 {
		t.Errorf("after restore, the code step = %d %v %v; want 200", status, body, err)
	}
	// The restored database is at this binary's schema version: the
	// commands that only read it accept it.
	cmd := exec.Command(binary, "user", "list", "--database", target)
	cmd.Env = append(os.Environ(), "TWOFOLD_SECRET_KEY="+testKey)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), m.email) {
		t.Errorf("user list on the restored database = %s, %v; want %s", out, err, m.email)
	}
}

// testKey is a fixed server key for tests that move a database between
// instances without a key file (base64 of 32 bytes).
const testKey = "dHdvZm9sZC10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
