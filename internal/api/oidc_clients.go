package api

import (
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// oidcClientJSON is an app registered with the OpenID provider, on the
// wire. The secret is in the answer that makes it, and never again.
type oidcClientJSON struct {
	ClientID               string   `json:"client_id"`
	ClientSecret           string   `json:"client_secret,omitempty"`
	Name                   string   `json:"name"`
	Public                 bool     `json:"public"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	RequireTwoFactor       bool     `json:"require_two_factor"`
	// IDTokenSignedResponseAlg is RFC 7591's name: RS256 or ES256.
	IDTokenSignedResponseAlg string    `json:"id_token_signed_response_alg"`
	CreatedAt                time.Time `json:"created_at"`
}

func newOIDCClientJSON(c *account.OIDCClient, secret string) oidcClientJSON {
	out := oidcClientJSON{ClientID: c.ID, ClientSecret: secret, Name: c.Name, Public: c.Public, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, RequireTwoFactor: c.RequireTwoFactor,
		IDTokenSignedResponseAlg: c.IDTokenAlgorithm, CreatedAt: c.CreatedAt}
	if out.RedirectURIs == nil {
		out.RedirectURIs = []string{}
	}
	if out.PostLogoutRedirectURIs == nil {
		out.PostLogoutRedirectURIs = []string{}
	}
	return out
}

type oidcClientRequest struct {
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	RequireTwoFactor       bool     `json:"require_two_factor"`
	// IDTokenSignedResponseAlg: RS256 (the default) or ES256.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg"`
}

func (h *handler) oidcClients(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	list, err := h.svc.OIDCClients(r.Context(), sess)
	if err != nil {
		return err
	}
	out := struct {
		Clients []oidcClientJSON `json:"clients"`
	}{Clients: []oidcClientJSON{}}
	for _, c := range list {
		out.Clients = append(out.Clients, newOIDCClientJSON(c, ""))
	}
	return h.writeJSON(w, r, http.StatusOK, out)
}

func (h *handler) createOIDCClient(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in oidcClientRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	c, secret, err := h.svc.RegisterOIDCClient(r.Context(), sess, account.OIDCClientInput{Name: in.Name, RedirectURIs: in.RedirectURIs,
		PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, Public: in.Public, RequireTwoFactor: in.RequireTwoFactor,
		IDTokenAlgorithm: in.IDTokenSignedResponseAlg}, httpauth.Client(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/admin/oidc/clients/"+c.ID)
	return h.writeJSON(w, r, http.StatusCreated, newOIDCClientJSON(c, secret))
}

func (h *handler) deleteOIDCClient(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	if err := h.svc.RemoveOIDCClient(r.Context(), sess, r.PathValue("id"), httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) rotateOIDCClientSecret(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	secret, err := h.svc.RotateOIDCClientSecret(r.Context(), sess, r.PathValue("id"), httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, map[string]string{"client_id": r.PathValue("id"), "client_secret": secret})
}
