package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// outboxSender is what both stores offer the outbox worker (notify.Store).
type outboxSender interface {
	ClaimNotifications(ctx context.Context, now, staleBefore time.Time, limit, maxAttempts int, channels []account.Channel) ([]*account.Notification, error)
	MarkNotificationSent(ctx context.Context, id int64, now time.Time) error
	MarkNotificationFailed(ctx context.Context, id int64, reason string) error
	GiveUpNotification(ctx context.Context, id int64, reason string, maxAttempts int) error
	Notification(ctx context.Context, id int64) (*account.Notification, error)
	OutboxBacklog(ctx context.Context, maxAttempts int) ([]account.OutboxBacklog, error)
}

// testOutboxChannels: a message keeps its channel; a claim takes only the
// channels asked for (a sender without Twilio never takes a text, one
// without SMTP never takes a mail); a text's body is blanked once sent; a
// message given up is never claimed again.
func testOutboxChannels(t *testing.T, open Opener) {
	s, _ := open(t)
	o, ok := s.(outboxSender)
	if !ok {
		t.Fatal("the store cannot send its outbox")
	}
	u := newUser(t, s, "ana@example.com")
	mail := &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventTwoFactorEnabled, Subject: "s", Body: "mail body", CreatedAt: t0}
	text := &account.Notification{UserID: u.ID, Channel: account.ChannelSMS, Recipient: phone, Kind: account.EventKind("phone_verification"), Body: "code 123456", CreatedAt: t0}
	text2 := &account.Notification{UserID: u.ID, Channel: account.ChannelSMS, Recipient: phone, Kind: account.EventKind("phone_verification"), Body: "code 654321", CreatedAt: t0}
	for _, n := range []*account.Notification{mail, text, text2} {
		if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.AddNotification(ctx, n) }); err != nil {
			t.Fatalf("AddNotification(%s) = %v", n.Channel, err)
		}
	}
	if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		return tx.AddNotification(ctx, &account.Notification{UserID: u.ID, Channel: account.Channel(7), Recipient: "x", Kind: "k", CreatedAt: t0})
	}); err == nil {
		t.Error("AddNotification with an unknown channel = nil; want an error")
	}
	channels := map[int64]account.Channel{}
	for _, m := range outbox(t, s) {
		channels[m.ID] = m.Channel
	}
	if channels[mail.ID] != account.ChannelEmail || channels[text.ID] != account.ChannelSMS || len(channels) != 3 {
		t.Errorf("outbox channels = %v; want %d email, %d and %d sms", channels, mail.ID, text.ID, text2.ID)
	}

	backlog := func(want string) {
		t.Helper()
		b, err := o.OutboxBacklog(ctx, 3)
		if err != nil {
			t.Fatalf("OutboxBacklog = %v", err)
		}
		got := ""
		for _, c := range b {
			got += fmt.Sprintf("%s: %d queued, %d given up, oldest %v; ", c.Channel, c.Queued, c.GivenUp, !c.Oldest.IsZero())
		}
		if got != want {
			t.Errorf("OutboxBacklog = %s\nwant %s", got, want)
		}
	}
	backlog("email: 1 queued, 0 given up, oldest true; sms: 2 queued, 0 given up, oldest true; ")

	claim := func(channels ...account.Channel) []*account.Notification {
		t.Helper()
		got, err := o.ClaimNotifications(ctx, t0, t0.Add(-5*time.Minute), 50, 3, channels)
		if err != nil {
			t.Fatalf("ClaimNotifications(%v) = %v", channels, err)
		}
		return got
	}
	if got := claim(); len(got) != 0 {
		t.Errorf("ClaimNotifications(no channels) = %d messages; want none", len(got))
	}
	got := claim(account.ChannelSMS)
	if len(got) != 2 || got[0].ID != text.ID || got[0].Channel != account.ChannelSMS || got[0].Recipient != phone || got[0].Body != "code 123456" || got[0].Subject != "" {
		t.Fatalf("ClaimNotifications(sms) = %+v; want texts %d and %d, as queued", got, text.ID, text2.ID)
	}
	if m, err := o.Notification(ctx, mail.ID); err != nil || m.Attempts != 0 {
		t.Errorf("mail after a claim of texts = %+v, %v; want it untouched (0 attempts)", m, err)
	}

	if err := o.MarkNotificationSent(ctx, text.ID, t0); err != nil {
		t.Fatal(err)
	}
	if m, err := o.Notification(ctx, text.ID); err != nil || m.SentAt.IsZero() || m.Body != "" || m.Recipient != phone {
		t.Errorf("text after MarkNotificationSent = %+v, %v; want it sent, its body blanked", m, err)
	}
	if err := o.GiveUpNotification(ctx, text2.ID, "not retried after attempt 1: twilio: HTTP 400, error 21211", 3); err != nil {
		t.Fatal(err)
	}
	if m, err := o.Notification(ctx, text2.ID); err != nil || !m.SentAt.IsZero() || m.Attempts != 3 || m.LastError != "not retried after attempt 1: twilio: HTTP 400, error 21211" || m.Body != "code 654321" {
		t.Errorf("text after GiveUpNotification = %+v, %v; want it unsent, all 3 attempts spent, its error kept", m, err)
	}
	if got := claim(account.ChannelSMS); len(got) != 0 {
		t.Errorf("ClaimNotifications(sms) after one sent and one given up = %+v; want none", got)
	}
	backlog("email: 1 queued, 0 given up, oldest true; sms: 0 queued, 1 given up, oldest false; ")

	got = claim(account.ChannelEmail, account.ChannelSMS)
	if len(got) != 1 || got[0].ID != mail.ID || got[0].Channel != account.ChannelEmail {
		t.Fatalf("ClaimNotifications(email, sms) = %+v; want mail %d alone", got, mail.ID)
	}
	if err := o.MarkNotificationSent(ctx, mail.ID, t0); err != nil {
		t.Fatal(err)
	}
	if m, err := o.Notification(ctx, mail.ID); err != nil || m.Body != "mail body" {
		t.Errorf("mail after MarkNotificationSent = %+v, %v; want its body kept", m, err)
	}
	backlog("email: 0 queued, 0 given up, oldest false; sms: 0 queued, 1 given up, oldest false; ")
}
