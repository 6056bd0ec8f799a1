// Package notify delivers the security notifications that the account
// service queues in the outbox table: emails through SMTP when
// TWOFOLD_SMTP_URL is set, text messages (SMS) through Twilio when
// TWOFOLD_TWILIO_ACCOUNT_SID is. Each channel without its sender stays in
// the outbox (and in the log, where the service notes each message),
// readable with `twofold outbox list`, so nothing is silently dropped.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// Store is the outbox as the sender needs it.
type Store interface {
	ClaimNotifications(ctx context.Context, now, staleBefore time.Time, limit, maxAttempts int, channels []account.Channel) ([]*account.Notification, error)
	MarkNotificationSent(ctx context.Context, id int64, now time.Time) error
	MarkNotificationFailed(ctx context.Context, id int64, reason string) error
	GiveUpNotification(ctx context.Context, id int64, reason string, maxAttempts int) error
}

// Mailer sends one plain-text message.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// SMTPMailer sends through one SMTP server.
type SMTPMailer struct {
	addr        string // host:port
	host        string
	from        string
	auth        smtp.Auth
	implicitTLS bool
}

// ParseSMTPURL reads smtp://[user:password@]host[:port]?from=addr (STARTTLS
// when the server offers it; port 587 by default) or smtps://… (TLS from the
// start; port 465 by default).
func ParseSMTPURL(raw string) (*SMTPMailer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("smtp url: not a URL")
	}
	m := &SMTPMailer{host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		m.addr = net.JoinHostPort(m.host, portOr(u.Port(), "587"))
	case "smtps":
		m.implicitTLS = true
		m.addr = net.JoinHostPort(m.host, portOr(u.Port(), "465"))
	default:
		return nil, fmt.Errorf("smtp url: scheme %q: want smtp or smtps", u.Scheme)
	}
	if m.host == "" {
		return nil, errors.New("smtp url: missing host")
	}
	from, err := mail.ParseAddress(u.Query().Get("from"))
	if err != nil {
		return nil, errors.New("smtp url: want a sender address as ?from=twofold@example.com")
	}
	m.from = from.Address
	if u.User != nil {
		pw, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pw, m.host)
	}
	return m, nil
}

func portOr(port, def string) string {
	if port == "" {
		return def
	}
	return port
}

// Send implements Mailer.
func (m *SMTPMailer) Send(ctx context.Context, to, subject, body string) error {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	if m.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: &tls.Config{ServerName: m.host}}).DialContext(ctx, "tcp", m.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", m.addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", m.addr, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	} else {
		conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !m.implicitTLS {
		if err := c.StartTLS(&tls.Config{ServerName: m.host}); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(message(m.from, to, subject, body)); err != nil {
		return fmt.Errorf("smtp: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: end of message: %w", err)
	}
	return c.Quit()
}

// message renders a plain-text UTF-8 email with CRLF line endings.
func message(from, to, subject, body string) []byte {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\n")
	b.WriteString("To: " + to + "\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

// MaxAttempts is how many times a message is tried before it is given up
// (it stays in the outbox for the operator).
const MaxAttempts = 10

// Sender moves queued notifications from the outbox to a Mailer (emails)
// and a TextSender (SMS). Several instances may run one each: a message is
// claimed before it is sent. A channel whose sender is nil is never
// claimed: its messages wait in the outbox, as they do on an instance that
// sends nothing.
type Sender struct {
	Store       Store
	Mailer      Mailer     // nil: emails stay queued
	Texts       TextSender // nil: text messages stay queued
	Log         *slog.Logger
	Now         func() time.Time
	MaxAttempts int
	// Observer hears each message sent and each failed attempt, by kind
	// (never by recipient), for metrics; nil for none.
	Observer Observer

	wakeOnce sync.Once
	wake     chan struct{}
}

func (s *Sender) wakeup() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

// Wake makes Run deliver now rather than at its next round: a message was
// queued that someone is waiting for (a texted code, a sign-up link). It
// never blocks; wakes while a round runs fold into one more round.
func (s *Sender) Wake() {
	select {
	case s.wakeup() <- struct{}{}:
	default:
	}
}

// Observer is told about deliveries, for metrics.
type Observer interface {
	Sent(kind string)
	Failed(kind string)
}

// Channels are the channels s delivers: those with a sender.
func (s *Sender) Channels() []account.Channel {
	var out []account.Channel
	if s.Mailer != nil {
		out = append(out, account.ChannelEmail)
	}
	if s.Texts != nil {
		out = append(out, account.ChannelSMS)
	}
	return out
}

// DeliverPending sends what is queued, one batch, and returns how many went out.
func (s *Sender) DeliverPending(ctx context.Context) (int, error) {
	channels := s.Channels()
	if len(channels) == 0 {
		return 0, nil
	}
	now := s.Now()
	maxAttempts := max(s.MaxAttempts, 1)
	// A claim older than five minutes belonged to an instance that died mid-send.
	batch, err := s.Store.ClaimNotifications(ctx, now, now.Add(-5*time.Minute), 50, maxAttempts, channels)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, n := range batch {
		if err := s.send(ctx, n); err != nil {
			if s.Observer != nil {
				s.Observer.Failed(string(n.Kind))
			}
			if permanent(err) {
				s.Log.ErrorContext(ctx, "notification not sent; given up, a retry cannot help", "outbox_id", n.ID, "channel", n.Channel, "attempt", n.Attempts, "err", err)
				err = s.Store.GiveUpNotification(ctx, n.ID, fmt.Sprintf("not retried after attempt %d: %v", n.Attempts, err), maxAttempts)
			} else {
				s.Log.WarnContext(ctx, "notification not sent; will retry", "outbox_id", n.ID, "channel", n.Channel, "attempt", n.Attempts, "err", err)
				err = s.Store.MarkNotificationFailed(ctx, n.ID, err.Error())
			}
			if err != nil {
				return sent, err
			}
			continue
		}
		if err := s.Store.MarkNotificationSent(ctx, n.ID, s.Now()); err != nil {
			return sent, err
		}
		sent++
		if s.Observer != nil {
			s.Observer.Sent(string(n.Kind))
		}
		s.Log.InfoContext(ctx, "notification sent", "outbox_id", n.ID, "kind", n.Kind, "channel", n.Channel)
	}
	return sent, nil
}

// send hands n to its channel's sender. A claimed message always has one:
// only channels with a sender are claimed.
func (s *Sender) send(ctx context.Context, n *account.Notification) error {
	switch {
	case n.Channel == account.ChannelEmail && s.Mailer != nil:
		return s.Mailer.Send(ctx, n.Recipient, n.Subject, n.Body)
	case n.Channel == account.ChannelSMS && s.Texts != nil:
		return s.Texts.Send(ctx, n.Recipient, n.Body)
	}
	return fmt.Errorf("no sender for channel %s", n.Channel)
}

// Run delivers every interval (with jitter) until ctx ends.
func (s *Sender) Run(ctx context.Context, interval time.Duration) {
	for {
		if _, err := s.DeliverPending(ctx); err != nil && ctx.Err() == nil {
			s.Log.ErrorContext(ctx, "deliver notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wakeup():
		case <-time.After(interval + rand.N(interval/2+1)):
		}
	}
}
