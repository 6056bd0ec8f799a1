package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/oidc"
)

const oidcClientsPath = "/admin/oidc"

// oidcClientsData is the data of the administrators' OpenID apps page.
type oidcClientsData struct {
	Clients []*account.OIDCClient
	// Issuer and Discovery are what an app is configured with.
	Issuer, Discovery string
	// RetiredKeyLifetime is how long a rotated-out signing key stays
	// published, in words.
	RetiredKeyLifetime string
	// New is the app just registered, or whose secret was just replaced:
	// its secret is on this page and nowhere else, ever.
	New *newOIDCClient
}

// newOIDCClient is the box that shows a client's credentials once.
type newOIDCClient struct {
	ID, Name string
	Secret   string // "" for a public client
	Public   bool
	Rotated  bool // a new secret for an app registered earlier
}

// The flashes of the OpenID apps page.
const (
	flashOIDCClientRemoved = "oidc-client-removed"
	flashOIDCClientGone    = "oidc-client-gone"
	flashOIDCKeysRotated   = "oidc-keys-rotated"
)

func init() {
	flashes[flashOIDCClientRemoved] = flash{Kind: "success", Title: "The app is removed.",
		Text: "Its sign-ins, codes and tokens ended with it: people signed in to it through twofold must sign in again, and it can no longer ask."}
	flashes[flashOIDCClientGone] = flash{Kind: "warning", Title: "That app is no longer registered.", Text: "Another administrator removed it meanwhile."}
	flashes[flashOIDCKeysRotated] = flash{Kind: "success", Title: "New signing keys sign ID tokens from now on.",
		Text: "The old keys stay published for " + account.DescribeDuration(account.OIDCRetiredKeyTTL) + ", so the tokens they signed still verify until they expire."}
}

// showOIDCClients lists the apps registered with the OpenID provider and
// the form that registers one.
func (h *handler) showOIDCClients(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v, err := h.oidcClientsView(r, sess, p, nil)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageOIDCClients, v)
}

func (h *handler) oidcClientsView(r *http.Request, sess *account.Session, p *account.Profile, form map[string]string) (*view, error) {
	clients, err := h.svc.OIDCClients(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	if form == nil {
		form = map[string]string{}
	}
	issuer := h.issuerURL(r)
	return &view{Title: "OpenID apps", User: p.User, Form: form, Wide: true, Data: &oidcClientsData{
		Clients: clients, Issuer: issuer, Discovery: issuer + oidc.DiscoveryPath,
		RetiredKeyLifetime: account.DescribeDuration(account.OIDCRetiredKeyTTL),
	}}, nil
}

// issuerURL is the OpenID provider's issuer: the base URL. Without one
// (the page tests), the address this request came to stands in.
func (h *handler) issuerURL(r *http.Request) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	scheme := "http"
	if h.secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oidcClientInputFrom reads the registration form: the URIs one per line
// (any white space separates them: a URI has none).
func oidcClientInputFrom(r *http.Request) (account.OIDCClientInput, map[string]string) {
	in := account.OIDCClientInput{
		Name:                   r.PostFormValue("name"),
		RedirectURIs:           strings.Fields(r.PostFormValue("redirect_uris")),
		PostLogoutRedirectURIs: strings.Fields(r.PostFormValue("post_logout_redirect_uris")),
		Public:                 r.PostFormValue("public") == "on",
		RequireTwoFactor:       r.PostFormValue("require_two_factor") == "on",
		IDTokenAlgorithm:       r.PostFormValue("id_token_signed_response_alg"),
	}
	form := map[string]string{"name": in.Name, "redirect_uris": r.PostFormValue("redirect_uris"),
		"id_token_signed_response_alg": in.IDTokenAlgorithm,
		"post_logout_redirect_uris":    r.PostFormValue("post_logout_redirect_uris")}
	if in.Public {
		form["public"] = "on"
	}
	if in.RequireTwoFactor {
		form["require_two_factor"] = "on"
	}
	return in, form
}

// registerOIDCClientFromPage registers an app and shows its client_id and
// (for a confidential one) its secret, on this answer only: no redirect,
// so the secret is never in a URL, a cookie or a page shown again.
func (h *handler) registerOIDCClientFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	in, form := oidcClientInputFrom(r)
	c, secret, err := h.svc.RegisterOIDCClient(r.Context(), sess, in, httpauth.Client(r))
	if err != nil {
		h.oidcClientsFailed(w, r, sess, p, form, err)
		return
	}
	h.showOIDCCredentials(w, r, sess, p, &newOIDCClient{ID: c.ID, Name: c.Name, Secret: secret, Public: c.Public},
		&flash{Kind: "success", Title: c.Name + " is registered."})
}

// rotateOIDCClientSecretFromPage gives a confidential app a new secret,
// shown once; the old one stops working at once.
func (h *handler) rotateOIDCClientSecretFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	secret, err := h.svc.RotateOIDCClientSecret(r.Context(), sess, id, httpauth.Client(r))
	if errors.Is(err, account.ErrOIDCClientNotFound) {
		// The store says "not found" for a public client too, which has
		// no secret to replace: tell the two apart for the message.
		if c, cerr := h.svc.OIDCClient(r.Context(), id); cerr == nil && c.Public {
			v, verr := h.oidcClientsView(r, sess, p, nil)
			if verr != nil {
				h.fail(w, r, verr, recovery{back: oidcClientsPath})
				return
			}
			v.Message = c.Name + " is a public client: it has no secret to replace."
			h.render(w, r, http.StatusConflict, pageOIDCClients, v)
			return
		}
	}
	if err != nil {
		h.oidcClientsFailed(w, r, sess, p, nil, err)
		return
	}
	name := id
	if c, err := h.svc.OIDCClient(r.Context(), id); err == nil {
		name = c.Name
	}
	h.showOIDCCredentials(w, r, sess, p, &newOIDCClient{ID: id, Name: name, Secret: secret, Rotated: true},
		&flash{Kind: "success", Title: "The secret of " + name + " is replaced.", Text: "The old secret no longer works: put the new one into the app now."})
}

// showOIDCCredentials renders the page with the box that shows an app's
// credentials this once. The answer is not to be stored anywhere.
func (h *handler) showOIDCCredentials(w http.ResponseWriter, r *http.Request, sess *account.Session, p *account.Profile, n *newOIDCClient, f *flash) {
	v, err := h.oidcClientsView(r, sess, p, nil)
	if err != nil {
		// The change is made and only the list failed: the secret is
		// lost, and rotating it from the page makes another.
		h.fail(w, r, err, recovery{back: oidcClientsPath})
		return
	}
	v.Data.(*oidcClientsData).New = n
	v.Flash = f
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, pageOIDCClients, v)
}

// removeOIDCClientFromPage unregisters an app.
func (h *handler) removeOIDCClientFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if err := h.svc.RemoveOIDCClient(r.Context(), sess, r.PathValue("id"), httpauth.Client(r)); err != nil {
		h.oidcClientsFailed(w, r, sess, p, nil, err)
		return
	}
	h.setFlash(w, flashOIDCClientRemoved)
	redirect(w, r, oidcClientsPath)
}

// rotateSigningKeysFromPage replaces the provider's signing key.
func (h *handler) rotateSigningKeysFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if err := h.svc.RotateSigningKeys(r.Context(), sess, httpauth.Client(r)); err != nil {
		h.oidcClientsFailed(w, r, sess, p, nil, err)
		return
	}
	h.setFlash(w, flashOIDCKeysRotated)
	redirect(w, r, oidcClientsPath)
}

// oidcClientsFailed shows the page again with what went wrong: messages
// next to the registration form's fields (422, the typed values kept), a
// flash for an app removed meanwhile, the common mapping (errors.go) for
// the rest.
func (h *handler) oidcClientsFailed(w http.ResponseWriter, r *http.Request, sess *account.Session, p *account.Profile, form map[string]string, err error) {
	if errors.Is(err, account.ErrOIDCClientNotFound) {
		h.setFlash(w, flashOIDCClientGone)
		redirect(w, r, oidcClientsPath)
		return
	}
	v, verr := h.oidcClientsView(r, sess, p, form)
	if verr != nil {
		h.fail(w, r, verr, recovery{back: oidcClientsPath})
		return
	}
	h.fail(w, r, err, recovery{page: pageOIDCClients, view: v, back: oidcClientsPath})
}
