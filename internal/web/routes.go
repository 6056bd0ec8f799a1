package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/route"
)

// routes lists every page. The server mounts the result at "/" and wraps it
// with security headers, cross-origin protection, body limits and logging.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /{$}", h.showHome)

	mux.HandleFunc("GET /signup", h.showSignUp)
	mux.HandleFunc("POST /signup", h.signUp)
	// Where the mailed link lands; public like sign-up (no session yet).
	// The path is signUpConfirmPath, where SignUpLink points (a test keeps
	// the two together); literal here for the server's route test.
	mux.HandleFunc("GET /signup/confirm", h.showSignUpConfirm)
	mux.HandleFunc("POST /signup/confirm", h.confirmSignUp)
	// Where an invitation (or the first administrator's setup link)
	// lands; public (no session yet). The path is invitationPath.
	mux.HandleFunc("GET /invite", h.showInvite)
	mux.HandleFunc("POST /invite", h.acceptInvite)
	// Where a security email's "This wasn't me" link lands; public (it
	// signs nobody in). The path is disavowPath.
	mux.HandleFunc("GET /this-wasnt-me", h.showDisavow)
	mux.HandleFunc("POST /this-wasnt-me", h.disavow)
	mux.HandleFunc("GET /signin", h.showSignIn)
	mux.HandleFunc("POST /signin", h.signIn)
	// The only pages a half-signed-in session (password done, code not yet)
	// may reach, with POST /signout.
	mux.HandleFunc("GET /signin/two-factor", h.showTwoFactor)
	mux.HandleFunc("POST /signin/two-factor", h.submitTwoFactor)
	mux.HandleFunc("GET /signin/lost-phone", h.showLostPhone)
	mux.HandleFunc("POST /signin/lost-phone", h.requestHelp)
	mux.HandleFunc("POST /signin/recovery/sms", h.sendRecoveryCode)
	mux.HandleFunc("GET /signin/recovery", h.showRecovery)
	mux.HandleFunc("POST /signin/recovery", h.startRecovery)
	// Where a recovery's emailed cancel link lands; no session needed.
	mux.HandleFunc("GET /recovery/cancel", h.showCancelRecovery)
	mux.HandleFunc("POST /recovery/cancel", h.cancelRecovery)
	// Where the OpenID provider sends a browser for an app's sign-in
	// request; it leads to the pages above and back (oidc.ContinuePath).
	mux.HandleFunc("GET /oidc/continue", h.continueOIDC)
	mux.HandleFunc("POST /signout", h.signOut)
	// Where an app's sign-out link lands: a page whose button posts the above.
	mux.HandleFunc("GET /signout", h.showSignOut)

	mux.HandleFunc("GET /me", h.showMe)
	mux.HandleFunc("POST /me", h.updateMe)
	mux.HandleFunc("GET /me/two-factor/enable", h.showEnableTwoFactor)
	mux.HandleFunc("POST /me/two-factor/enable", h.enableTwoFactor)
	mux.HandleFunc("GET /me/two-factor/disable", h.showDisableTwoFactor)
	mux.HandleFunc("POST /me/two-factor/disable", h.disableTwoFactor)
	mux.HandleFunc("GET /me/backup-codes", h.showBackupCodes)
	mux.HandleFunc("POST /me/backup-codes", h.generateBackupCodes)
	mux.HandleFunc("GET /me/password", h.showChangePassword)
	mux.HandleFunc("POST /me/password", h.changePassword)
	mux.HandleFunc("POST /me/devices/{id}/forget", h.forgetDevice)
	mux.HandleFunc("POST /me/devices/forget", h.forgetDevice)
	mux.HandleFunc("POST /me/recovery/cancel", h.cancelOwnRecovery)
	mux.HandleFunc("GET /confirm-password", h.showConfirmPassword)
	mux.HandleFunc("POST /confirm-password", h.confirmPassword)

	// Administrators only: the account service refuses anyone else.
	mux.HandleFunc("GET /admin/users", h.showUsers)
	mux.HandleFunc("POST /admin/users/{id}", h.updateFromPage)
	mux.HandleFunc("GET /admin/users/{id}/reset-two-factor", h.showResetUser)
	mux.HandleFunc("POST /admin/users/{id}/reset-two-factor", h.resetFromPage)
	mux.HandleFunc("POST /admin/users/{id}/phone-verification", h.sendVerificationFromPage)
	mux.HandleFunc("POST /admin/users/{id}/phone-verification/check", h.checkVerificationFromPage)
	mux.HandleFunc("POST /admin/users/{id}/recovery/cancel", h.cancelUserRecovery)
	mux.HandleFunc("POST /admin/users/{id}/help-request/dismiss", h.dismissHelpFromPage)
	mux.HandleFunc("POST /admin/invitations", h.inviteFromPage)
	mux.HandleFunc("POST /admin/settings", h.saveSettings)
	mux.HandleFunc("POST /admin/invitations/{id}/revoke", h.revokeFromPage)
	mux.HandleFunc("POST /admin/invitations/{id}/resend", h.resendFromPage)
	mux.HandleFunc("GET /admin/apps", h.showApps)
	mux.HandleFunc("POST /admin/apps", h.createAppFromPage)
	mux.HandleFunc("POST /admin/apps/default", h.defaultAccessFromPage)
	mux.HandleFunc("POST /admin/apps/{id}", h.updateAppFromPage)
	mux.HandleFunc("POST /admin/apps/{id}/delete", h.deleteAppFromPage)
	// The apps that sign people in with twofold's OpenID provider. Client
	// ids are random strings, read with r.PathValue("id").
	mux.HandleFunc("GET /admin/oidc", h.showOIDCClients)
	mux.HandleFunc("POST /admin/oidc", h.registerOIDCClientFromPage)
	mux.HandleFunc("POST /admin/oidc/keys/rotate", h.rotateSigningKeysFromPage)
	mux.HandleFunc("POST /admin/oidc/{id}/remove", h.removeOIDCClientFromPage)
	mux.HandleFunc("POST /admin/oidc/{id}/secret", h.rotateOIDCClientSecretFromPage)

	mux.Handle("GET /static/", h.static)
	mux.HandleFunc("/", h.notFound)
	return route.Recorded(mux)
}
