package browsertest

import "testing"

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
