package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/requestid"
)

// busyRetryAfter is what a client is told to wait when every password-hash
// slot is taken: they free up within a second or two.
const busyRetryAfter = 2 * time.Second

// problem is an RFC 9457 problem details object. Its type is always
// about:blank and its title the status text (the server's middleware writes
// its 413, 403 cross-origin and panic problems with WriteProblem); what went wrong is in
// the code extension member, stable for clients to switch on, and the detail,
// written for people.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Errors holds a message per request field (validation_failed, and
	// invalid_request when one field is at fault).
	Errors map[string]string `json:"errors,omitempty"`
	// ClockOffsetSeconds comes with invalid_code when the code would have
	// been right that far from now (negative: the phone's clock is behind).
	ClockOffsetSeconds *int `json:"clock_offset_seconds,omitempty"`

	retryAfter time.Duration // Retry-After header when > 0
	allow      string        // Allow header for 405
	location   string        // Location header (forward-auth's sign-in page)
}

// Errors of the HTTP layer itself, mapped to status by problemFor like the
// service's errors.
var errRouteNotFound = errors.New("api: no such endpoint")

// requestError is a request the API cannot read: 400 invalid_request,
// optionally naming the field at fault.
type requestError struct {
	detail string
	field  string // JSON member, or ""
	msg    string // message for the field
}

func (e *requestError) Error() string { return "api: bad request: " + e.detail }

// mediaTypeError is a body that is not declared as application/json.
type mediaTypeError struct{ contentType string }

func (e *mediaTypeError) Error() string {
	return "api: unsupported content type " + strconv.Quote(e.contentType)
}

// methodNotAllowedError is a known path asked with a method it lacks.
type methodNotAllowedError struct{ allow string }

func (e *methodNotAllowedError) Error() string { return "api: method not allowed" }

// problemFor is the one place that maps an error to a status, a code and the
// message a client sees. Anything it does not know is a 500 whose detail is
// only logged.
func problemFor(err error) *problem {
	var (
		validation *account.ValidationError
		throttled  *account.ThrottledError
		badRequest *requestError
		mediaType  *mediaTypeError
		tooLarge   *http.MaxBytesError
		notAllowed *methodNotAllowedError
		drift      *account.ClockDriftError
	)
	if pr, ok := refusalProblem(err); ok {
		return pr // forward-auth (authz.go)
	}
	if pr, ok := appProblem(err); ok {
		return pr // protected apps (apps.go)
	}
	p := newProblem
	switch {
	// Request shape.
	case errors.As(err, &badRequest):
		pr := p(http.StatusBadRequest, "invalid_request", badRequest.detail)
		if badRequest.field != "" {
			pr.Errors = map[string]string{badRequest.field: badRequest.msg}
		}
		return pr
	case errors.As(err, &tooLarge):
		return p(http.StatusRequestEntityTooLarge, "request_too_large",
			"The request body is larger than "+strconv.FormatInt(tooLarge.Limit/1024, 10)+" KiB.")
	case errors.As(err, &mediaType):
		return p(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the request body as JSON with the header Content-Type: application/json.")
	case errors.Is(err, errRouteNotFound):
		return p(http.StatusNotFound, "not_found", "There is no API endpoint at this path.")
	case errors.As(err, &notAllowed):
		pr := p(http.StatusMethodNotAllowed, "method_not_allowed",
			"This endpoint does not support this method. Allowed: "+notAllowed.allow+".")
		pr.allow = notAllowed.allow
		return pr
	case errors.As(err, &validation):
		fields := slices.Sorted(maps.Keys(validation.Fields))
		pr := p(http.StatusUnprocessableEntity, "validation_failed",
			"Check these fields: "+strings.Join(fields, ", ")+". The errors member says what is wrong with each.")
		pr.Errors = validation.Fields
		return pr

	// Signing in.
	case errors.Is(err, account.ErrInvalidCredentials):
		return p(http.StatusUnauthorized, "invalid_credentials",
			"The email address or password is not right.")
	case errors.Is(err, account.ErrWrongPassword):
		return p(http.StatusUnauthorized, "invalid_credentials",
			"That password is not right.")
	case errors.Is(err, account.ErrPhoneCodeSpent):
		return p(http.StatusGone, "phone_code_expired",
			"The texted code expired or was tried too often. Send a new one with POST /api/v1/admin/users/{id}/phone-verification.")
	case errors.As(err, &drift):
		pr := p(http.StatusUnauthorized, "invalid_code", drift.Advice())
		offset := int(drift.Offset / time.Second)
		pr.ClockOffsetSeconds = &offset
		return pr
	case errors.Is(err, account.ErrInvalidCode):
		return p(http.StatusUnauthorized, "invalid_code",
			"That code is wrong or was already used. Authenticator codes refresh every 30 seconds; if one fails, wait for the next.")
	case errors.Is(err, account.ErrAuthenticatorSuspended):
		return p(http.StatusUnauthorized, "authenticator_suspended",
			"Authenticator codes are suspended after too many wrong codes in a row. Sign in with a backup code, or ask an administrator to reset 2 factor authentication.")
	case errors.As(err, &throttled):
		pr := p(http.StatusTooManyRequests, "throttled",
			"Too many failed attempts. Wait the number of seconds in Retry-After; until then nothing is checked, not even a right code or password.")
		pr.retryAfter = throttled.RetryAfter
		return pr
	case errors.Is(err, account.ErrPendingExpired):
		return p(http.StatusUnauthorized, "sign_in_expired",
			"The sign-in took too long. Sign in with your email and password again.")
	case errors.Is(err, account.ErrSecondFactorRequired):
		return p(http.StatusUnauthorized, "two_factor_required",
			"Finish signing in: send your authenticator code or a backup code to POST /api/v1/session/two-factor.")
	case errors.Is(err, account.ErrUnauthenticated):
		return p(http.StatusUnauthorized, "unauthenticated",
			"Sign in first. The session cookie is missing, unknown or expired.")
	case errors.Is(err, account.ErrSessionAlreadyAdvanced):
		return p(http.StatusConflict, "already_authenticated",
			"This session is already fully signed in.")
	case errors.Is(err, account.ErrReauthRequired):
		return p(http.StatusForbidden, "reauthentication_required",
			"This change needs your password entered within the last few minutes. Confirm it with POST /api/v1/session/confirm-password, then try again.")
	case errors.Is(err, account.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		pr := p(http.StatusServiceUnavailable, "busy",
			"Too many sign-ins are in progress. Try again in a few seconds.")
		pr.retryAfter = busyRetryAfter
		return pr

	// Account state.
	case errors.Is(err, account.ErrRecoveryDisabled):
		return p(http.StatusConflict, "recovery_disabled",
			"Self-recovery is off on this server. Use a backup code, or ask an administrator (POST /api/v1/session/help-request).")
	case errors.Is(err, account.ErrRecoveryPending):
		return p(http.StatusConflict, "recovery_pending",
			"A recovery of this account is already waiting out its delay. Sign in with your password after it; a sign-in with a code cancels it.")
	case errors.Is(err, account.ErrRecoveryNotFound):
		return p(http.StatusNotFound, "recovery_not_found",
			"There is no pending recovery: it was cancelled or completed, or never started.")
	case errors.Is(err, account.ErrTextsUnavailable):
		return p(http.StatusConflict, "sms_unavailable",
			"Text messages are not set up on this server (Twilio). Check who the person is another way and reset with a reason.")
	case errors.Is(err, account.ErrNoMobilePhone):
		return p(http.StatusConflict, "no_mobile_phone",
			"The account has no mobile phone number to text. Check who the person is another way and reset with a reason.")
	case errors.Is(err, account.ErrPhoneNotVerified):
		return p(http.StatusConflict, "phone_not_verified",
			"Check that it is the account's owner first: text them a code (POST …/phone-verification) and check the one they read back, then reset within 15 minutes; or give a reason saying how you checked.")
	case errors.Is(err, account.ErrHelpRequestNotFound):
		return p(http.StatusNotFound, "not_found", "The account has no open help request.")
	case errors.Is(err, account.ErrOIDCClientNotFound):
		return p(http.StatusNotFound, "not_found", "There is no OpenID client with this id (or, to rotate a secret, it is a public client, which has none).")
	case errors.Is(err, account.ErrDeviceNotFound):
		return p(http.StatusNotFound, "not_found", "There is no remembered device with this id: it was forgotten, or it has expired.")
	case errors.Is(err, account.ErrInvitationNotFound):
		return p(http.StatusNotFound, "not_found", "There is no pending invitation with this id: it was accepted, withdrawn or has expired.")
	case errors.Is(err, account.ErrInvitationInvalid):
		return p(http.StatusGone, "invitation_invalid", "This invitation has expired, was already used or was withdrawn. Ask an administrator for a new one.")
	case errors.Is(err, account.ErrSignUpDisabled):
		return p(http.StatusForbidden, "signup_disabled", "Accounts are by invitation: ask an administrator to invite you.")
	case errors.Is(err, account.ErrEnrollmentRequired):
		return p(http.StatusForbidden, "two_factor_enrollment_required", "2 factor authentication is required for this account: set it up (POST /api/v1/me/two-factor/setup, then enable) before anything else.")
	case errors.Is(err, account.ErrTwoFactorRequiredByPolicy):
		return p(http.StatusConflict, "two_factor_required_by_policy", "2 factor authentication is required for all users on this server: it cannot be turned off.")
	case errors.Is(err, account.ErrAccountDeactivated):
		return p(http.StatusForbidden, "account_deactivated", "This account is deactivated. Ask an administrator to reactivate it.")
	case errors.Is(err, account.ErrLastAdministrator):
		return p(http.StatusConflict, "last_administrator", "This is the last active administrator: make another administrator first.")
	case errors.Is(err, account.ErrForbidden):
		return p(http.StatusForbidden, "forbidden", "Only administrators may do this.")
	case errors.Is(err, account.ErrDisavowLinkInvalid):
		return p(http.StatusGone, "disavow_link_invalid",
			"This \"This wasn't me\" link was already used, has expired, or is unknown. Nothing was changed.")
	case errors.Is(err, account.ErrSignUpLinkInvalid):
		return p(http.StatusGone, "signup_link_invalid",
			"This sign-up link has expired, was already used, or had too many wrong passwords. Sign up again for a new link, or sign in if you already finished signing up.")
	case errors.Is(err, account.ErrPhoneRequired):
		return p(http.StatusConflict, "phone_required",
			"Add a mobile phone number to your account (PATCH /api/v1/me with \"mobile_phone\") before setting up 2 factor authentication.")
	case errors.Is(err, account.ErrTwoFactorEnabled):
		return p(http.StatusConflict, "two_factor_already_enabled",
			"2 factor authentication is already on. Disable it first to set up a new authenticator.")
	case errors.Is(err, account.ErrTwoFactorNotEnabled):
		return p(http.StatusConflict, "two_factor_not_enabled",
			"Turn on 2 factor authentication first.")
	case errors.Is(err, account.ErrNoPendingSetup):
		return p(http.StatusConflict, "no_pending_setup",
			"Start with POST /api/v1/me/two-factor/setup, scan the QR code, then send a code to enable.")
	case errors.Is(err, account.ErrConflict):
		return p(http.StatusConflict, "conflict",
			"The account changed while this request ran. Reload and try again.")
	case errors.Is(err, account.ErrNotFound):
		return p(http.StatusNotFound, "not_found", "The account no longer exists.")
	}
	return p(http.StatusInternalServerError, "internal_error",
		"Sorry, something went wrong on our side. Please try again.")
}

// fail writes err as problem+json. Server errors are logged with their
// detail and shown only as an apology with the request id.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	pr := problemFor(err)
	switch {
	case pr.Status >= 500 && pr.Code == "internal_error":
		level := slog.LevelError
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			level = slog.LevelInfo // the client went away mid-request
		}
		id := requestID(w, r)
		h.log.Log(r.Context(), level, "api: internal error", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		if id != "" {
			pr.Detail += " If it keeps happening, quote request id " + id + "."
		}
	case pr.Status >= 500:
		h.log.WarnContext(r.Context(), "api: unavailable", "method", r.Method, "path", r.URL.Path, "code", pr.Code, "err", err)
	}
	// A session that is gone or expired is of no further use to the client.
	if (pr.Code == "unauthenticated" || pr.Code == "sign_in_expired") && httpauth.Token(r) != "" {
		httpauth.ClearToken(w, h.cookies)
	}
	if pr.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(pr.retryAfter), 10))
	}
	if pr.allow != "" {
		w.Header().Set("Allow", pr.allow)
	}
	if pr.location != "" {
		w.Header().Set("Location", pr.location)
	}
	writeProblem(w, r, pr)
}

// WriteProblem answers an API request with a problem of status, code and
// detail, for the middleware that refuses requests before they reach the
// API (cross-origin, too large, a panic), so every problem has one shape.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	writeProblem(w, r, newProblem(status, code, detail))
}

func newProblem(status int, code, detail string) *problem {
	return &problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

func writeProblem(w http.ResponseWriter, r *http.Request, pr *problem) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(pr); err != nil {
		// Only strings and ints: cannot happen, but never leave a client hanging.
		buf.Reset()
		buf.WriteString(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"Sorry, something went wrong on our side.","code":"internal_error"}` + "\n")
		pr.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(pr.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// retryAfterSeconds rounds up to whole seconds, at least 1, so a client that
// waits exactly that long is never early.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// requestID is the id the server's middleware gave this request (in the
// context, and in the X-Request-Id response header), or "". Only short
// printable ids are echoed.
func requestID(w http.ResponseWriter, r *http.Request) string {
	id := requestid.From(r.Context())
	if id == "" {
		id = w.Header().Get("X-Request-Id")
	}
	if len(id) > 64 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return ""
		}
	}
	return id
}
