package main_test

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

// The brief's journey against the real binary through the JSON API: enroll,
// sign in with a code, then with a backup code; neither works twice.
func TestJourneyAgainstRealProcess(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := start(t, data)
	defer p.stop(t)
	c := newClient(t)
	api := p.base + "/api/v1"
	const pw = "correct horse battery"

	if resp, body := postJSON(t, c, api+"/signup", map[string]string{"email": "ana@example.com", "password": pw, "name": "Ana", "mobile_phone": "+61412345678"}); resp.StatusCode != 202 || body["status"] != "confirmation_sent" {
		t.Fatalf("signup = %d %v; want 202 confirmation_sent", resp.StatusCode, body)
	}
	// No SMTP server: the operator reads the link with the CLI and passes it on.
	list, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput()
	m := regexp.MustCompile(`(?m)^(\d+)\s.*ana@example\.com\s+Finish signing up\s+queued$`).FindSubmatch(list)
	if err != nil || m == nil {
		t.Fatalf("outbox list = %s, %v; want the queued sign-up link to ana@example.com", list, err)
	}
	shown, err := exec.Command(binary, "outbox", "show", string(m[1]), "--data-dir", data).CombinedOutput()
	link, found := accounttest.LinkToken(string(shown))
	if err != nil || !found {
		t.Fatalf("outbox show %s = %s, %v; want the message with its link", m[1], shown, err)
	}
	if out, err := exec.Command(binary, "outbox", "show", "999999", "--data-dir", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "no message 999999") {
		t.Errorf("outbox show of a missing ID = %s, %v; want an error naming it", out, err)
	}
	if resp, body := postJSON(t, c, api+"/signup/confirm", map[string]string{"token": link, "password": pw}); resp.StatusCode != 201 {
		t.Fatalf("signup confirm = %d %v; want 201", resp.StatusCode, body)
	}
	resp, setup := postJSON(t, c, api+"/me/two-factor/setup", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("setup = %d %v", resp.StatusCode, setup)
	}
	secret, err := totp.DecodeSecret(setup["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// Codes are single-use per 30-second step: the sign-in below sends the
	// step after the one enable used (freshCode), as the ±1 step skew allows.
	enabledAt := time.Now()
	if resp, body := postJSON(t, c, api+"/me/two-factor/enable", map[string]string{"code": totp.Code(secret, enabledAt)}); resp.StatusCode != 200 {
		t.Fatalf("enable = %d %v", resp.StatusCode, body)
	}
	resp, backup := postJSON(t, c, api+"/me/backup-codes", nil)
	if resp.StatusCode != 201 {
		t.Fatalf("backup codes = %d %v", resp.StatusCode, backup)
	}
	codes := backup["codes"].([]any)

	signIn := func() *http.Client {
		t.Helper()
		c := newClient(t)
		resp, body := postJSON(t, c, api+"/session", map[string]string{"email": "ana@example.com", "password": pw})
		if resp.StatusCode != 200 || body["status"] != "two_factor_required" {
			t.Fatalf("password step = %d %v; want two_factor_required", resp.StatusCode, body)
		}
		return c
	}
	code, _ := freshCode(secret, totp.Step(enabledAt))
	if resp, body := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": code}); resp.StatusCode != 200 {
		t.Fatalf("code step = %d %v", resp.StatusCode, body)
	}
	if resp, _ := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": code}); resp.StatusCode != 401 {
		t.Errorf("same TOTP code again = %d; want 401", resp.StatusCode)
	}
	if resp, body := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": codes[0].(string)}); resp.StatusCode != 200 {
		t.Errorf("backup code = %d %v; want 200", resp.StatusCode, body)
	}
	if resp, _ := postJSON(t, signIn(), api+"/session/two-factor", map[string]string{"code": codes[0].(string)}); resp.StatusCode != 401 {
		t.Errorf("same backup code again = %d; want 401", resp.StatusCode)
	}
	// Without SMTP, the notifications wait in the outbox, where the operator sees them.
	out, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput()
	for _, want := range []string{"2 factor authentication is on", "New backup codes were generated", "A backup code was used to sign in", "queued"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("outbox list = %s, %v; want a line with %q", out, err, want)
		}
	}
}

// The commands that only use a database (user, outbox, bench) create
// nothing: pointed at a directory with no database they say so, exit
// non-zero and leave the directory as it was, without a database or a
// server key (issue 10: a mistyped --data-dir used to get a fresh empty
// database, a new key and an empty answer).
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, args := range [][]string{
		{"user", "list"},
		{"user", "reset-2fa", "ana@example.com"},
		{"outbox", "list"},
		{"outbox", "show", "1"},
		{"bench", "--url", "http://127.0.0.1:1", "--duration", "1s"},
	} {
		out, err := exec.Command(binary, append(args, "--data-dir", data)...).CombinedOutput()
		want := "no twofold database at " + filepath.Join(data, "twofold.db") + ": start `twofold serve` there, or pass --data-dir / --database"
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("twofold %s in an empty directory = %v, %q; want a failure saying %q", strings.Join(args, " "), err, out, want)
		}
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Fatalf("twofold %s left %d files in an empty directory (%s, …)", strings.Join(args, " "), len(entries), entries[0].Name())
		}
	}
}

// The same on an empty PostgreSQL database: refused, and nothing created
// in it (not even goose's version table).
func TestReadOnlyCommandsCreateNothingOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Database(t)
	cmd := exec.Command(binary, "user", "list")
	cmd.Env = append(os.Environ(), "TWOFOLD_DATABASE="+dsn, "TWOFOLD_DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no twofold database at postgres://") {
		t.Errorf("user list on an empty PostgreSQL database = %v, %q; want a failure saying there is no twofold database", err, out)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("user list created %d tables in an empty PostgreSQL database", tables)
	}
}

// A database at another schema version is refused by those commands, and
// left as it is: only migrate (or serve) upgrades it.
func TestReadOnlyCommandsRefuseAnotherSchemaVersion(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if out, err := exec.Command(binary, "migrate", "--data-dir", data).CombinedOutput(); err != nil {
		t.Fatalf("migrate = %s, %v", out, err)
	}
	// migrate creates the database, not the key: serve does that.
	if _, err := os.Stat(filepath.Join(data, "secret.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("migrate left a key file (stat: %v)", err)
	}
	db := filepath.Join(data, "twofold.db")
	exec1 := func(query string) {
		t.Helper()
		st, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Exec(query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	// Back to the schema before the newest migration, as an older twofold
	// left it: the newest migration's Down section, then its version row.
	files, err := filepath.Glob(filepath.Join("..", "..", "internal", "store", "sqlite", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	newest := files[len(files)-1]
	version := func(file string) int {
		t.Helper()
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(file), "_", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	latest := version(newest)
	body, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	_, down, ok := strings.Cut(string(body), "-- +goose Down")
	if !ok {
		t.Fatalf("%s has no Down section", newest)
	}
	for _, stmt := range strings.Split(down, ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			exec1(stmt)
		}
	}
	exec1(fmt.Sprintf(`DELETE FROM goose_db_version WHERE version_id = %d`, latest))
	older := version(files[len(files)-2]) // numbers may have gaps
	out, err := exec.Command(binary, "user", "list", "--data-dir", data).CombinedOutput()
	if want := fmt.Sprintf("database schema is version %d, this twofold needs %d: run `twofold migrate`", older, latest); err == nil || !strings.Contains(string(out), want) {
		t.Errorf("user list on schema %d = %v, %q; want a failure saying %q", older, err, out, want)
	}
	if out, err := exec.Command(binary, "migrate", "--data-dir", data).CombinedOutput(); err != nil {
		t.Fatalf("migrate from %d = %s, %v", older, out, err)
	}
	if out, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput(); err != nil {
		t.Errorf("outbox list after migrate = %s, %v; want it to work", out, err)
	}
	// A newer twofold's schema.
	exec1(fmt.Sprintf(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (%d, 1)`, latest+1))
	out, err = exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput()
	if want := fmt.Sprintf("database schema is version %d, this twofold needs %d", latest+1, latest); err == nil || !strings.Contains(string(out), want) {
		t.Errorf("outbox list on schema %d = %v, %q; want a failure saying %q", latest+1, err, out, want)
	}
}
