package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/requestid"
)

// Messages shown next to a code field that did not match.
const (
	msgWrongCode       = "That code didn't match. Codes change every 30 seconds: enter the newest one."
	msgWrongBackupCode = "That backup code didn't match, or it was already used. Check it and try again, or use another one."
	msgWrongEitherCode = "That code didn't match, or it was already used. Enter the newest code from your app, or an unused backup code."
)

// msgWrongSignUpPassword is shown next to the password of the page that
// finishes a sign-up.
const msgWrongSignUpPassword = "That isn't the password you chose when you signed up."

// msgWrongCurrentPassword is shown next to the current password of the
// page that changes it.
const msgWrongCurrentPassword = "That isn't your current password."

// recovery says how the page behind a request shows a problem the person
// can fix: the template to render again, with its view, and where to come
// back to after confirming the password. The zero value fits requests
// without a form of their own.
type recovery struct {
	page string
	view *view
	// back is the local path to return to after /confirm-password; the
	// request's own path when empty.
	back string
	// wrongCode replaces msgWrongCode for a code field that takes a backup code.
	wrongCode string
	// wrongPassword, when set, is how the page shows account.ErrWrongPassword
	// instead of "That password is not right." next to "password" (422).
	wrongPassword *fieldProblem
}

// fieldProblem is a message next to a field, with the status to answer.
type fieldProblem struct {
	status     int
	field, msg string
}

// fail turns an error from the account service into what the page does. It
// is the one place where account errors are mapped to page behaviour:
// problems with input re-render the form with messages (4xx), session
// states redirect, and anything else is an internal error (500, logged).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, rec recovery) {
	var (
		invalid   *account.ValidationError
		throttled *account.ThrottledError
		drift     *account.ClockDriftError
	)
	switch {
	case errors.As(err, &invalid):
		h.retry(w, r, rec, http.StatusUnprocessableEntity, invalid.Fields, "")
	case errors.Is(err, account.ErrInvalidCredentials):
		h.retry(w, r, rec, http.StatusUnauthorized, nil, "Wrong email or password.")
	case errors.Is(err, account.ErrWrongPassword):
		p := fieldProblem{http.StatusUnprocessableEntity, "password", "That password is not right."}
		if rec.wrongPassword != nil {
			p = *rec.wrongPassword
		}
		h.retry(w, r, rec, p.status, map[string]string{p.field: p.msg}, "")
	case errors.As(err, &drift):
		h.retry(w, r, rec, http.StatusUnprocessableEntity, map[string]string{"code": drift.Advice()}, "")
	case errors.Is(err, account.ErrInvalidCode):
		msg := msgWrongCode
		if rec.wrongCode != "" {
			msg = rec.wrongCode
		}
		h.retry(w, r, rec, http.StatusUnprocessableEntity, map[string]string{"code": msg}, "")
	case errors.Is(err, account.ErrAuthenticatorSuspended):
		h.retry(w, r, rec, http.StatusUnauthorized, map[string]string{"code": "Codes from your authenticator app are suspended after too many wrong codes in a row. Use a backup code instead, or ask your administrator to reset 2 factor authentication."}, "")
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int((throttled.RetryAfter+time.Second-1)/time.Second)))
		h.retry(w, r, rec, http.StatusTooManyRequests, nil, "Too many attempts. Wait "+waitFor(throttled.RetryAfter)+", then try again.")
	case errors.Is(err, account.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		h.retry(w, r, rec, http.StatusServiceUnavailable, nil, "Many people are signing in right now. Try again in a few seconds.")
	case errors.Is(err, account.ErrConflict):
		h.retry(w, r, rec, http.StatusConflict, nil, "Something changed at the same time. Try again.")
	case errors.Is(err, account.ErrSignUpLinkInvalid):
		h.linkExpired(w, r)
	case errors.Is(err, account.ErrDisavowLinkInvalid):
		h.render(w, r, http.StatusGone, pageMessage, &view{Title: "This link cannot be used", Data: message{
			Heading: "This link cannot be used",
			Text: "A \"This wasn't me\" link works once, for " + h.disavowLifetime + " after its email was sent: this one was already used, has expired, or is not one of ours. " +
				"Nothing was changed. If someone else is using your account, sign in and change your password, or contact your administrator.",
			Links: []link{{Href: "/signin", Label: "Sign in"}},
		}})
	case errors.Is(err, account.ErrInvitationInvalid):
		h.render(w, r, http.StatusGone, pageMessage, &view{Title: "This invitation cannot be used", Data: message{
			Heading: "This invitation cannot be used",
			Text: "An invitation works once, for " + h.invitationLifetime + ", and an administrator can withdraw it. " +
				"Ask the administrator who invited you for a new one; if you already accepted it, sign in.",
			Links: []link{{Href: "/signin", Label: "Sign in"}},
		}})
	case errors.Is(err, account.ErrDeviceNotFound):
		h.setFlash(w, flashDeviceForgotten) // already forgotten: the same outcome
		redirect(w, r, "/me#devices")
	case errors.Is(err, account.ErrEnrollmentRequired):
		h.setFlash(w, flashEnroll)
		redirect(w, r, "/me/two-factor/enable")
	case errors.Is(err, account.ErrTwoFactorRequiredByPolicy):
		h.retry(w, r, rec, http.StatusConflict, nil, "2 factor authentication is required for every account on this server, so it cannot be turned off.")
	case errors.Is(err, account.ErrAccountDeactivated):
		h.retry(w, r, rec, http.StatusForbidden, nil, "This account is deactivated. Ask an administrator to reactivate it.")
	case errors.Is(err, account.ErrSignUpDisabled):
		h.render(w, r, http.StatusForbidden, pageSignUp, &view{Title: "Sign up", Data: signUpData{InviteOnly: true}})
	case errors.Is(err, account.ErrForbidden):
		h.render(w, r, http.StatusForbidden, pageMessage, &view{Title: "For administrators only", Data: message{
			Heading: "For administrators only",
			Text:    "This page is for the administrators of this server.",
			Links:   []link{{Href: "/me", Label: "My info"}},
		}})

	case errors.Is(err, account.ErrUnauthenticated), errors.Is(err, account.ErrNotFound):
		// No session, an expired one, or an account that no longer exists.
		if httpauth.Token(r) != "" {
			httpauth.ClearToken(w, h.cookies)
		}
		redirect(w, r, "/signin")
	case errors.Is(err, account.ErrPendingExpired):
		httpauth.ClearToken(w, h.cookies)
		h.setFlash(w, flashPendingExpired)
		redirect(w, r, "/signin")
	case errors.Is(err, account.ErrSecondFactorRequired):
		redirect(w, r, "/signin/two-factor")
	case errors.Is(err, account.ErrSessionAlreadyAdvanced):
		redirect(w, r, "/me")
	case errors.Is(err, account.ErrReauthRequired):
		back := rec.back
		if back == "" {
			back = r.URL.Path
		}
		redirect(w, r, "/confirm-password?next="+url.QueryEscape(back))
	case errors.Is(err, account.ErrPhoneRequired):
		h.setFlash(w, flashPhoneRequired)
		redirect(w, r, "/me#mobile_phone")
	case errors.Is(err, account.ErrTwoFactorEnabled):
		h.setFlash(w, flashAlreadyOn)
		redirect(w, r, "/me")
	case errors.Is(err, account.ErrTwoFactorNotEnabled):
		h.setFlash(w, flashNotOn)
		redirect(w, r, "/me")
	case errors.Is(err, account.ErrNoPendingSetup):
		redirect(w, r, "/me/two-factor/enable")

	default:
		h.internalError(w, r, err)
	}
}

// retry renders the form again with the messages, or a plain message page
// when the request has no form to go back to.
func (h *handler) retry(w http.ResponseWriter, r *http.Request, rec recovery, status int, fields map[string]string, msg string) {
	if rec.page == "" || rec.view == nil {
		text := msg
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			text += " " + fields[name]
		}
		h.render(w, r, status, pageMessage, &view{Title: "Something needs fixing", Data: message{Heading: "Something needs fixing", Text: text}})
		return
	}
	rec.view.Errors = fields
	rec.view.Message = msg
	h.render(w, r, status, rec.page, rec.view)
}

// waitFor says how long to wait in words, rounded up.
func waitFor(d time.Duration) string {
	if d < time.Minute {
		s := int((d + time.Second - 1) / time.Second)
		return plural(s, "second", "seconds")
	}
	m := int((d + time.Minute - 1) / time.Minute)
	return plural(m, "minute", "minutes")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// message is the data of the plain message page (errors, not found).
type message struct {
	Heading   string
	Text      string
	Reference string
	// Links are where the page sends the person on; the start page when
	// there are none.
	Links []link
}

type link struct {
	Href, Label string
}

// linkExpired answers a sign-up link that is unknown, used, expired or
// spent on wrong passwords. They are not told apart: the token is opaque,
// and the way on is the same.
func (h *handler) linkExpired(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusGone, pageMessage, &view{Title: "This link has expired", Data: message{
		Heading: "This link has expired",
		Text: "Sign-up links work for " + h.linkLifetime + ", once, and for a few tries at the password. " +
			"Sign up again to get a new link, or sign in if you already finished signing up.",
		Links: []link{{Href: "/signup", Label: "Sign up again"}, {Href: "/signin", Label: "Sign in"}},
	}})
}

// internalError logs the detail with the request id and shows a plain
// apology carrying the same id. It does not go through render, so that a
// broken page template cannot loop back here.
func (h *handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	ref := requestid.From(r.Context())
	if ref == "" { // not behind the server's middleware (tests)
		ref = newReference()
	}
	h.log.ErrorContext(r.Context(), "web: internal error", "request_id", ref, "method", r.Method, "path", r.URL.Path, "err", err)
	v := &view{Title: "Something went wrong", Data: message{
		Heading:   "Sorry, something went wrong",
		Text:      "Something went wrong on our side and your request was not completed. Try again in a moment. If it keeps happening, tell your administrator the request id below.",
		Reference: ref,
	}}
	var buf bytes.Buffer
	if t := h.pages[pageMessage]; t == nil || t.ExecuteTemplate(&buf, "layout", v) != nil {
		http.Error(w, "Sorry, something went wrong. Reference: "+ref, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = buf.WriteTo(w)
}

func newReference() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return hex.EncodeToString(b)
}
