package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// appJSON is a protected app on the wire.
type appJSON struct {
	ID               int64     `json:"id"`
	Host             string    `json:"host"`
	PathPrefix       string    `json:"path_prefix"`
	Access           string    `json:"access"`
	RequireTwoFactor bool      `json:"require_two_factor"`
	CreatedAt        time.Time `json:"created_at"`
}

func newAppJSON(a *account.ProtectedApp) appJSON {
	return appJSON{ID: a.ID, Host: a.Host, PathPrefix: a.PathPrefix, Access: string(a.Access), RequireTwoFactor: a.RequireTwoFactor, CreatedAt: a.CreatedAt}
}

type appsResponse struct {
	// DefaultAccess is the rule for hosts no app lists: everyone or deny.
	DefaultAccess string    `json:"default_access"`
	Apps          []appJSON `json:"apps"`
}

// appRequest creates an app (host and access required) or, in a PATCH,
// changes the members given.
type appRequest struct {
	Host             *string `json:"host"`
	PathPrefix       *string `json:"path_prefix"`
	Access           *string `json:"access"`
	RequireTwoFactor *bool   `json:"require_two_factor"`
}

func (in appRequest) over(a account.AppInput) account.AppInput {
	if in.Host != nil {
		a.Host = *in.Host
	}
	if in.PathPrefix != nil {
		a.PathPrefix = *in.PathPrefix
	}
	if in.Access != nil {
		a.Access = account.AppAccess(*in.Access)
	}
	if in.RequireTwoFactor != nil {
		a.RequireTwoFactor = *in.RequireTwoFactor
	}
	return a
}

func (h *handler) apps(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	list, err := h.svc.ProtectedApps(r.Context(), sess)
	if err != nil {
		return err
	}
	out := appsResponse{DefaultAccess: string(list.Default), Apps: []appJSON{}}
	for _, a := range list.Apps {
		out.Apps = append(out.Apps, newAppJSON(a))
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

func (h *handler) createApp(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in appRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	a, err := h.svc.CreateProtectedApp(r.Context(), sess, in.over(account.AppInput{}), httpauth.Client(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/admin/apps/"+strconv.FormatInt(a.ID, 10))
	return h.writeJSON(w, r, http.StatusCreated, newAppJSON(a))
}

func appID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, account.ErrAppNotFound
	}
	return id, nil
}

// updateApp changes the members given; the others keep the values read.
func (h *handler) updateApp(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := appID(r)
	if err != nil {
		return err
	}
	var in appRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	list, err := h.svc.ProtectedApps(r.Context(), sess)
	if err != nil {
		return err
	}
	var current *account.ProtectedApp
	for _, a := range list.Apps {
		if a.ID == id {
			current = a
		}
	}
	if current == nil {
		return account.ErrAppNotFound
	}
	was := account.AppInput{Host: current.Host, PathPrefix: current.PathPrefix, Access: current.Access, RequireTwoFactor: current.RequireTwoFactor}
	a, err := h.svc.UpdateProtectedApp(r.Context(), sess, id, in.over(was), &was, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, newAppJSON(a))
}

func (h *handler) deleteApp(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	id, err := appID(r)
	if err != nil {
		return err
	}
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	if err := h.svc.DeleteProtectedApp(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type defaultAccessRequest struct {
	Access string `json:"access"`
}

func (h *handler) setDefaultAccess(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in defaultAccessRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.SetDefaultAppAccess(r.Context(), sess, account.AppAccess(in.Access), httpauth.Client(r)); err != nil {
		return err
	}
	return h.apps(w, r, sess)
}

// appProblem is problemFor's answer for the protected apps' errors.
func appProblem(err error) (*problem, bool) {
	switch {
	case errors.Is(err, account.ErrAppExists):
		return newProblem(http.StatusConflict, "app_exists", "A protected app with this host and path prefix already exists: change that one instead."), true
	case errors.Is(err, account.ErrAppNotFound):
		return newProblem(http.StatusNotFound, "not_found", "There is no protected app with this id."), true
	}
	return nil, false
}
