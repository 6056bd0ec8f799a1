package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// A sign-up link that finished its sign-up shows as used in `outbox list`
// and `outbox show`; one still waiting, and the other messages, do not.
func TestOutboxShowsUsedSignUpLinks(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (env *accounttest.Env, database string)
	}{
		{"sqlite", func(t *testing.T) (*accounttest.Env, string) {
			env := accounttest.New(t)
			return env, env.DBPath
		}},
		{"postgres", func(t *testing.T) (*accounttest.Env, string) {
			dsn := pgtest.Database(t)
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return accounttest.NewOnStore(t, st), dsn
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, database := tt.open(t)
			c := account.Client{IP: "192.0.2.1"}
			const pw = "correct horse battery"
			env.SignUp(t, account.SignUpInput{Name: "Ana", Email: "ana@example.com", Password: pw}, c)
			usedAt := env.Clock.Now()
			env.Clock.Advance(time.Minute)
			if err := env.Service.StartSignUp(t.Context(), account.SignUpInput{Name: "Bo", Email: "bo@example.com", Password: pw}, c); err != nil {
				t.Fatal(err)
			}
			// Someone tries the taken address: its owner gets a notice.
			if err := env.Service.StartSignUp(t.Context(), account.SignUpInput{Name: "Ana", Email: "ana@example.com", Password: pw}, c); err != nil {
				t.Fatal(err)
			}

			run := func(args ...string) string {
				t.Helper()
				var stdout, stderr bytes.Buffer
				args = append(args, "--database", database)
				if code := Run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); code != 0 {
					t.Fatalf("twofold %s = exit %d: %s", strings.Join(args, " "), code, stderr.String())
				}
				return stdout.String()
			}
			list := run("outbox", "list")
			used := "queued; link used " + usedAt.Format("2006-01-02 15:04")
			ana := regexp.MustCompile(`(?m)^(\d+)\s.*ana@example\.com\s+Finish signing up\s+(.*)$`).FindStringSubmatch(list)
			if ana == nil || ana[2] != used {
				t.Errorf("outbox list, Ana's link: %q; want status %q in\n%s", ana, used, list)
			}
			bo := regexp.MustCompile(`(?m)^\d+\s.*bo@example\.com\s+Finish signing up\s+(.*)$`).FindStringSubmatch(list)
			if bo == nil || bo[1] != "queued" {
				t.Errorf("outbox list, Bo's link: %q; want status %q in\n%s", bo, "queued", list)
			}
			if n := strings.Count(list, "link used"); n != 1 {
				t.Errorf("outbox list shows %d used links; want 1:\n%s", n, list)
			}
			if ana == nil {
				return
			}
			shown := run("outbox", "show", ana[1])
			if want := "Status: " + used + " UTC\n"; !strings.Contains(shown, want) {
				t.Errorf("outbox show %s =\n%s\nwant a line %q", ana[1], shown, want)
			}
		})
	}
}
