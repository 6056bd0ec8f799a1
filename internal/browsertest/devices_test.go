package browsertest

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

const labelRemember = "Remember this device for 30 days"

// A person ticks "Remember this device" at the code step: the next sign-in
// from that browser asks only for the password, one from another browser
// still asks for the code, and forgetting the device on My info brings the
// code back.
func TestRememberThisDevice(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cam := newCameraNamed(t, "device-")
	b := openTab(t, srv)
	b.signUp(userPhone)
	app := b.enableTwoFactor()
	b.signOut()

	b.signIn(userPassword)
	b.wantPage(headingCode)
	b.fill(labelAppCode, app.code(t))
	b.tick(labelRemember)
	cam.visit(b, "code-remember")
	b.click("Sign in")
	b.wantPage(headingMyInfo)
	b.wantText("Remembered devices", "(this browser)", "Forget all")
	cam.visit(b, "my-info-devices")

	b.signOut()
	b.signIn(userPassword)
	b.wantPage(headingMyInfo) // no code asked
	b.wantSignedIn()

	other := openTab(t, srv)
	other.open("/signin")
	other.signIn(userPassword)
	other.wantPage(headingCode)

	b.click("Forget")
	b.wantFlash("The device is forgotten. Signing in from it asks for a code again.")
	b.wantText("No device is remembered.")
	b.signOut()
	b.signIn(userPassword)
	b.wantPage(headingCode)
}

// A person whose phone's clock is 3 minutes behind types the code it
// shows: the page says the clock is behind and what to do.
func TestClockBehind(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)
	b.signUp(userPhone)
	app := b.enableTwoFactor()
	b.signOut()
	b.signIn(userPassword)
	b.wantPage(headingCode)
	// Six steps behind, with the current step far from its end: a step
	// boundary before the server checks would make it seven.
	if left := 30 - time.Now().Unix()%30; left < 20 {
		time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
	}
	behind := runOathtool(t, "--totp", "-b", "--now", "@"+strconv.FormatInt(time.Now().Add(-3*time.Minute).Unix(), 10), app.secret)
	b.fill(labelAppCode, strings.TrimSpace(behind))
	b.click("Sign in")
	b.wantFieldError(labelAppCode, "This code was right about 3 minutes ago: your phone's clock is behind. Set it to automatic date and time, then type the next code.")
	b.fill(labelAppCode, app.code(t))
	b.click("Sign in")
	b.wantPage(headingMyInfo)
}
