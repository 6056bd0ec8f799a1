package accounttest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/account"
)

// disavowToken matches the token of a "This wasn't me" link in a message
// body, wherever the link points.
var disavowToken = regexp.MustCompile(`/this-wasnt-me\?token=([A-Za-z0-9_-]+)`)

// DisavowLinkToken returns the token of the "This wasn't me" link in text
// (a message body, the output of twofold outbox show).
func DisavowLinkToken(text string) (string, bool) {
	m := disavowToken.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// DisavowToken returns the token of the "This wasn't me" link of the newest
// message of kind mailed to email; ok is false when there is no such
// message, and an error says that it has no link.
func DisavowToken(ctx context.Context, outbox Outbox, email string, kind account.EventKind) (token string, ok bool, err error) {
	msgs, err := outbox.Notifications(ctx, 1000)
	if err != nil {
		return "", false, err
	}
	var newest *account.Notification
	for _, n := range msgs {
		if n.Kind == kind && strings.EqualFold(n.Recipient, email) && (newest == nil || n.ID > newest.ID) {
			newest = n
		}
	}
	if newest == nil {
		return "", false, nil
	}
	token, ok = DisavowLinkToken(newest.Body)
	if !ok {
		return "", false, fmt.Errorf("message %d (%s) has no \"This wasn't me\" link: %q", newest.ID, kind, newest.Body)
	}
	return token, true, nil
}

// DisavowLink is DisavowToken for the test's goroutine, or the test fails.
func (e *Env) DisavowLink(t testing.TB, email string, kind account.EventKind) string {
	t.Helper()
	token, ok, err := DisavowToken(context.Background(), e.Store, email, kind)
	if err != nil || !ok {
		t.Fatalf("\"This wasn't me\" link of the %s message to %s: ok=%v, %v", kind, email, ok, err)
	}
	return token
}
