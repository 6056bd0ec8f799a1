package main_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/twofold/twofold/internal/bench"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// TestBenchSmoke proves `twofold bench` works end to end against the real
// server: it seeds through the store with the server's key, signs in,
// drives every scenario briefly at low concurrency, and reports valid JSON
// with no error. No timing is judged here; docs/performance.md has the
// figures.
//
// The code scenario runs at 20 a second, so that 30 users last its second:
// each user's password step is done before it starts, and the server
// upgrades the users' cheap hashes to the real cost as they sign in (one
// argon2id hash each, 200 took 25 s here).
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
			data := t.TempDir()
			env := []string{"TWOFOLD_SECRET_KEY=" + key, "TWOFOLD_TRUSTED_PROXIES=127.0.0.0/8"}
			scenarios := "me:4,forward:4,signin:2,code:4@20,password:4"
			if backend == "postgres" {
				env = append(env, "TWOFOLD_DATABASE="+pgtest.Database(t))
				scenarios = "me:4,forward:4,code:4@20"
			}
			p := start(t, data, env...)
			out := filepath.Join(t.TempDir(), "report.json")
			cmd := exec.Command(binary, "bench", "--url", p.base, "--data-dir", data,
				"--server-pid", strconv.Itoa(p.cmd.Process.Pid), "--scenarios", scenarios,
				"--duration", "1s", "--users", "30", "--hash-samples", "1", "--json", out)
			cmd.Env = append(os.Environ(), env...)
			output, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("twofold bench: %v\n%s\nserver log:\n%s", err, output, p.logs)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep bench.Report
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatalf("bench JSON does not parse: %v\n%s", err, raw)
			}
			if rep.Database != backend {
				t.Errorf("report database = %q; want %q", rep.Database, backend)
			}
			if rep.HashBound.PerSecond <= 0 {
				t.Errorf("hash bound = %+v; want a positive rate", rep.HashBound)
			}
			want := map[string]bool{"me/baseline": true, "me/twofold": true, "forward/baseline": true, "forward/twofold": true, "code/twofold": true}
			if backend == "sqlite" {
				want["signin/twofold"], want["password/twofold"] = true, true
			}
			for _, r := range rep.Results {
				name := r.Scenario + "/" + r.Target
				delete(want, name)
				if r.Completed == 0 || r.Errors != 0 {
					t.Errorf("%s: %d completed, %d errors %v; want some and none\n%s", name, r.Completed, r.Errors, r.ErrorsBy, output)
				}
				if r.Target == "twofold" && (r.ServerRSS == nil || r.ServerRSS.PeakMB <= 0) {
					t.Errorf("%s: server RSS = %+v; want the peak of pid %d", name, r.ServerRSS, p.cmd.Process.Pid)
				}
			}
			for name := range want {
				t.Errorf("no result for %s in the report\n%s", name, output)
			}
			if len(rep.Checks) == 0 {
				t.Errorf("the report judges no target\n%s", output)
			}
		})
	}
}
