package main_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/autocommit"
)

// Text messages through the real binary: queued in the outbox beside a
// mail, they wait while Twilio is not configured (and the log says so);
// once it is, the outbox worker sends the text, and only the text, to
// Twilio's Messages resource (a local stand-in, via TWOFOLD_TWILIO_API_URL),
// `twofold outbox list` shows it sent, and its body is gone from the outbox.
//
// No use case queues a text yet: the test queues it through the store, in
// the database the server then serves from, before the server starts (the
// worker's first round runs at start).
func TestTextMessagesAreSentThroughTwilio(t *testing.T) {
	t.Parallel()
	const (
		sid   = "AC00112233445566778899aabbccddeeff"
		token = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
		from  = "+15005550006"
		to    = "+61412345678"
		body  = "twofold: your verification code is 482913. It works for 10 minutes."
	)
	got := make(chan url.Values, 10)
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || user != sid || pass != token {
			t.Errorf("Twilio got %s %s (%s) as %q; want the documented request", r.Method, r.URL, r.Header.Get("Content-Type"), user)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`)
			return
		}
		got <- form
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM00112233445566778899aabbccddeeff", "status": "queued", "to": "`+to+`", "from": "`+from+`"}`)
	}))
	defer twilio.Close()

	data := t.TempDir()
	if out, err := exec.Command(binary, "migrate", "--data-dir", data).CombinedOutput(); err != nil {
		t.Fatalf("migrate = %s, %v", out, err)
	}
	ctx := context.Background()
	st, err := openDatabase(ctx, filepath.Join(data, "twofold.db"))
	if err != nil {
		t.Fatal(err)
	}
	u := &account.User{Email: "ana@example.com", Name: "Ana", MobilePhone: to, PasswordHash: "$argon2id$x", CreatedAt: time.Now()}
	w := autocommit.Wrap(st)
	if err := w.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*account.Notification{
		{UserID: u.ID, Recipient: u.Email, Kind: account.EventPasswordChanged, Subject: "Your password was changed", Body: "Hello Ana", CreatedAt: time.Now()},
		{UserID: u.ID, Channel: account.ChannelSMS, Recipient: to, Kind: "phone_verification", Body: body, CreatedAt: time.Now()},
	} {
		if err := w.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	outbox := func() string {
		t.Helper()
		out, err := exec.Command(binary, "outbox", "list", "--data-dir", data).CombinedOutput()
		if err != nil {
			t.Fatalf("outbox list = %s, %v", out, err)
		}
		return string(out)
	}
	textLine := regexp.MustCompile(`(?m)^(\d+)\s+\S+ \S+\s+sms\s+` + regexp.QuoteMeta(to) + `\s+(.*)$`)
	mailLine := regexp.MustCompile(`(?m)^\d+\s+\S+ \S+\s+email\s+ana@example\.com\s+Your password was changed\s+queued$`)

	// Without Twilio the text waits, untried, and the log says how to send it.
	p := start(t, data)
	p.stop(t)
	if !strings.Contains(p.logs.String(), "SMS wait in the outbox: set TWOFOLD_TWILIO_ACCOUNT_SID") {
		t.Errorf("the log of a server without Twilio does not say texts wait:\n%s", p.logs)
	}
	if list := outbox(); textLine.FindStringSubmatch(list) == nil || textLine.FindStringSubmatch(list)[2] != "queued" || mailLine.FindString(list) == "" {
		t.Errorf("outbox list without Twilio =\n%s\nwant the text and the mail queued, untried", list)
	}

	p = start(t, data, "TWOFOLD_TWILIO_ACCOUNT_SID="+sid, "TWOFOLD_TWILIO_AUTH_TOKEN="+token,
		"TWOFOLD_TWILIO_FROM="+from, "TWOFOLD_TWILIO_API_URL="+twilio.URL, "TWOFOLD_METRICS_ADDR=127.0.0.1:0")
	select {
	case form := <-got:
		want := url.Values{"To": {to}, "From": {from}, "Body": {body}}
		if form.Encode() != want.Encode() {
			t.Errorf("Twilio got the form %v; want exactly %v", form, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no text reached Twilio within 30s\n%s", p.logs)
	}
	// The worker marks it sent, then logs it, right after Twilio's answer.
	sent := regexp.MustCompile(`notification sent"? .*channel=sms`)
	for deadline := time.Now().Add(30 * time.Second); !sent.MatchString(p.logs.String()) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	// The outbox gauges by channel: texts are sent here, mail is not.
	metrics := scrape(t, p.metrics)
	for _, g := range []struct {
		name, channel string
		want          float64
	}{
		{"twofold_outbox_sender_enabled", "sms", 1}, {"twofold_outbox_sender_enabled", "email", 0},
		{"twofold_outbox_queued_messages", "sms", 0}, {"twofold_outbox_queued_messages", "email", 1},
	} {
		if got := value(metrics, g.name, "channel", g.channel); got != g.want {
			t.Errorf(`%s{channel=%q} = %v; want %v`, g.name, g.channel, got, g.want)
		}
	}
	p.stop(t)
	list := outbox()
	m := textLine.FindStringSubmatch(list)
	if m == nil || !strings.HasPrefix(m[2], "sent ") || mailLine.FindString(list) == "" {
		t.Fatalf("outbox list with Twilio and no SMTP =\n%s\nwant the text sent and the mail still queued", list)
	}
	if len(got) != 0 {
		t.Errorf("Twilio got %d more requests; want the one text, once", len(got))
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "text messages are sent through Twilio") || strings.Contains(logs, "SMS wait in the outbox") {
		t.Errorf("the log of a server with Twilio does not say it sends texts:\n%s", logs)
	}
	if strings.Contains(logs, token) || strings.Contains(logs, body) {
		t.Errorf("the log shows the auth token or the text's body:\n%s", logs)
	}
	shown, err := exec.Command(binary, "outbox", "show", m[1], "--data-dir", data).CombinedOutput()
	if err != nil || !strings.Contains(string(shown), "Channel: sms\n") || strings.Contains(string(shown), "482913") || strings.Contains(string(shown), "Subject:") {
		t.Errorf("outbox show %s = %s, %v; want an sms, sent, without its body or a subject", m[1], shown, err)
	}
}
