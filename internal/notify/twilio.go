package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TextSender sends one text message (SMS) to an E.164 number.
type TextSender interface {
	Send(ctx context.Context, to, body string) error
}

// Twilio sends text messages through Twilio's Messaging REST API: one
// POST to the account's Messages resource per message.
type Twilio struct {
	apiURL     string // without a trailing slash
	accountSID string
	authToken  string
	// from is the sender: an E.164 number of the account, or a Messaging
	// Service SID (MG…), which Twilio takes as MessagingServiceSid and
	// picks a sender from the service's pool.
	from   string
	client *http.Client
}

// NewTwilio returns a sender for the account sid with its auth token,
// sending from an E.164 number or a Messaging Service SID (MG…), to
// apiURL (https://api.twilio.com; tests pass a local server).
func NewTwilio(apiURL, accountSID, authToken, from string) *Twilio {
	return &Twilio{
		apiURL:     strings.TrimRight(apiURL, "/"),
		accountSID: accountSID,
		authToken:  authToken,
		from:       from,
		// A request Twilio has not answered in 20 seconds is retried by a
		// later round; the outbox worker never hangs on one.
		client: &http.Client{
			Timeout: 20 * time.Second,
			// Twilio answers a message with 201, never a redirect: one is
			// an error (retried), not a POST turned GET elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// TwilioError is a request Twilio (or whatever answered at the API URL)
// refused, with Twilio's error code and message when its body had them.
type TwilioError struct {
	Status   int    // the HTTP status
	Code     int    // Twilio's error code (21211, 20003, …); 0 when the body had none
	Message  string // Twilio's message, the recipient's number replaced
	MoreInfo string // the documentation of Code
}

func (e *TwilioError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "twilio: HTTP %d", e.Status)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", error %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.MoreInfo != "" {
		b.WriteString(" (" + e.MoreInfo + ")")
	}
	return b.String()
}

// Permanent reports whether sending the same message again cannot help: a
// 4xx other than 408 (timeout) and 429 (too many requests) is Twilio
// refusing this request as it is (an invalid or unreachable number, a
// number a trial account has not verified, wrong credentials), and it will
// refuse it the same way at every retry. 5xx, 408 and 429 are worth
// another try, as are network errors (which are not TwilioErrors).
func (e *TwilioError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// Send implements TextSender.
func (t *Twilio) Send(ctx context.Context, to, body string) error {
	form := url.Values{"To": {to}, "Body": {body}}
	if strings.HasPrefix(t.from, "MG") {
		form.Set("MessagingServiceSid", t.from)
	} else {
		form.Set("From", t.from)
	}
	endpoint := t.apiURL + "/2010-04-01/Accounts/" + url.PathEscape(t.accountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.accountSID, t.authToken)
	resp, err := t.client.Do(req)
	if err != nil {
		// A *url.Error names the URL, which holds the account SID but
		// never the token (that travels in the Authorization header).
		return fmt.Errorf("twilio: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("twilio: read the answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return twilioError(resp.StatusCode, raw, to)
	}
	// A message Twilio accepted has a SID (SM… or MM…). Anything else is
	// not Twilio (a proxy's page at a mistyped API URL, say): retried, as
	// nothing says the message went out.
	var created struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.SID == "" {
		return fmt.Errorf("twilio: HTTP %d without a message SID in the answer", resp.StatusCode)
	}
	if created.Status == "failed" || created.Status == "undelivered" {
		return fmt.Errorf("twilio: message %s is %s", created.SID, created.Status)
	}
	return nil
}

// twilioError reads Twilio's error body ({"code", "message", "more_info",
// "status"}) when there is one. The recipient's number, which Twilio's
// messages often quote, is replaced: the error goes to the log and to the
// outbox's last error, and neither names recipients.
func twilioError(status int, raw []byte, to string) error {
	e := &TwilioError{Status: status}
	var body struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.MoreInfo = body.Code, body.MoreInfo
		e.Message = body.Message
		if to != "" {
			e.Message = strings.ReplaceAll(e.Message, to, "(the recipient)")
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// permanent reports whether err says a retry cannot help.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
