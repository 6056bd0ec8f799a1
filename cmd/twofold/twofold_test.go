package main_test

// Whole-system tests: the real binary, a real SQLite file, real HTTP.
//
// Every test but the timing one (enumeration_test.go) calls t.Parallel:
// each starts its own servers, on their own ports and databases, and
// plays its clients from its own loopback addresses where throttles count
// them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/sqlite"
)

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests spend most of their time waiting on the servers they start.
	accounttest.MoreParallel(3)
	dir, err := os.MkdirTemp("", "twofold-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "twofold")
	build := exec.Command("go", append(append([]string{"build"}, accounttest.RaceBuildFlags...), "-o", binary, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build twofold:", err)
		os.Exit(1)
	}
	// The servers and commands the tests start are the race build: see
	// ChildGORACE for the two options that make them faster.
	os.Setenv("GORACE", accounttest.ChildGORACE(os.Getenv("GORACE")))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type process struct {
	cmd      *exec.Cmd
	base     string
	logs     *accounttest.LogBuffer // written by the goroutine reading its stderr
	done     chan error
	database string // the SQLite file or PostgreSQL URL it serves from
	metrics  string // http://host:port of its metrics listener, when it has one
	setupURL string // the first administrator's setup link, when it logged one
}

// databases maps each started instance's base URL to its database, where
// the tests read what it mailed (no SMTP is configured: messages wait in
// the outbox, as `twofold outbox list` shows operators).
var databases sync.Map

// openDatabase opens the database an instance serves from (a SQLite file
// or a PostgreSQL URL) as it is, beside the running server.
func openDatabase(ctx context.Context, dsn string) (accounttest.Store, error) {
	if strings.HasPrefix(dsn, "postgres") {
		s, err := postgres.OpenExisting(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.OpenExisting(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// outboxOf returns a store on the database the instance at base serves
// from, to read what it mailed, and what to call when done with it. A
// SQLite database's store is opened once and kept until the test that
// started the instance ends (start closes it): opening one prepares every
// statement it writes with, which under -race took longer than the
// sign-up it was opened for. A PostgreSQL one is opened each time: cheap,
// and a pool kept open would hold connections to databases the tests drop.
func outboxOf(base string) (accounttest.Store, func(), error) {
	db, ok := databases.Load(base)
	if !ok {
		return nil, nil, fmt.Errorf("no instance started at %s", base)
	}
	dsn := db.(string)
	if strings.HasPrefix(dsn, "postgres") {
		s, err := openDatabase(context.Background(), dsn)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	v, _ := outboxes.LoadOrStore(dsn, &sharedStore{})
	shared := v.(*sharedStore)
	shared.once.Do(func() { shared.store, shared.err = openDatabase(context.Background(), dsn) })
	if shared.err != nil {
		outboxes.CompareAndDelete(dsn, shared) // the next call tries again
		return nil, nil, shared.err
	}
	return shared.store, func() {}, nil
}

// outboxes maps a SQLite database's path to its sharedStore.
var outboxes sync.Map

type sharedStore struct {
	once  sync.Once
	store accounttest.Store
	err   error
}

// closeOutbox closes the store outboxOf kept for the database at dsn.
func closeOutbox(dsn string) {
	if v, ok := outboxes.LoadAndDelete(dsn); ok {
		if shared := v.(*sharedStore); shared.store != nil {
			shared.store.Close()
		}
	}
}

// mailedSignUpToken returns the token of the newest sign-up link the
// instance at base mailed to email.
func mailedSignUpToken(base, email string) (string, error) {
	ctx := context.Background()
	outbox, done, err := outboxOf(base)
	if err != nil {
		return "", err
	}
	defer done()
	token, ok, err := accounttest.SignUpToken(ctx, outbox, email)
	if err == nil && !ok {
		err = fmt.Errorf("no sign-up link was mailed to %s", email)
	}
	return token, err
}

// signUp signs up as a person does: POST /signup (202), the link mailed to
// the address, then POST /signup/confirm with the same password (201,
// signed in). It returns the confirmation's answer and session token, and
// errors rather than failing, so goroutines can call it.
func signUp(c *http.Client, base string, form map[string]string) (int, map[string]any, string, error) {
	status, body, _, err := sendPatiently(c, base, "POST", "/signup", "", form)
	if err != nil {
		return 0, nil, "", err
	}
	if status != http.StatusAccepted {
		return status, body, "", fmt.Errorf("signup %s = %d %v; want 202", form["email"], status, body)
	}
	token, err := mailedSignUpToken(base, form["email"])
	if err != nil {
		return 0, nil, "", err
	}
	return sendPatiently(c, base, "POST", "/signup/confirm", "", map[string]string{"token": token, "password": form["password"]})
}

// mustSignUp is signUp for the test's goroutine: anything but 201 fails it.
func mustSignUp(t *testing.T, c *http.Client, base string, form map[string]string) string {
	t.Helper()
	status, body, token, err := signUp(c, base, form)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("sign up %s = %d %v %v; want 201", form["email"], status, body, err)
	}
	return token
}

var (
	listening      = regexp.MustCompile(`twofold is listening"? addr=(\S+)`)
	metricsServed  = regexp.MustCompile(`metrics are served"? addr=(\S+)`)
	setupLinkShown = regexp.MustCompile(`setup_url="?([^"\s]+)`)
)

// start runs `twofold serve` on a free loopback port with dataDir.
func start(t *testing.T, dataDir string, extraEnv ...string) *process {
	t.Helper()
	return startBuild(t, binary, dataDir, extraEnv...)
}

// startBuild is start for another build of twofold (bin).
func startBuild(t *testing.T, bin, dataDir string, extraEnv ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	// Most tests sign people up on their own: open sign-up, unless the
	// test passes TWOFOLD_SIGNUP=invite (the product's default).
	cmd.Env = append(append(os.Environ(), "TWOFOLD_SIGNUP=open"), extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &accounttest.LogBuffer{}, done: make(chan error, 1), database: filepath.Join(dataDir, "twofold.db")}
	for _, kv := range extraEnv {
		if db, ok := strings.CutPrefix(kv, "TWOFOLD_DATABASE="); ok {
			p.database = db
		}
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if m := setupLinkShown.FindStringSubmatch(line); m != nil {
				p.setupURL = m[1] // logged before listening, too
			}
			if m := metricsServed.FindStringSubmatch(line); m != nil {
				p.metrics = "http://" + m[1] // logged before listening: read after addr
			}
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		closeOutbox(p.database)
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
		databases.Store(p.base, p.database)
	case err := <-p.done:
		t.Fatalf("twofold exited before listening: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("twofold did not start within 30s\n%s", p.logs)
	}
	return p
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("twofold exited with %v after SIGTERM; want 0\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("twofold did not stop within 30s of SIGTERM")
	}
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func postJSON(t *testing.T, c *http.Client, url string, body any) (*http.Response, map[string]any) {
	t.Helper()
	if body == nil {
		body = struct{}{}
	}
	b, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp, m
}

func TestServeSurvivesRestartAndStopsGracefully(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// A data directory the operator made readable by everyone: the files
	// in it must not be.
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	p := start(t, data)
	resp, err := http.Get(p.base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %v, %v", resp, err)
	}
	resp.Body.Close()
	info, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil {
		t.Fatalf("no key file created in the data dir: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %o; want 600", info.Mode().Perm())
	}
	mustSignUp(t, newClient(t), p.base, map[string]string{"email": "ana@example.com", "password": "correct horse battery", "name": "Ana"})
	for _, name := range []string{"twofold.db", "twofold.db-wal", "twofold.db-shm"} {
		info, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %o; want 600", name, info.Mode().Perm())
		}
	}
	p.stop(t)
	if strings.Contains(p.logs.String(), "correct horse battery") {
		t.Error("the password appears in the logs")
	}

	p = start(t, data)
	resp, body := postJSON(t, newClient(t), p.base+"/api/v1/session", map[string]string{"email": "ana@example.com", "password": "correct horse battery"})
	if resp.StatusCode != 200 || body["status"] != "authenticated" {
		t.Errorf("sign-in after restart = %d %v; want 200 authenticated", resp.StatusCode, body)
	}
	// A cross-site form post is refused before it reaches a handler.
	req, _ := http.NewRequest("POST", p.base+"/api/v1/session", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST status = %d; want 403", resp.StatusCode)
	}
	p.stop(t)

	out, err := exec.Command(binary, "user", "list", "--data-dir", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ana@example.com") {
		t.Errorf("user list = %s, %v; want ana@example.com listed", out, err)
	}
	out, err = exec.Command(binary, "user", "reset-2fa", "nobody@example.com", "--data-dir", data).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no account") {
		t.Errorf("reset-2fa of an unknown email = %s, %v; want a clear failure", out, err)
	}
}

// Asking for help is not an error: each command's --help prints its own
// flags, and the environment variables it reads that have no flag, and
// exits 0. A command's help shows no flag of another (issue 10).
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	serveOnly := []string{"-addr", "-base-url", "-issuer", "-totp-skew", "-metrics-addr", "-trusted-proxies", "-hash-concurrency"}
	for _, tc := range []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"serve", "--help"}, []string{"-addr", "-metrics-addr", "-database", "postgres://", "postgresql://", "TWOFOLD_SMTP_URL", "TWOFOLD_SECRET_KEY", "TWOFOLD_TWILIO_ACCOUNT_SID", "TWOFOLD_TWILIO_AUTH_TOKEN_FILE", "TWOFOLD_TWILIO_API_URL"}, nil},
		{[]string{"migrate", "-h"}, []string{"-database", "-data-dir"}, append([]string{"TWOFOLD_SMTP_URL", "TWOFOLD_SECRET_KEY", "TWOFOLD_TWILIO_ACCOUNT_SID"}, serveOnly...)},
		{[]string{"user", "list", "--help"}, []string{"-data-dir", "TWOFOLD_SECRET_KEY"}, append([]string{"TWOFOLD_SMTP_URL"}, serveOnly...)},
		{[]string{"user", "reset-2fa", "--help"}, []string{"reset-2fa EMAIL", "-database"}, serveOnly},
		{[]string{"outbox", "list", "--help"}, []string{"-data-dir"}, append([]string{"TWOFOLD_SMTP_URL", "TWOFOLD_SECRET_KEY"}, serveOnly...)},
		{[]string{"outbox", "show", "--help"}, []string{"show ID", "-data-dir"}, serveOnly},
		{[]string{"backup", "--help"}, []string{"backup FILE", "-data-dir"}, serveOnly},
		{[]string{"bench", "--help"}, []string{"-"}, nil},
		{[]string{"help"}, []string{"backup FILE", "serve"}, nil},
	} {
		out, err := exec.Command(binary, tc.args...).CombinedOutput()
		if err != nil {
			t.Errorf("twofold %s = %v, %q; want exit 0 and the help", strings.Join(tc.args, " "), err, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("twofold %s does not mention %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(string(out), w+" ") || strings.Contains(string(out), w+"\n") {
				t.Errorf("twofold %s lists %q, which it does not use:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

// A --database that is neither a plain file path nor a postgres:// or
// postgresql:// URL is refused, and no file appears in the current
// directory (it used to become a SQLite file named after the value).
func TestDatabaseNeitherPathNorURLCreatesNothing(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"not a url:/", "postgress://u@db/x", "file:twofold.db?mode=rwc"} {
		dir := t.TempDir()
		cmd := exec.Command(binary, "migrate", "--database", db)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "postgresql://") {
			t.Errorf("migrate --database %q = %v, %s; want a refusal naming both URL forms", db, err, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("migrate --database %q left %v in the current directory; want nothing", db, entries)
		}
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "serve", "--addr", "nonsense", "--base-url", "ftp://x").CombinedOutput()
	if err == nil {
		t.Fatal("serve with a bad config succeeded")
	}
	for _, want := range []string{"addr", "base URL"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q does not mention %q", out, want)
		}
	}
}
