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
	for _, db := range []string{"postgress://u:s3cret@db/x", "POSTGRES://u:s3cret@db/x", "host=db user=u password=s3cret dbname=x"} {
		_, err := Load("serve", []string{"--database", db}, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "database") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Load(--database %q) = %v; want a database error without the password", db, err)
		}
	}
}
