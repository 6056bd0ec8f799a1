package web

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

var (
	newClientID     = regexp.MustCompile(`<input id="new-client-id" type="text" value="([^"]+)"`)
	newClientSecret = regexp.MustCompile(`<input id="new-client-secret" type="text" value="([^"]+)"`)
)

// shownCredentials reads the client_id and client_secret from the box
// that shows them once; secret is "" when the box has none.
func shownCredentials(t *testing.T, r *response) (id, secret string) {
	t.Helper()
	m := newClientID.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s %s: no client_id shown\n%s", r.method, r.path, excerpt(r.body))
	}
	id = html.UnescapeString(m[1])
	if m := newClientSecret.FindStringSubmatch(r.body); m != nil {
		secret = html.UnescapeString(m[1])
	}
	return id, secret
}

// The OpenID apps page: an administrator registers a confidential app and
// sees its client_id and secret once (the secret works, it is on no page
// after), with the issuer and discovery URL to paste into the app; a
// public app is told it has no secret; a new secret replaces the old one;
// removing works, and twice says the app is gone; the signing key is
// rotated from the page. The actions are in the Users page's audit log.
func TestOIDCClientsPage(t *testing.T) {
	s := newSiteWith(t, Options{BaseURL: "https://id.example.com/"})
	admin := adminBrowser(t, s)
	wantText(t, admin.page(usersPath), `href="`+oidcClientsPath+`"`, `href="/admin/apps"`)
	page := admin.page(oidcClientsPath)
	wantText(t, page, "OpenID apps — twofold", "Register an app", "No apps are registered yet.",
		`<textarea id="redirect_uris" name="redirect_uris"`, "Public client (no secret, PKCE)", "Require 2FA for this app")
	wantNoText(t, page, "Copy the secret now")

	r := admin.post(oidcClientsPath, url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.com/cb\r\nhttps://wiki.example.com/cb2\r\n"},
		"post_logout_redirect_uris": {"https://wiki.example.com/"}, "require_two_factor": {"on"}})
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "Wiki is registered.", "Copy the secret now: it is not shown again",
		`value="https://id.example.com"`, `value="https://id.example.com/.well-known/openid-configuration"`)
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("the page with the secret: Cache-Control %q; want no-store", got)
	}
	id, secret := shownCredentials(t, r)
	if secret == "" {
		t.Fatalf("a confidential app's secret is not shown\n%s", excerpt(r.body))
	}
	if err := s.env.Service.CheckOIDCClientSecret(t.Context(), id, secret); err != nil {
		t.Errorf("the secret shown does not work: %v", err)
	}
	c, err := s.env.Service.OIDCClient(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Wiki" || c.Public || !c.RequireTwoFactor || strings.Join(c.RedirectURIs, " ") != "https://wiki.example.com/cb https://wiki.example.com/cb2" ||
		strings.Join(c.PostLogoutRedirectURIs, " ") != "https://wiki.example.com/" {
		t.Errorf("registered %+v; want Wiki, confidential, requiring 2FA, with the URIs one per line", c)
	}

	// The list afterwards: everything but the secret.
	list := admin.page(oidcClientsPath)
	wantText(t, list, "<td>Wiki</td>", "<code>"+id+"</code>", "<td>Confidential</td>", "<td>Yes</td>",
		"<code>https://wiki.example.com/cb</code>", "<code>https://wiki.example.com/cb2</code>",
		`action="/admin/oidc/`+id+`/secret"`, `action="/admin/oidc/`+id+`/remove"`)
	wantNoText(t, list, secret, "Copy the secret now", "No apps are registered yet.")

	// A public app has no secret, must use PKCE, and offers none to replace.
	r = admin.post(oidcClientsPath, url.Values{"name": {"Board"}, "redirect_uris": {"http://127.0.0.1:8080/cb"}, "public": {"on"}})
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "Board is registered.", "This is a public client: it has no secret.", "PKCE")
	wantNoText(t, r, "Copy the secret now", `id="new-client-secret"`)
	publicID, _ := shownCredentials(t, r)
	list = admin.page(oidcClientsPath)
	wantText(t, list, "<td>Public (PKCE)</td>", "<td>No</td>", `action="/admin/oidc/`+publicID+`/remove"`)
	wantNoText(t, list, `action="/admin/oidc/`+publicID+`/secret"`)
	r = admin.post(oidcClientsPath+"/"+publicID+"/secret", nil)
	wantStatus(t, r, http.StatusConflict)
	wantText(t, r, "Board is a public client: it has no secret to replace.")

	// A new secret, shown once; the old one stops working.
	r = admin.post(oidcClientsPath+"/"+id+"/secret", nil)
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "The secret of Wiki is replaced.", "New secret for Wiki", "Copy the secret now: it is not shown again")
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("the page with the new secret: Cache-Control %q; want no-store", got)
	}
	sameID, rotated := shownCredentials(t, r)
	if sameID != id || rotated == "" || rotated == secret {
		t.Fatalf("after a new secret: client_id %q, secret %q; want %q with a new secret", sameID, rotated, id)
	}
	if err := s.env.Service.CheckOIDCClientSecret(t.Context(), id, rotated); err != nil {
		t.Errorf("the new secret does not work: %v", err)
	}
	if err := s.env.Service.CheckOIDCClientSecret(t.Context(), id, secret); err == nil {
		t.Error("the old secret still works after a new one was made")
	}
	wantNoText(t, admin.page(oidcClientsPath), rotated)

	// The signing key.
	wantRedirect(t, admin.post(oidcClientsPath+"/keys/rotate", nil), oidcClientsPath)
	wantText(t, admin.page(oidcClientsPath), "New signing keys sign ID tokens from now on.")

	// Removing, then an app removed meanwhile (a second tab).
	wantRedirect(t, admin.post(oidcClientsPath+"/"+id+"/remove", nil), oidcClientsPath)
	list = admin.page(oidcClientsPath)
	wantText(t, list, "The app is removed.", "<td>Board</td>")
	wantNoText(t, list, id)
	if _, err := s.env.Service.OIDCClient(t.Context(), id); !errors.Is(err, account.ErrOIDCClientNotFound) {
		t.Errorf("OIDCClient(removed) = %v; want ErrOIDCClientNotFound", err)
	}
	for _, action := range []string{"remove", "secret"} {
		wantRedirect(t, admin.post(oidcClientsPath+"/"+id+"/"+action, nil), oidcClientsPath)
		wantText(t, admin.page(oidcClientsPath), "That app is no longer registered.")
	}

	wantText(t, admin.page(usersPath), string(account.AuditOIDCClientAdd)+": Wiki", string(account.AuditOIDCClientSecret),
		string(account.AuditOIDCKeysRotate), string(account.AuditOIDCClientRemove)+": Wiki")
	checkPages(t, admin.pages)
}

// A problem with the registration form is a message next to its field
// (422) with what was typed kept, and focus on it; nothing is registered.
func TestOIDCClientsPageValidation(t *testing.T) {
	s := newSite(t)
	admin := adminBrowser(t, s)
	valid := url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.com/cb"}, "post_logout_redirect_uris": {""}, "require_two_factor": {"on"}}
	tests := []struct {
		name   string
		change url.Values
		field  string
		want   string // "" means any message
	}{
		{"plain http to another host", url.Values{"redirect_uris": {"http://app.example.com/cb"}}, "redirect_uris",
			account.ValidRedirectURI("http://app.example.com/cb")},
		{"one bad among good", url.Values{"redirect_uris": {"https://wiki.example.com/cb\nhttp://app.example.com/cb"}}, "redirect_uris",
			account.ValidRedirectURI("http://app.example.com/cb")},
		{"no redirect URI", url.Values{"redirect_uris": {" \r\n "}}, "redirect_uris", ""},
		{"a fragment", url.Values{"redirect_uris": {"https://wiki.example.com/cb#x"}}, "redirect_uris", ""},
		{"bad post-logout URI", url.Values{"post_logout_redirect_uris": {"wiki.example.com/bye"}}, "post_logout_redirect_uris",
			account.ValidRedirectURI("wiki.example.com/bye")},
		{"no name", url.Values{"name": {"  "}}, "name", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range valid {
				form[k] = v
			}
			for k, v := range tt.change {
				form[k] = v
			}
			r := admin.post(oidcClientsPath, form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			got := fieldError(t, r, tt.field)
			if got == "" || (tt.want != "" && got != tt.want) {
				t.Errorf("message next to %s: got %q; want %q", tt.field, got, tt.want)
			}
			if focus := strings.Join(autofocused(r), " "); focus != tt.field {
				t.Errorf("autofocus on %q; want %q", focus, tt.field)
			}
			if tt.field != "name" {
				wantText(t, r, `id="name" name="name" type="text"`, `value="Wiki"`)
			}
			uris := regexp.MustCompile(`<textarea id="redirect_uris"[^>]*>([^<]*)</textarea>`).FindStringSubmatch(r.body)
			if uris == nil || html.UnescapeString(uris[1]) != form.Get("redirect_uris") {
				t.Errorf("redirect URIs not kept: %q; want %q", uris, form.Get("redirect_uris"))
			}
			wantText(t, r, `id="require_two_factor" name="require_two_factor" type="checkbox" checked`)
			wantNoText(t, r, "Copy the secret now", "is registered.")
		})
	}
	if list, err := s.env.Service.OIDCClients(t.Context(), nil); err != nil || len(list) != 0 {
		t.Errorf("after only bad forms, %d apps are registered (%v); want none", len(list), err)
	}
	checkPages(t, admin.pages)
}

// Members get the 403 page for every action of the page, and nothing is
// changed; an administrator's action asks for the password again after
// 10 minutes and is not carried out.
func TestOIDCClientsPageIsForAdministrators(t *testing.T) {
	s := newSite(t)
	admin := adminBrowser(t, s)
	r := admin.post(oidcClientsPath, url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.com/cb"}})
	wantStatus(t, r, http.StatusOK)
	id, secret := shownCredentials(t, r)

	member := s.browser(t)
	member.signUp(testPhone)
	for _, tt := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", oidcClientsPath, nil},
		{"POST", oidcClientsPath, url.Values{"name": {"Mallory"}, "redirect_uris": {"https://evil.example/cb"}}},
		{"POST", oidcClientsPath + "/" + id + "/secret", url.Values{}},
		{"POST", oidcClientsPath + "/" + id + "/remove", url.Values{}},
		{"POST", oidcClientsPath + "/keys/rotate", url.Values{}},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := member.do(tt.method, tt.path, tt.form)
			wantStatus(t, r, http.StatusForbidden)
			wantText(t, r, "For administrators only")
			wantNoText(t, r, id)
		})
	}
	list, err := s.env.Service.OIDCClients(t.Context(), nil)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("after a member's tries, the apps are %v (%v); want only %s", list, err, id)
	}
	if err := s.env.Service.CheckOIDCClientSecret(t.Context(), id, secret); err != nil {
		t.Errorf("after a member's tries, the secret no longer works: %v", err)
	}

	s.env.Clock.Advance(11 * time.Minute)
	wantRedirect(t, admin.post(oidcClientsPath+"/"+id+"/remove", nil), "/confirm-password?next=%2Fadmin%2Foidc")
	if _, err := s.env.Service.OIDCClient(t.Context(), id); err != nil {
		t.Errorf("the removal without a recent password was carried out: %v", err)
	}
	checkPages(t, member.pages)
}
