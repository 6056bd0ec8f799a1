package web

import "net/url"

// signUpConfirmPath is the page a mailed sign-up link opens.
const signUpConfirmPath = "/signup/confirm"

// SignUpLink returns how the account service writes the link it mails for a
// sign-up token: the public base URL, the confirm page and the token.
func SignUpLink(baseURL string) func(token string) string {
	return func(token string) string {
		return baseURL + signUpConfirmPath + "?" + url.Values{"token": {token}}.Encode()
	}
}

// invitationPath is the page an invitation or setup link opens.
const invitationPath = "/invite"

// InvitationLink returns how the account service writes the link of an
// invitation (or the first administrator's setup link).
func InvitationLink(baseURL string) func(token string) string {
	return func(token string) string {
		return baseURL + invitationPath + "?" + url.Values{"token": {token}}.Encode()
	}
}

// recoveryCancelPath is the page a recovery's cancel link opens.
const recoveryCancelPath = "/recovery/cancel"

// RecoveryCancelLink returns how the account service writes the "Cancel
// this recovery" link it mails when a self-recovery starts.
func RecoveryCancelLink(baseURL string) func(token string) string {
	return func(token string) string {
		return baseURL + recoveryCancelPath + "?" + url.Values{"token": {token}}.Encode()
	}
}

// disavowPath is the page a security email's "This wasn't me" link opens.
const disavowPath = "/this-wasnt-me"

// DisavowLink returns how the account service writes the "This wasn't me"
// link of a security email.
func DisavowLink(baseURL string) func(token string) string {
	return func(token string) string {
		return baseURL + disavowPath + "?" + url.Values{"token": {token}}.Encode()
	}
}
