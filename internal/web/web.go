// Package web serves the server-rendered HTML pages of twofold: sign-up,
// sign-in with its second step, My info with the 2 factor authentication
// settings, backup codes and the security activity list. It turns form
// posts into calls on the account service and the service's errors into
// messages next to the fields; every security rule stays in the account
// package. Security headers, cross-origin checks, body limits and request
// logging are added around this handler by the server package.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

//go:embed templates/*.html
var templateFS embed.FS

// Options configure the pages.
type Options struct {
	// Secure sets the Secure flag on cookies: the base URL is https.
	Secure bool
	// Logger receives internal errors with their detail; nil discards them.
	Logger *slog.Logger
	// SendsEmail is set when the server mails its messages (an SMTP server
	// is configured). Without it messages wait in the outbox for the
	// operator, and the pages that mention a mailed link say so.
	SendsEmail bool
	// CookieDomain, when set, sends the session cookie for that domain and
	// its subdomains (--cookie-domain), for forward-auth across hosts.
	CookieDomain string
	// BaseURL is where browsers reach twofold, which is also the OpenID
	// provider's issuer: the OpenID apps page shows it for pasting into
	// an app. Empty, the page uses the address of its own request.
	BaseURL string
}

// handler carries what every page needs; each page action is a method on it,
// in a file of its own.
type handler struct {
	svc     *account.Service
	secure  bool
	cookies httpauth.Cookies
	log     *slog.Logger
	pages   map[string]*template.Template
	static  *staticFiles
	issuer  string
	// baseURL is Options.BaseURL without a trailing slash.
	baseURL string
	// linkLifetime is how long a mailed sign-up link works, in words
	// ("1 hour"), for the pages that mention it.
	linkLifetime string
	// invitationLifetime is how long an invitation works, in words.
	invitationLifetime string
	// disavowLifetime is how long a "This wasn't me" link works, in words.
	disavowLifetime string
	sendsEmail      bool
}

// New parses every template and returns the handler for all pages, to be
// mounted at "/". A template that does not parse fails New, not a request.
func New(svc *account.Service, opts Options) (http.Handler, error) {
	if svc == nil {
		return nil, errors.New("web: nil account service")
	}
	h := &handler{
		svc:                svc,
		secure:             opts.Secure,
		cookies:            httpauth.Cookies{Secure: opts.Secure, Domain: opts.CookieDomain},
		log:                opts.Logger,
		issuer:             svc.Policy().Issuer,
		baseURL:            strings.TrimRight(opts.BaseURL, "/"),
		linkLifetime:       account.DescribeDuration(svc.Policy().SignUpLinkTTL),
		invitationLifetime: account.DescribeDuration(svc.Policy().InvitationTTL),
		disavowLifetime:    account.DescribeDuration(svc.Policy().DisavowLinkTTL),
		sendsEmail:         opts.SendsEmail,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if h.static, err = newStaticFiles(); err != nil {
		return nil, err
	}
	if h.pages, err = parsePages(h.templateFuncs()); err != nil {
		return nil, err
	}
	return h.routes(), nil
}

// parsePages parses the layout once and each page on a clone of it, so that
// every page defines its own "title" and "content" blocks.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: clone layout for %s: %w", name, err)
		}
		if _, err := t.ParseFS(templateFS, file); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", file, err)
		}
		pages[name] = t
	}
	for _, name := range pageNames {
		if pages[name] == nil {
			return nil, fmt.Errorf("web: missing template %s.html", name)
		}
	}
	return pages, nil
}

// Template names used by the handlers; New fails if one is missing.
const (
	pageSignUp          = "signup"
	pageSignUpSent      = "signup_sent"
	pageSignUpConfirm   = "signup_confirm"
	pageSignIn          = "signin"
	pageTwoFactor       = "two_factor"
	pageMe              = "me"
	pageEnable          = "two_factor_enable"
	pageDisable         = "two_factor_disable"
	pageBackupCodes     = "backup_codes"
	pageConfirmPassword = "confirm_password"
	pageChangePassword  = "change_password"
	pageMessage         = "message"
	pageInvite          = "invite"
	pageUsers           = "users"
	pageLostPhone       = "lost_phone"
	pageResetUser       = "reset_user"
	pageRecovery        = "recovery"
	pageSignOut         = "signout"
	pageApps            = "admin_apps"
	pageOIDCClients     = "admin_oidc"
	pageDisavow         = "this_wasnt_me"
)

var pageNames = []string{pageSignUp, pageSignUpSent, pageSignUpConfirm, pageSignIn, pageTwoFactor, pageMe, pageEnable, pageDisable, pageBackupCodes, pageConfirmPassword, pageChangePassword, pageMessage, pageInvite, pageUsers, pageLostPhone, pageResetUser, pageRecovery, pageSignOut, pageApps, pageOIDCClients, pageDisavow}

func (h *handler) templateFuncs() template.FuncMap {
	return template.FuncMap{
		"static": h.static.url,
		// utc formats a time for people, in UTC so that every reader of the
		// page sees the same clock.
		"utc":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
		"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"plural": plural,
		// displayPhone writes a stored E.164 number for people.
		"displayPhone": account.DisplayPhone,
		// field builds the data of the "field" partial (field.go).
		"field": newField,
	}
}

// view is what every template receives. Page-specific data goes in Data.
type view struct {
	Title   string
	User    *account.User     // the signed-in user for the header; nil otherwise
	Flash   *flash            // a message carried over a redirect
	Message string            // a problem with the form as a whole
	Errors  map[string]string // problems by field name, shown next to the field
	Form    map[string]string // values to put back into the fields
	// Focus names the field that gets the autofocus attribute: the first
	// one with a problem, else the one field of a single-purpose page. Set
	// by render; templates compare it with each field's name.
	Focus string
	Data  any
	// TwoFactorDeadline is when the signed-in account must have 2FA on,
	// while 2FA is required and the grace period runs: every page shows it.
	TwoFactorDeadline time.Time
	// Wide pages (the Users table) get more of a large screen.
	Wide bool
	// App names the app (OpenID client) the browser is signing in for,
	// on the sign-in pages.
	App string
}

// fieldOrder lists the fields of each form from top to bottom, so that focus
// lands on the first field with a problem.
var fieldOrder = map[string][]string{
	pageSignUp:          {"name", "email", "password", "mobile_phone"},
	pageSignUpConfirm:   {"password"},
	pageInvite:          {"email", "name", "password"},
	pageUsers:           {"require_two_factor", "grace_period_days", "recovery_delay_hours", "email"},
	pageApps:            {"default_access", "host", "path_prefix", "access"},
	pageOIDCClients:     {"name", "redirect_uris", "post_logout_redirect_uris", "public", "require_two_factor", "id_token_signed_response_alg"},
	pageSignIn:          {"email", "password"},
	pageMe:              {"name", "mobile_phone"},
	pageTwoFactor:       {"code"},
	pageLostPhone:       {"message"},
	pageResetUser:       {"code", "reason"},
	pageRecovery:        {"sms_code"},
	pageEnable:          {"code"},
	pageDisable:         {"password", "code"},
	pageConfirmPassword: {"password"},
	pageChangePassword:  {"current_password", "new_password"},
	pageDisavow:         {"password"},
}

// defaultFocus is the field of a page whose only job is that field; other
// pages leave focus alone until there is a problem, so that a screen reader
// starts at the top and the setup page does not scroll past its QR code.
var defaultFocus = map[string]string{
	pageTwoFactor:       "code",
	pageConfirmPassword: "password",
	pageSignUpConfirm:   "password",
	pageDisavow:         "password",
}

// focusField picks the field to focus: the first with an error; after a
// wrong email or password (a message about the form, no field errors) the
// password, which is always empty again; else the page's default.
func focusField(page string, v *view) string {
	for _, name := range fieldOrder[page] {
		if v.Errors[name] != "" {
			return name
		}
	}
	if page == pageSignIn && v.Message != "" {
		return "password"
	}
	return defaultFocus[page]
}

// render executes a page into a buffer and only then writes it, so a
// template failure becomes an apology rather than half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	// The pending flash is always taken (and its cookie cleared), even when
	// the page brings a message of its own.
	if f := h.takeFlash(w, r); v.Flash == nil {
		v.Flash = f
	}
	if v.Focus == "" {
		v.Focus = focusField(page, v)
	}
	var app pendingApp
	if pendingReturn(r) != "" {
		app = h.pendingAppOf(r) // one lookup for the name and the form-action
	}
	if v.App == "" && (page == pageSignIn || page == pageTwoFactor) {
		v.App = app.name
	}
	if d := w.Header().Get(deadlineHeader); d != "" && v.User != nil && !v.User.TwoFactorEnabled() {
		if t, err := time.Parse(time.RFC3339, d); err == nil {
			v.TwoFactorDeadline = t
		}
	}
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.internalError(w, r, fmt.Errorf("web: render %s: %w", page, err))
		return
	}
	allowFormTarget(w, app.origin)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// redirect sends the browser to a local path with 303 See Other, so a
// redirect after a POST is followed with a GET.
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}
