package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/notify"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// `outbox list` names each message's channel; `outbox show` prints a
// waiting text with its body and no subject, and a sent one without its
// body, which the outbox no longer holds.
func TestOutboxListsTextMessages(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (st store, database string)
	}{
		{"sqlite", func(t *testing.T) (store, string) {
			path := filepath.Join(t.TempDir(), "twofold.db")
			st, err := accounttest.OpenSQLite(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, path
		}},
		{"postgres", func(t *testing.T) (store, string) {
			dsn := pgtest.Database(t)
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, dsn
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			st, database := tt.open(t)
			w := autocommit.Wrap(st)
			u := &account.User{Email: "ana@example.com", Name: "Ana", MobilePhone: "+61412345678", PasswordHash: "h", CreatedAt: time.Now()}
			if err := w.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			mail := &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventPasswordChanged, Subject: "Your password was changed", Body: "Hello Ana", CreatedAt: time.Now()}
			waiting := &account.Notification{UserID: u.ID, Channel: account.ChannelSMS, Recipient: u.MobilePhone, Kind: "phone_verification", Body: "code 111111", CreatedAt: time.Now()}
			sent := &account.Notification{UserID: u.ID, Channel: account.ChannelSMS, Recipient: u.MobilePhone, Kind: "phone_verification", Body: "code 222222", CreatedAt: time.Now()}
			refused := &account.Notification{UserID: u.ID, Channel: account.ChannelSMS, Recipient: "+61499999999", Kind: "phone_verification", Body: "code 333333", CreatedAt: time.Now()}
			for _, n := range []*account.Notification{mail, waiting, sent, refused} {
				if err := w.AddNotification(ctx, n); err != nil {
					t.Fatal(err)
				}
			}
			claimed, err := st.ClaimNotifications(ctx, time.Now(), time.Now().Add(-time.Minute), 10, notify.MaxAttempts, []account.Channel{account.ChannelSMS})
			if err != nil || len(claimed) != 3 {
				t.Fatalf("ClaimNotifications = %d, %v", len(claimed), err)
			}
			if err := st.MarkNotificationSent(ctx, sent.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := st.MarkNotificationFailed(ctx, waiting.ID, "twilio: HTTP 500, error 0: Internal Server Error"); err != nil {
				t.Fatal(err)
			}
			if err := st.GiveUpNotification(ctx, refused.ID, "not retried after attempt 1: twilio: HTTP 400, error 21211", notify.MaxAttempts); err != nil {
				t.Fatal(err)
			}

			run := func(args ...string) string {
				t.Helper()
				var stdout, stderr bytes.Buffer
				args = append(args, "--database", database)
				if code := Run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); code != 0 {
					t.Fatalf("twofold %s = exit %d: %s", strings.Join(args, " "), code, stderr.String())
				}
				return stdout.String()
			}
			list := run("outbox", "list")
			for _, want := range []string{
				`(?m)^ID\s+QUEUED \(UTC\)\s+CHANNEL\s+TO\s+SUBJECT\s+STATUS$`,
				`(?m)^\d+\s+\S+ \S+\s+email\s+ana@example\.com\s+Your password was changed\s+queued$`,
				`(?m)^\d+\s+\S+ \S+\s+sms\s+\+61412345678\s+queued \(1 attempts; last error: twilio: HTTP 500`,
				`(?m)^\d+\s+\S+ \S+\s+sms\s+\+61412345678\s+sent \S+ \S+$`,
				`(?m)^\d+\s+\S+ \S+\s+sms\s+\+61499999999\s+given up \(last error: not retried after attempt 1: twilio: HTTP 400, error 21211\)$`,
			} {
				if !regexp.MustCompile(want).MatchString(list) {
					t.Errorf("outbox list =\n%s\nwant a line matching %s", list, want)
				}
			}
			shown := run("outbox", "show", itoa(waiting.ID))
			if !strings.HasPrefix(shown, "To: +61412345678\nChannel: sms\nQueued: ") || !strings.Contains(shown, "last error: twilio: HTTP 500") || !strings.HasSuffix(shown, "\n\ncode 111111") {
				t.Errorf("outbox show of a waiting text =\n%s\nwant its number, channel, error and body, no subject", shown)
			}
			shown = run("outbox", "show", itoa(sent.ID))
			if strings.Contains(shown, "222222") || !strings.Contains(shown, "Status: sent ") || !strings.Contains(shown, "removed from the outbox when it was sent") {
				t.Errorf("outbox show of a sent text =\n%s\nwant it sent, its body gone", shown)
			}
			if shown := run("outbox", "show", itoa(mail.ID)); !strings.Contains(shown, "Channel: email\nSubject: Your password was changed\n") {
				t.Errorf("outbox show of a mail =\n%s\nwant its channel and subject", shown)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
