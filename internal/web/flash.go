package web

import (
	"net/http"
)

// A flash is a message carried over one redirect in a short-lived cookie.
// The cookie holds only a key from flashes, never text, so nothing a client
// sends is echoed back.
type flash struct {
	Kind  string // "success", "info" or "warning": a CSS class
	Title string
	Text  string
}

const flashCookie = "twofold_flash"

const (
	flashSignedOut         = "signed-out"
	flashPendingExpired    = "pending-expired"
	flashWelcome           = "welcome"
	flashSaved             = "saved"
	flashTwoFactorOn       = "two-factor-on"
	flashTwoFactorOff      = "two-factor-off"
	flashPhoneRequired     = "phone-required"
	flashAlreadyOn         = "already-on"
	flashNotOn             = "not-on"
	flashPasswordChanged   = "password-changed"
	flashUserUpdated       = "user-updated"
	flashUserDeactivated   = "user-deactivated"
	flashRevoked           = "invitation-revoked"
	flashEnroll            = "enroll"
	flashEnrollNumber      = "enroll-number"
	flashSettingsSaved     = "settings-saved"
	flashUserReset         = "user-reset"
	flashNotPending        = "invitation-not-pending"
	flashCodeTexted        = "code-texted"
	flashHelpDismissed     = "help-dismissed"
	flashRecoveryCancelled = "recovery-cancelled"
	flashRecovered         = "recovered"
	flashPhoneVerified     = "phone-verified"
	flashDeviceForgotten   = "device-forgotten"
	flashDevicesForgotten  = "devices-forgotten"
)

var flashes = map[string]flash{
	flashSignedOut:      {Kind: "info", Title: "You are signed out."},
	flashPendingExpired: {Kind: "warning", Title: "Your sign-in took too long. Sign in again."},
	flashWelcome:        {Kind: "success", Title: "Your account is ready.", Text: "Add your mobile phone number below, then enable 2 factor authentication."},
	flashSaved:          {Kind: "success", Title: "Your details are saved."},
	flashTwoFactorOn: {Kind: "success", Title: "2 factor authentication is on",
		Text: "Now generate backup codes and store them somewhere safe: they let you sign in if you lose your phone."},
	flashTwoFactorOff:    {Kind: "info", Title: "2 factor authentication is off"},
	flashPhoneRequired:   {Kind: "warning", Title: "2 factor authentication needs a mobile phone number.", Text: "Add your mobile phone number and save, then enable 2 factor authentication."},
	flashAlreadyOn:       {Kind: "info", Title: "2 factor authentication is already on."},
	flashNotOn:           {Kind: "info", Title: "2 factor authentication is off.", Text: "Enable it first."},
	flashPasswordChanged: {Kind: "success", Title: "Your password is changed.", Text: "Your other sessions were signed out."},
	flashUserUpdated:     {Kind: "success", Title: "The account is updated."},
	flashUserDeactivated: {Kind: "success", Title: "The account is deactivated.", Text: "Its sessions were ended everywhere; its password no longer signs in."},
	flashRevoked:         {Kind: "success", Title: "The invitation is withdrawn.", Text: "Its link no longer works."},
	flashEnroll: {Kind: "warning", Title: "2 factor authentication is required.",
		Text: "Your administrator requires it for every account. Enable it to continue."},
	flashEnrollNumber: {Kind: "warning", Title: "2 factor authentication is required.",
		Text: "Your administrator requires it for every account. Add your mobile phone number and save, then enable 2 factor authentication."},
	flashSettingsSaved: {Kind: "success", Title: "The settings are saved."},
	flashNotPending: {Kind: "warning", Title: "That invitation is no longer pending.",
		Text: "It was accepted, withdrawn or has expired meanwhile: the lists below show where things stand."},
	flashRecoveryCancelled: {Kind: "success", Title: "The recovery is cancelled.", Text: "2 factor authentication stays as it was."},
	flashRecovered: {Kind: "warning", Title: "Your recovery is complete: 2 factor authentication is off.",
		Text: "Set it up again now on your new phone."},
	flashHelpDismissed: {Kind: "success", Title: "The help request is dismissed.", Text: "2 factor authentication was not changed."},
	flashCodeTexted: {Kind: "success", Title: "A code was texted to the number on file.",
		Text: "Ask the person to read it to you: by phone, or in person. It works for 10 minutes."},
	flashPhoneVerified: {Kind: "success", Title: "The phone is verified.",
		Text: "They hold the phone on file. Reset 2 factor authentication within 15 minutes."},
	flashDeviceForgotten:  {Kind: "success", Title: "The device is forgotten.", Text: "Signing in from it asks for a code again."},
	flashDevicesForgotten: {Kind: "success", Title: "Every remembered device is forgotten.", Text: "Signing in from any of them asks for a code again."},
	flashUserReset: {Kind: "success", Title: "2 factor authentication is reset for the account.",
		Text: "Its sessions were ended and its owner was emailed. They sign in with their password and enable it again."},
}

func (h *handler) setFlash(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: key, Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
}

// takeFlash returns the pending flash, if any, and clears its cookie.
func (h *handler) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
	f, ok := flashes[c.Value]
	if !ok {
		return nil
	}
	return &f
}
