package api

import "net/http"

// routes lists every endpoint. Paths are full (the server mounts this
// handler at /api/ without stripping). Only POST /session/two-factor,
// POST /session/help-request, POST /session/recovery and …/recovery/sms
// and DELETE /session (and the public routes:
// signing in, signing up and confirming a sign-up) work for a
// half-signed-in session; everything under
// /me needs a fully signed-in one.
func (h *handler) routes() *http.ServeMux {
	mux := http.NewServeMux()

	mux.Handle("POST /api/v1/signup", h.public(h.signUp))
	mux.Handle("POST /api/v1/signup/confirm", h.public(h.confirmSignUp))
	mux.Handle("POST /api/v1/invitations/accept", h.public(h.acceptInvitation))
	mux.Handle("POST /api/v1/this-wasnt-me", h.public(h.disavow))
	mux.Handle("POST /api/v1/session", h.public(h.signIn))
	mux.Handle("POST /api/v1/session/two-factor", h.public(h.submitSecondFactor))
	mux.Handle("DELETE /api/v1/session", h.public(h.signOut))
	mux.Handle("POST /api/v1/session/help-request", h.public(h.requestHelp))
	mux.Handle("POST /api/v1/session/recovery/sms", h.public(h.sendRecoveryCode))
	mux.Handle("POST /api/v1/session/recovery", h.public(h.startRecovery))
	mux.Handle("POST /api/v1/recovery/cancel", h.public(h.cancelRecoveryByLink))
	mux.Handle("POST /api/v1/session/confirm-password", h.authed(h.confirmPassword))

	mux.Handle("GET /api/v1/me", h.authed(h.me))
	mux.Handle("PATCH /api/v1/me", h.authed(h.updateMe))
	mux.Handle("POST /api/v1/me/password", h.authed(h.changePassword))
	mux.Handle("GET /api/v1/me/events", h.authed(h.events))
	mux.Handle("POST /api/v1/me/two-factor/setup", h.authed(h.setupTwoFactor))
	mux.Handle("POST /api/v1/me/two-factor/enable", h.authed(h.enableTwoFactor))
	mux.Handle("POST /api/v1/me/two-factor/disable", h.authed(h.disableTwoFactor))
	mux.Handle("POST /api/v1/me/backup-codes", h.authed(h.generateBackupCodes))
	mux.Handle("GET /api/v1/me/recovery", h.authed(h.myRecovery))
	mux.Handle("DELETE /api/v1/me/recovery", h.authed(h.cancelMyRecovery))
	mux.Handle("GET /api/v1/me/devices", h.authed(h.devices))
	mux.Handle("DELETE /api/v1/me/devices", h.authed(h.forgetDevice))
	mux.Handle("DELETE /api/v1/me/devices/{id}", h.authed(h.forgetDevice))

	// Administrators only (the service refuses anyone else: 403 forbidden).
	mux.Handle("GET /api/v1/admin/users", h.authed(h.adminUsers))
	mux.Handle("PATCH /api/v1/admin/users/{id}", h.authed(h.updateUser))
	mux.Handle("POST /api/v1/admin/users/{id}/two-factor/reset", h.authed(h.resetUserTwoFactor))
	mux.Handle("POST /api/v1/admin/users/{id}/reset-two-factor", h.authed(h.resetUserTwoFactor))
	mux.Handle("POST /api/v1/admin/users/{id}/phone-verification", h.authed(h.sendPhoneVerification))
	mux.Handle("POST /api/v1/admin/users/{id}/phone-verification/check", h.authed(h.checkPhoneVerification))
	mux.Handle("GET /api/v1/admin/help-requests", h.authed(h.helpRequests))
	mux.Handle("DELETE /api/v1/admin/users/{id}/help-request", h.authed(h.dismissHelpRequest))
	mux.Handle("DELETE /api/v1/admin/users/{id}/recovery", h.authed(h.cancelUserRecovery))
	mux.Handle("GET /api/v1/admin/audit", h.authed(h.auditLog))
	mux.Handle("GET /api/v1/admin/settings", h.authed(h.settings))
	mux.Handle("PATCH /api/v1/admin/settings", h.authed(h.updateSettings))
	mux.Handle("POST /api/v1/admin/invitations", h.authed(h.invite))
	mux.Handle("GET /api/v1/admin/invitations", h.authed(h.invitations))
	mux.Handle("DELETE /api/v1/admin/invitations/{id}", h.authed(h.revokeInvitation))
	mux.Handle("POST /api/v1/admin/invitations/{id}/resend", h.authed(h.resendInvitation))

	// Forward-auth for reverse proxies (authz.go), from --trusted-proxies
	// only; and the protected apps they decide by (apps.go).
	mux.Handle("GET /api/v1/authz/auth-request", h.public(h.authRequest))
	mux.Handle("GET /api/v1/authz/forward-auth", h.public(h.forwardAuth))
	mux.Handle("GET /api/v1/admin/apps", h.authed(h.apps))
	mux.Handle("POST /api/v1/admin/apps", h.authed(h.createApp))
	mux.Handle("PATCH /api/v1/admin/apps/default", h.authed(h.setDefaultAccess))
	mux.Handle("PATCH /api/v1/admin/apps/{id}", h.authed(h.updateApp))
	mux.Handle("DELETE /api/v1/admin/apps/{id}", h.authed(h.deleteApp))
	// Administrators only: the apps registered with the OpenID provider
	// (oidc_clients.go).
	mux.Handle("GET /api/v1/admin/oidc/clients", h.authed(h.oidcClients))
	mux.Handle("POST /api/v1/admin/oidc/clients", h.authed(h.createOIDCClient))
	mux.Handle("DELETE /api/v1/admin/oidc/clients/{id}", h.authed(h.deleteOIDCClient))
	mux.Handle("POST /api/v1/admin/oidc/clients/{id}/secret", h.authed(h.rotateOIDCClientSecret))

	return mux
}
