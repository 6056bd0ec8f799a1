package main_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

// mailedDisavowToken reads the token of the "This wasn't me" link of the
// newest message of kind to email from the outbox of the instance at base,
// as the person reading the email would.
func mailedDisavowToken(base, email string, kind account.EventKind) (string, error) {
	ctx := context.Background()
	outbox, done, err := outboxOf(base)
	if err != nil {
		return "", err
	}
	defer done()
	token, ok, err := accounttest.DisavowToken(ctx, outbox, email, kind)
	if err == nil && !ok {
		err = fmt.Errorf("no %s message was mailed to %s", kind, email)
	}
	return token, err
}

// "This wasn't me" through the real binary, on each store: the link of the
// "new device remembered" email, sent by several clients at once with the
// password, is carried out once (one 200, the others 410); afterwards no
// session of the account reaches /me and the remembered device no longer
// skips the code.
func TestThisWasntMeAgainstRealProcess(t *testing.T) {
	t.Parallel()
	eachStore(t, 1, func(t *testing.T, p *process, c *http.Client, email string) {
		m, err := enrollMember(c, p.base, email, false)
		if err != nil {
			t.Fatal(err)
		}
		device, err := rememberDevice(c, p.base, m)
		if err != nil {
			t.Fatal(err)
		}
		status, stage, onDevice, device, err := deviceSignIn(c, p.base, email, racePassword, device)
		if err != nil || status != 200 || stage != string(account.StageComplete) {
			t.Fatalf("sign-in on the remembered device = %d %s %v; want complete", status, stage, err)
		}
		token, err := mailedDisavowToken(p.base, email, account.EventDeviceRemembered)
		if err != nil {
			t.Fatal(err)
		}

		const racers = 4
		var mu sync.Mutex
		answers := map[int]int{}
		fns := make([]func(), racers)
		for i := range fns {
			fns[i] = func() {
				status, body, _, err := send(c, p.base, "POST", "/this-wasnt-me", "", map[string]string{"token": token, "password": racePassword})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("use %d: %v", i, err)
					return
				}
				answers[status]++
				if status == 200 && body["status"] != "signed_out_everywhere" {
					t.Errorf("use %d = %v; want status signed_out_everywhere", i, body)
				}
			}
		}
		atOnce(fns...)
		if answers[200] != 1 || answers[200]+answers[410]+answers[503] != racers {
			t.Errorf("answers to %d uses of one link at once = %v; want one 200, the rest 410 (or 503 busy)", racers, answers)
		}
		for name, session := range map[string]string{"sign-up session": m.token, "remembered device's session": onDevice} {
			if got, _, _ := call(t, p.base, "GET", "/me", session, nil); got != http.StatusUnauthorized {
				t.Errorf("%s after the link: GET /me = %d; want 401", name, got)
			}
		}
		if status, stage, _, _, err := deviceSignIn(c, p.base, email, racePassword, device); err != nil || stage != string(account.StageSecondFactor) {
			t.Errorf("sign-in on the device after the link = %d %s %v; want the code asked", status, stage, err)
		}
		if _, err := mailedDisavowToken(p.base, email, account.EventDisavowed); err == nil || !strings.Contains(err.Error(), "has no") {
			t.Errorf("the email saying it was done: %v; want one, without a link", err)
		}
	})
}
