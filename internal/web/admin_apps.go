package web

import (
	"errors"
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

const appsPath = "/admin/apps"

// appsData is the data of the administrators' Protected apps page.
type appsData struct {
	Apps    []*account.ProtectedApp
	Default account.AppAccess
}

// The flashes of the Protected apps page.
const (
	flashAppSaved   = "app-saved"
	flashAppDeleted = "app-deleted"
	flashAppGone    = "app-gone"
)

func init() {
	flashes[flashAppSaved] = flash{Kind: "success", Title: "The protected apps are saved.", Text: "Every request decided from now on follows them, on every instance."}
	flashes[flashAppDeleted] = flash{Kind: "success", Title: "The app is removed.", Text: "Its host now follows the default rule, or a wider app that covers it."}
	flashes[flashAppGone] = flash{Kind: "warning", Title: "That app is no longer listed.", Text: "Another administrator removed it meanwhile."}
}

// showApps lists the protected apps with the default rule, and the forms
// that change them.
func (h *handler) showApps(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v, err := h.appsView(r, sess, p, nil)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageApps, v)
}

func (h *handler) appsView(r *http.Request, sess *account.Session, p *account.Profile, form map[string]string) (*view, error) {
	apps, err := h.svc.ProtectedApps(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	if form == nil {
		form = map[string]string{}
	}
	return &view{Title: "Protected apps", User: p.User, Form: form, Wide: true, Data: &appsData{Apps: apps.Apps, Default: apps.Default}}, nil
}

func appInputFrom(r *http.Request) (account.AppInput, map[string]string) {
	in := account.AppInput{
		Host: r.PostFormValue("host"), PathPrefix: r.PostFormValue("path_prefix"),
		Access: account.AppAccess(r.PostFormValue("access")), RequireTwoFactor: r.PostFormValue("require_two_factor") == "on",
	}
	form := map[string]string{"host": in.Host, "path_prefix": in.PathPrefix, "access": string(in.Access)}
	if in.RequireTwoFactor {
		form["require_two_factor"] = "on"
	}
	return in, form
}

// createAppFromPage adds a protected app from the form at the top.
func (h *handler) createAppFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	in, form := appInputFrom(r)
	if _, err := h.svc.CreateProtectedApp(r.Context(), sess, in, httpauth.Client(r)); err != nil {
		h.appsFailed(w, r, sess, p, form, err, false)
		return
	}
	h.setFlash(w, flashAppSaved)
	redirect(w, r, appsPath)
}

// updateAppFromPage saves one row of the list.
func (h *handler) updateAppFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	in, _ := appInputFrom(r)
	if _, err := h.svc.UpdateProtectedApp(r.Context(), sess, id, in, nil, httpauth.Client(r)); err != nil {
		h.appsFailed(w, r, sess, p, nil, err, true)
		return
	}
	h.setFlash(w, flashAppSaved)
	redirect(w, r, appsPath)
}

// deleteAppFromPage removes one app.
func (h *handler) deleteAppFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	if err := h.svc.DeleteProtectedApp(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		h.appsFailed(w, r, sess, p, nil, err, true)
		return
	}
	h.setFlash(w, flashAppDeleted)
	redirect(w, r, appsPath)
}

// defaultAccessFromPage sets the rule for hosts no app lists.
func (h *handler) defaultAccessFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	access := account.AppAccess(r.PostFormValue("default_access"))
	if err := h.svc.SetDefaultAppAccess(r.Context(), sess, access, httpauth.Client(r)); err != nil {
		var invalid *account.ValidationError
		if errors.As(err, &invalid) {
			err = &account.ValidationError{Fields: map[string]string{"default_access": invalid.Fields["access"]}}
		}
		h.appsFailed(w, r, sess, p, nil, err, false)
		return
	}
	h.setFlash(w, flashAppSaved)
	redirect(w, r, appsPath)
}

// appsFailed shows the page again with what went wrong: messages next to
// the fields of the form at the top, a message over the page for a row's
// action (row is set), the common mapping (errors.go) for the rest.
func (h *handler) appsFailed(w http.ResponseWriter, r *http.Request, sess *account.Session, p *account.Profile, form map[string]string, err error, row bool) {
	if errors.Is(err, account.ErrAppNotFound) {
		h.setFlash(w, flashAppGone)
		redirect(w, r, appsPath)
		return
	}
	v, verr := h.appsView(r, sess, p, form)
	if verr != nil {
		h.fail(w, r, verr, recovery{back: appsPath})
		return
	}
	var invalid *account.ValidationError
	switch {
	case errors.Is(err, account.ErrAppExists):
		if row {
			v.Message = "Another app already has this host and path prefix: change that one instead."
		} else {
			v.Errors = map[string]string{"host": "An app with this host and path prefix is already listed below: change that one instead."}
		}
		h.render(w, r, http.StatusConflict, pageApps, v)
	case row && errors.As(err, &invalid):
		for _, field := range []string{"host", "path_prefix", "access"} {
			if msg := invalid.Fields[field]; msg != "" {
				v.Message = msg
				break
			}
		}
		h.render(w, r, http.StatusUnprocessableEntity, pageApps, v)
	default:
		h.fail(w, r, err, recovery{page: pageApps, view: v, back: appsPath})
	}
}
