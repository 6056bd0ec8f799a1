package browsertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"
)

const (
	headingLostPhone   = "Lost your phone?"
	headingRequestSent = "Your request was sent"
	labelHelpMessage   = "Message to the administrators (optional)"
	labelReadBack      = "Code they read back"
)

var textedCode = regexp.MustCompile(`verification code: (\d{6})\.`)

// twilio is a local stand-in for Twilio's Messages resource: it answers
// the documented request as Twilio does and passes each text's form on.
func twilio(t *testing.T, sid, token string) (*httptest.Server, chan url.Values) {
	t.Helper()
	got := make(chan url.Values, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" || user != sid || pass != token {
			t.Errorf("Twilio got %s %s as %q; want the documented request", r.Method, r.URL, user)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got <- form
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM00112233445566778899aabbccddeeff", "status": "queued"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// A person who lost their phone, by the words on the pages: at the code
// step they click "Lost your phone?" and ask for help; the administrator,
// in another browser, sees the request on Users, clicks "Check and
// reset", sends a verification code, types the one the person reads back
// (from the Twilio stand-in), checks it and resets 2FA; the person then
// signs in with the password alone. The two new pages are screenshotted
// and checked with axe-core.
func TestLostPhone(t *testing.T) {
	t.Parallel()
	const sid, token = "AC00112233445566778899aabbccddeeff", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	tw, texts := twilio(t, sid, token)
	srv := startServerEnv(t, []string{"TWOFOLD_TWILIO_ACCOUNT_SID=" + sid, "TWOFOLD_TWILIO_AUTH_TOKEN=" + token,
		"TWOFOLD_TWILIO_FROM=+15005550006", "TWOFOLD_TWILIO_API_URL=" + tw.URL})
	cam := newCameraNamed(t, "lost-")

	ada := openTab(t, srv)
	ada.open(srv.setupPath(t))
	ada.wantPage(headingSetup)
	ada.fill(labelEmail, "ada@example.com")
	ada.fill(labelName, "Ada Admin")
	ada.fill(labelPassword, userPassword)
	ada.click("Create account")
	ada.wantPage(headingMyInfo)

	ana := openTab(t, srv)
	ana.signUp(userPhone)
	ana.enableTwoFactor()
	ana.signOut()
	ana.signIn(userPassword)
	ana.wantPage(headingCode)
	ana.click("Lost your phone?")
	ana.wantPage(headingLostPhone)
	ana.wantText("A backup code.", "Ask an administrator.")
	ana.fill(labelHelpMessage, "Lost it on the train")
	cam.visit(ana, "lost-phone")
	ana.click("Ask an administrator for help")
	ana.wantPage(headingRequestSent)
	cam.visit(ana, "request-sent")

	ada.click("Users")
	ada.wantPage(headingUsers)
	ada.wantText("Asking for help", userName, "Lost it on the train", "asked for help")
	ada.click("Check and reset " + userEmail)
	ada.wantPage("Reset 2FA for " + userName)
	ada.wantText("Lost it on the train", userPhone)
	ada.click("Send a verification code")
	ada.wantPage("Reset 2FA for " + userName)
	ada.wantFlash("A code was texted to the number on file.")
	cam.visit(ada, "reset-code-sent")
	var code string
	select {
	case form := <-texts:
		m := textedCode.FindStringSubmatch(form.Get("Body"))
		if m == nil || form.Get("To") != "+61412345678" {
			t.Fatalf("Twilio got %v; want a code to +61412345678", form)
		}
		code = m[1]
	case <-time.After(45 * time.Second): // the outbox worker's round
		t.Fatal("no text reached Twilio within 45s")
	}
	wrong := "111111"
	if code == wrong {
		wrong = "222222"
	}
	ada.fill(labelReadBack, wrong)
	ada.click("Check code")
	ada.wantFieldError(labelReadBack, "That is not the code that was texted. Check it with them and type it again.")
	ada.fill(labelReadBack, code)
	ada.click("Check code")
	ada.wantFlash("The phone is verified.")
	ada.wantText("Phone verified at")
	cam.visit(ada, "reset-verified")
	ada.click("Reset 2FA for " + userEmail)
	ada.wantPage(headingUsers)
	ada.wantFlash("2 factor authentication is reset for the account.")
	ada.wantNoText("Asking for help")

	ana.open("/signin")
	ana.wantPage(headingSignIn)
	ana.signIn(userPassword)
	ana.wantPage(headingMyInfo)
	ana.wantSignedIn()
}
