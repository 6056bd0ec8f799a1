package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/notify"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/sqlite"
)

// smtpServer is a minimal local SMTP server that records what it receives;
// a real provider cannot be reached from tests.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	got  []received
}

type received struct {
	from, to string
	data     string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpServer{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 localhost ESMTP test")
	var msg received
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case cmd == "EHLO" || cmd == "HELO":
			tp.PrintfLine("250 localhost")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			msg.from = strings.Trim(line[len("MAIL FROM:"):], "<> ")
			tp.PrintfLine("250 ok")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			msg.to = strings.Trim(line[len("RCPT TO:"):], "<> ")
			tp.PrintfLine("250 ok")
		case cmd == "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			msg.data = string(data)
			s.mu.Lock()
			s.got = append(s.got, msg)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case cmd == "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func queue(t *testing.T, st *sqlite.Store, n int) {
	t.Helper()
	ctx := context.Background()
	u := &account.User{Email: "ana@example.com", Name: "Ana", PasswordHash: "h", CreatedAt: time.Now()}
	if err := autocommit.Wrap(st).CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := autocommit.Wrap(st).AddNotification(ctx, &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventBackupCodeUsed,
			Subject: "A backup code was used — check", Body: "Hello Ana,\nline two " + string(rune('a'+i)), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeliverPendingSendsEachMessageOnce(t *testing.T) {
	srv := startSMTP(t)
	mailer, err := notify.ParseSMTPURL("smtp://" + srv.addr + "?from=twofold@example.com")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "twofold.db")
	first, second := openStore(t, path), openStore(t, path)
	queue(t, first, 6)
	log := slog.New(slog.DiscardHandler)
	senders := []*notify.Sender{
		{Store: first, Mailer: mailer, Log: log, Now: time.Now, MaxAttempts: 5},
		{Store: second, Mailer: mailer, Log: log, Now: time.Now, MaxAttempts: 5},
	}
	var wg sync.WaitGroup
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.DeliverPending(context.Background()); err != nil {
				t.Errorf("DeliverPending = %v", err)
			}
		}()
	}
	wg.Wait()
	got := srv.messages()
	if len(got) != 6 {
		t.Fatalf("server received %d messages from two concurrent senders; want 6, each once", len(got))
	}
	m := got[0]
	if m.from != "twofold@example.com" || m.to != "ana@example.com" {
		t.Errorf("envelope = %q → %q; want twofold@example.com → ana@example.com", m.from, m.to)
	}
	for _, want := range []string{"From: twofold@example.com\n", "To: ana@example.com\n", "Subject: =?utf-8?q?", "Content-Type: text/plain; charset=utf-8", "\n\nHello Ana,\nline two"} {
		if !strings.Contains(m.data, want) {
			t.Errorf("message does not contain %q:\n%s", want, m.data)
		}
	}
	// Nothing left: a second round sends nothing.
	if n, err := senders[0].DeliverPending(context.Background()); n != 0 || err != nil {
		t.Errorf("second DeliverPending = %d, %v; want 0, nil", n, err)
	}
	outbox, _ := first.Notifications(context.Background(), 10)
	for _, n := range outbox {
		if n.SentAt.IsZero() {
			t.Errorf("message %d not marked sent", n.ID)
		}
	}
}

type failingMailer struct{ calls int }

func (f *failingMailer) Send(context.Context, string, string, string) error {
	f.calls++
	return errors.New("connection refused")
}

func TestFailedMessagesStayQueuedAndAreRetried(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "twofold.db"))
	queue(t, st, 1)
	mailer := &failingMailer{}
	s := &notify.Sender{Store: st, Mailer: mailer, Log: slog.New(slog.DiscardHandler), Now: time.Now, MaxAttempts: 3}
	for range 5 {
		if _, err := s.DeliverPending(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if mailer.calls != 3 {
		t.Errorf("send attempts = %d; want 3 (MaxAttempts)", mailer.calls)
	}
	outbox, _ := st.Notifications(context.Background(), 10)
	if len(outbox) != 1 || !outbox[0].SentAt.IsZero() || outbox[0].LastError != "connection refused" || outbox[0].Attempts != 3 {
		t.Errorf("outbox = %+v; want the message kept, unsent, with its last error and 3 attempts", outbox[0])
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, bad := range []string{"http://x?from=a@b.c", "smtp://?from=a@b.c", "smtp://mail.example.com", "smtp://mail.example.com?from=nope", "::"} {
		if _, err := notify.ParseSMTPURL(bad); err == nil {
			t.Errorf("ParseSMTPURL(%q) succeeded; want an error", bad)
		}
	}
	for _, good := range []string{"smtp://mail.example.com?from=twofold@example.com", "smtps://u:p@mail.example.com:465?from=twofold@example.com"} {
		if _, err := notify.ParseSMTPURL(good); err != nil {
			t.Errorf("ParseSMTPURL(%q) = %v", good, err)
		}
	}
}

// countingMailer tells each message it is given.
type countingMailer struct{ sent chan string }

func (m *countingMailer) Send(_ context.Context, to, _, _ string) error {
	m.sent <- to
	return nil
}

// Run delivers at once when woken, not at its next round: a message
// queued after its first round goes out though the interval is an hour.
func TestWakeDeliversAtOnce(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "twofold.db"))
	mailer := &countingMailer{sent: make(chan string, 10)}
	s := &notify.Sender{Store: st, Mailer: mailer, Log: slog.New(slog.DiscardHandler), Now: time.Now, MaxAttempts: 3}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, time.Hour) }()
	time.Sleep(200 * time.Millisecond) // the first round runs, with nothing to send
	queue(t, st, 1)
	s.Wake()
	s.Wake() // a second wake while one is pending does not block
	select {
	case to := <-mailer.sent:
		if to != "ana@example.com" {
			t.Errorf("sent to %q", to)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the queued message was not sent within 10 s of Wake (the interval is an hour)")
	}
	cancel()
	<-done
}
