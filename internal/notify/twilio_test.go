package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/notify"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/sqlite"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "f00dfeedf00dfeedf00dfeedf00dfeed"
	fromNumber = "+15005550006"
	serviceSID = "MG0123456789abcdef0123456789abcdef"
	toNumber   = "+61412345678"
)

// twilioServer is a local stand-in for Twilio's Messaging API: it checks
// each request is exactly the one Twilio documents for sending a message,
// and answers what the test asks.
type twilioServer struct {
	*httptest.Server
	t      *testing.T
	from   url.Values // the sender fields a request must carry (From or MessagingServiceSid)
	status int
	body   string

	mu       sync.Mutex
	requests []url.Values // the forms of the requests that passed the checks
}

func startTwilio(t *testing.T, from url.Values, status int, body string) *twilioServer {
	t.Helper()
	s := &twilioServer{t: t, from: from, status: status, body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *twilioServer) serve(w http.ResponseWriter, r *http.Request) {
	t := s.t
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+accountSID+"/Messages.json" || r.URL.RawQuery != "" {
		t.Errorf("request %s %s; want POST /2010-04-01/Accounts/%s/Messages.json", r.Method, r.URL, accountSID)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q; want application/x-www-form-urlencoded", ct)
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != accountSID || pass != authToken {
		t.Errorf("Basic auth = %q, ok %v; want the account SID and the auth token", user, ok)
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		t.Errorf("body %q is not a form: %v", raw, err)
	}
	want := url.Values{"To": {toNumber}, "Body": {"Your code is 123456\nIt works for 10 minutes."}}
	for k, v := range s.from {
		want[k] = v
	}
	if !reflect.DeepEqual(form, want) {
		t.Errorf("form = %v; want exactly %v", form, want)
	}
	s.mu.Lock()
	s.requests = append(s.requests, form)
	s.mu.Unlock()
	if strings.HasPrefix(s.body, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func (s *twilioServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Twilio's answer to a message it accepted (trimmed).
const created = `{"sid":"SM0123456789abcdef0123456789abcdef","account_sid":"` + accountSID + `","to":"` + toNumber + `","from":"` + fromNumber + `","body":"Your code is 123456","status":"queued","error_code":null,"error_message":null,"api_version":"2010-04-01","uri":"/2010-04-01/Accounts/` + accountSID + `/Messages/SM0123456789abcdef0123456789abcdef.json"}`

// Twilio's error bodies.
const (
	invalidTo    = `{"code": 21211, "message": "The 'To' number ` + toNumber + ` is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`
	authFailed   = `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`
	tooManyCalls = `{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}`
)

var text = "Your code is 123456\nIt works for 10 minutes."

func TestTwilioSend(t *testing.T) {
	byNumber := url.Values{"From": {fromNumber}}
	byService := url.Values{"MessagingServiceSid": {serviceSID}}
	for _, tt := range []struct {
		name      string
		from      string
		fields    url.Values
		status    int
		body      string
		wantErr   []string // what the error says; nil for success
		permanent bool
	}{
		{"sent from a number", fromNumber, byNumber, 201, created, nil, false},
		{"sent through a messaging service", serviceSID, byService, 201, created, nil, false},
		{"invalid To", fromNumber, byNumber, 400, invalidTo, []string{"HTTP 400", "error 21211", "The 'To' number (the recipient) is not a valid phone number.", "https://www.twilio.com/docs/errors/21211"}, true},
		{"wrong credentials", fromNumber, byNumber, 401, authFailed, []string{"HTTP 401", "error 20003", "Authenticate"}, true},
		{"too many requests", fromNumber, byNumber, 429, tooManyCalls, []string{"HTTP 429", "error 20429", "Too Many Requests"}, false},
		{"server error, plain text", fromNumber, byNumber, 500, "upstream connect error", []string{"HTTP 500", "Internal Server Error"}, false},
		{"not Twilio's answer", fromNumber, byNumber, 200, "<html>captive portal</html>", []string{"without a message SID"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTwilio(t, tt.fields, tt.status, tt.body)
			err := notify.NewTwilio(srv.URL+"/", accountSID, authToken, tt.from).Send(context.Background(), toNumber, text)
			if srv.calls() != 1 {
				t.Errorf("Twilio received %d requests; want 1", srv.calls())
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("Send = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Send = nil; want an error saying %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Send = %q; want it to say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), authToken) || strings.Contains(err.Error(), toNumber) {
				t.Errorf("Send = %q names the auth token or the recipient", err)
			}
			var p interface{ Permanent() bool }
			if got := errors.As(err, &p) && p.Permanent(); got != tt.permanent {
				t.Errorf("Send = %q, permanent %v; want %v", err, got, tt.permanent)
			}
		})
	}
}

// A Twilio that cannot be reached is retried, and the error names neither
// the token nor the recipient.
func TestTwilioUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	err := notify.NewTwilio(srv.URL, accountSID, authToken, fromNumber).Send(context.Background(), toNumber, text)
	var p interface{ Permanent() bool }
	if err == nil || (errors.As(err, &p) && p.Permanent()) || strings.Contains(err.Error(), authToken) {
		t.Errorf("Send to a closed port = %v; want an error to retry, without the token", err)
	}
}

func queueText(t *testing.T, st *sqlite.Store, to, body string) *account.Notification {
	t.Helper()
	ctx := context.Background()
	u := &account.User{Email: fmt.Sprintf("cy%d@example.com", rand.Int64()), Name: "Cy", MobilePhone: to, PasswordHash: "h", CreatedAt: time.Now()}
	if err := autocommit.Wrap(st).CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	n := &account.Notification{UserID: u.ID, Channel: account.ChannelSMS, Recipient: to, Kind: "phone_verification", Body: body, CreatedAt: time.Now()}
	if err := autocommit.Wrap(st).AddNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Each of Twilio's answers, through the outbox worker: permanent failures
// are tried once and given up, the rest retried up to MaxAttempts; the
// auth token is never logged.
func TestSenderRetriesTextsOnlyWhenItCanHelp(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		calls  int // requests to Twilio over many rounds
		sent   bool
	}{
		{"accepted", 201, created, 1, true},
		{"invalid To: given up at once", 400, invalidTo, 1, false},
		{"wrong credentials: given up at once", 401, authFailed, 1, false},
		{"too many requests: retried", 429, tooManyCalls, 3, false},
		{"server error: retried", 500, "oops", 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTwilio(t, url.Values{"From": {fromNumber}}, tt.status, tt.body)
			st := openStore(t, filepath.Join(t.TempDir(), "twofold.db"))
			n := queueText(t, st, toNumber, text)
			var logs bytes.Buffer
			s := &notify.Sender{Store: st, Texts: notify.NewTwilio(srv.URL, accountSID, authToken, fromNumber),
				Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: time.Now, MaxAttempts: 3}
			for range 5 {
				if _, err := s.DeliverPending(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if srv.calls() != tt.calls {
				t.Errorf("Twilio received %d requests; want %d", srv.calls(), tt.calls)
			}
			m, err := st.Notification(context.Background(), n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.SentAt.IsZero() == tt.sent || m.Attempts != 3 && !tt.sent {
				t.Errorf("message = sent %v, %d attempts, last error %q; want sent %v (or all 3 attempts spent)", m.SentAt, m.Attempts, m.LastError, tt.sent)
			}
			if want := "not retried after attempt 1: twilio: HTTP"; tt.calls == 1 && !tt.sent && !strings.HasPrefix(m.LastError, want) {
				t.Errorf("last error = %q; want it to start %q", m.LastError, want)
			}
			if tt.sent && m.Body != "" {
				t.Errorf("sent text's body = %q; want it blanked", m.Body)
			}
			if !tt.sent && m.Body != text {
				t.Errorf("unsent text's body = %q; want it kept for the operator", m.Body)
			}
			if strings.Contains(logs.String()+m.LastError, authToken) || strings.Contains(logs.String()+m.LastError, toNumber) {
				t.Errorf("the log or the last error names the auth token or the recipient:\n%s\n%s", logs.String(), m.LastError)
			}
		})
	}
}

// Mail and texts queued side by side: a sender with only SMTP sends the
// mail and leaves the text queued, untouched; one with only Twilio sends
// the text and leaves the mail; neither claims what it cannot send.
func TestSenderSendsOnlyConfiguredChannels(t *testing.T) {
	ctx := context.Background()
	smtp := startSMTP(t)
	mailer, err := notify.ParseSMTPURL("smtp://" + smtp.addr + "?from=twofold@example.com")
	if err != nil {
		t.Fatal(err)
	}
	twilio := startTwilio(t, url.Values{"From": {fromNumber}}, 201, created)
	texts := notify.NewTwilio(twilio.URL, accountSID, authToken, fromNumber)
	log := slog.New(slog.DiscardHandler)

	for _, tt := range []struct {
		name           string
		mailer         notify.Mailer
		texts          notify.TextSender
		mails, sms     int // delivered
		mailLeft, sms0 bool
	}{
		{"SMTP only", mailer, nil, 1, 0, false, true},
		{"Twilio only", nil, texts, 0, 1, true, false},
		{"both", mailer, texts, 1, 1, false, false},
		{"neither", nil, nil, 0, 0, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "twofold.db"))
			queue(t, st, 1)
			n := queueText(t, st, toNumber, text)
			mailsBefore, smsBefore := len(smtp.messages()), twilio.calls()
			s := &notify.Sender{Store: st, Mailer: tt.mailer, Texts: tt.texts, Log: log, Now: time.Now, MaxAttempts: 3}
			for range 2 {
				if _, err := s.DeliverPending(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(smtp.messages()) - mailsBefore; got != tt.mails {
				t.Errorf("mails delivered = %d; want %d", got, tt.mails)
			}
			if got := twilio.calls() - smsBefore; got != tt.sms {
				t.Errorf("texts delivered = %d; want %d", got, tt.sms)
			}
			outbox, err := st.Notifications(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range outbox {
				left := tt.mailLeft
				if m.ID == n.ID {
					left = tt.sms0
				}
				// What no sender could send was never claimed: no attempt spent.
				if left && (!m.SentAt.IsZero() || m.Attempts != 0 || m.LastError != "") {
					t.Errorf("%s message %d = sent %v, %d attempts, error %q; want it queued untouched", m.Channel, m.ID, m.SentAt, m.Attempts, m.LastError)
				}
				if !left && m.SentAt.IsZero() {
					t.Errorf("%s message %d not sent", m.Channel, m.ID)
				}
			}
		})
	}
}

// Two instances' senders on one database send each text once.
func TestTextsAreSentOnceByConcurrentSenders(t *testing.T) {
	srv := startTwilio(t, url.Values{"From": {fromNumber}}, 201, created)
	path := filepath.Join(t.TempDir(), "twofold.db")
	first, second := openStore(t, path), openStore(t, path)
	for range 6 {
		queueText(t, first, toNumber, text)
	}
	var wg sync.WaitGroup
	for _, st := range []*sqlite.Store{first, second} {
		s := &notify.Sender{Store: st, Texts: notify.NewTwilio(srv.URL, accountSID, authToken, fromNumber),
			Log: slog.New(slog.DiscardHandler), Now: time.Now, MaxAttempts: 3}
		wg.Go(func() {
			if _, err := s.DeliverPending(context.Background()); err != nil {
				t.Errorf("DeliverPending = %v", err)
			}
		})
	}
	wg.Wait()
	if srv.calls() != 6 {
		t.Errorf("Twilio received %d requests from two concurrent senders; want 6, each text once", srv.calls())
	}
}
