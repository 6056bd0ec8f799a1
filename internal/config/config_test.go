package config

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	c, err := Load("serve", []string{"--addr", "127.0.0.1:9999"}, env(map[string]string{
		"TWOFOLD_ADDR": "127.0.0.1:7777", "TWOFOLD_DATA_DIR": "/tmp/tf", "TWOFOLD_ISSUER": "Acme Clinic",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" {
		t.Errorf("Addr = %q; want the flag's 127.0.0.1:9999", c.Addr)
	}
	if c.Database != "/tmp/tf/twofold.db" || c.Issuer != "Acme Clinic" || c.BaseURL != "http://127.0.0.1:9999" {
		t.Errorf("Database, Issuer, BaseURL = %q, %q, %q", c.Database, c.Issuer, c.BaseURL)
	}
	if c.Secure() {
		t.Error("Secure() = true for an http base URL")
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load("serve", nil, env(map[string]string{
		"TWOFOLD_ADDR": "nonsense", "TWOFOLD_BASE_URL": "ftp://x", "TWOFOLD_TOTP_SKEW": "x", "TWOFOLD_LOG_FORMAT": "xml",
	}), io.Discard)
	if err == nil {
		t.Fatal("Load succeeded; want errors")
	}
	for _, want := range []string{"addr", "base URL", "TWOFOLD_TOTP_SKEW", "log format"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestPostgresURLIsRedactedForDisplay(t *testing.T) {
	c, err := Load("serve", []string{"--database", "postgres://twofold:s3cret@db:5432/twofold"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.UsesPostgres() || strings.Contains(c.DatabaseForDisplay(), "s3cret") {
		t.Errorf("UsesPostgres = %v, DatabaseForDisplay = %q; want true and no password", c.UsesPostgres(), c.DatabaseForDisplay())
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load("serve", nil, env(map[string]string{"TWOFOLD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ,::1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.TrustedProxies)
	if got != "[10.0.0.0/8 192.0.2.7/32 ::1/128]" {
		t.Errorf("TrustedProxies = %s; want [10.0.0.0/8 192.0.2.7/32 ::1/128]", got)
	}
	if _, err := Load("serve", []string{"--trusted-proxies", "10.0.0.0/8,nonsense"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("Load with a bad proxy = %v; want an error naming it", err)
	}
}

func TestBaseURLReachable(t *testing.T) {
	for base, want := range map[string]bool{
		"http://127.0.0.1:8080":        true,
		"https://accounts.example.com": true,
		"http://[::1]:8080":            true,
		"http://0.0.0.0:8080":          false,
		"http://[::]:8080":             false,
		"http://:8080":                 false,
		"http://127.0.0.1:0":           false,
	} {
		if got := (Config{BaseURL: base}).BaseURLReachable(); got != want {
			t.Errorf("BaseURLReachable(%s) = %v; want %v", base, got, want)
		}
	}
}

// A connection string that is not a postgres:// URL is refused, not taken
// for a SQLite file name, and its password is not repeated in the error.
func TestDatabaseThatIsNeitherPathNorPostgresURL(t *testing.T) {
	for _, db := range []string{"postgress://u:s3cret@db/x", "POSTGRES://u:s3cret@db/x", "host=db user=u password=s3cret dbname=x",
		"not a url:/", "file:twofold.db?_pragma=key(s3cret)", "postgres:/s3cret", "data/\x00s3cret.db", " "} {
		_, err := Load("serve", []string{"--database", db}, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "database") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Load(--database %q) = %v; want a database error without the password", db, err)
		}
	}
}

// Both URL forms PostgreSQL documents select PostgreSQL; plain paths stay SQLite files.
func TestDatabaseForms(t *testing.T) {
	for db, postgres := range map[string]bool{
		"postgres://u:p@db:5432/twofold":                  true,
		"postgresql://u:p@db:5432/twofold?sslmode=verify": true,
		"/var/lib/twofold/twofold.db":                     false,
		"data/twofold.db":                                 false,
		"twofold test.db":                                 false,
		"/srv/tf:prod/twofold.db":                         false,
		"data/a=b/twofold.db":                             false,
	} {
		c, err := Load("serve", []string{"--database", db}, env(nil), io.Discard)
		if err != nil || c.UsesPostgres() != postgres {
			t.Errorf("Load(--database %q) = UsesPostgres %v, %v; want %v, nil", db, c.UsesPostgres(), err, postgres)
		}
	}
}

// The metrics listener is off by default and never the public address.
func TestMetricsAddr(t *testing.T) {
	c, err := Load("serve", nil, env(nil), io.Discard)
	if err != nil || c.MetricsAddr != "" {
		t.Errorf("default MetricsAddr = %q, %v; want off", c.MetricsAddr, err)
	}
	if c, err := Load("serve", nil, env(map[string]string{"TWOFOLD_METRICS_ADDR": "127.0.0.1:9464"}), io.Discard); err != nil || c.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("TWOFOLD_METRICS_ADDR = %q, %v; want 127.0.0.1:9464", c.MetricsAddr, err)
	}
	for _, bad := range []string{"9464", "127.0.0.1:8080"} {
		if _, err := Load("serve", []string{"--metrics-addr", bad}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "metrics addr") {
			t.Errorf("--metrics-addr %q = %v; want a metrics addr error", bad, err)
		}
	}
}

// Each command registers only its own flags: a flag of serve given to
// migrate is an error, not silently ignored.
func TestCommandsTakeOnlyTheirFlags(t *testing.T) {
	if _, err := Load("migrate", []string{"--addr", "127.0.0.1:1"}, env(nil), io.Discard); err == nil {
		t.Error("migrate --addr accepted; want an unknown flag error")
	}
	if _, err := Load("migrate", []string{"--data-dir", "x", "--log-level", "debug"}, env(nil), io.Discard); err != nil {
		t.Errorf("migrate --data-dir --log-level = %v; want accepted", err)
	}
}

// A --data-dir with ":" or "=" in it is a directory like any other.
func TestDataDirWithColonOrEquals(t *testing.T) {
	for _, dir := range []string{"/tmp/tf:prod", "/tmp/a=b", "2026-12-01T10:00", "host=db"} {
		if _, err := Load("migrate", []string{"--data-dir", dir}, env(nil), io.Discard); err != nil {
			t.Errorf("--data-dir %q = %v; want accepted", dir, err)
		}
	}
}
