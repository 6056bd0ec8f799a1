package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/httpauth"
)

// The administrators' OpenID apps: register (the secret in this answer
// only), list without secrets, a new secret, remove; bad input is a
// problem naming its field.
func TestAdminOIDCClientsAPI(t *testing.T) {
	e := newAuthzEnv(t)
	send := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: token})
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	rec := send("POST", "/api/v1/admin/oidc/clients", e.admin, `{"name":"Grafana","redirect_uris":["https://grafana.example.com/cb"],"require_two_factor":true,"id_token_signed_response_alg":"ES256"}`)
	var c oidcClientJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &c); rec.Code != 201 || err != nil || c.ClientID == "" || len(c.ClientSecret) < 40 ||
		!c.RequireTwoFactor || c.IDTokenSignedResponseAlg != "ES256" || rec.Header().Get("Location") != "/api/v1/admin/oidc/clients/"+c.ClientID {
		t.Fatalf("POST /admin/oidc/clients = %d %s (Location %q)", rec.Code, rec.Body, rec.Header().Get("Location"))
	}
	if err := e.env.Service.CheckOIDCClientSecret(t.Context(), c.ClientID, c.ClientSecret); err != nil {
		t.Errorf("the secret answered does not authenticate the client: %v", err)
	}
	list := send("GET", "/api/v1/admin/oidc/clients", e.admin, ``)
	if list.Code != 200 || !strings.Contains(list.Body.String(), c.ClientID) || strings.Contains(list.Body.String(), c.ClientSecret) || strings.Contains(list.Body.String(), "client_secret") {
		t.Errorf("GET /admin/oidc/clients = %d %s; want the client without its secret", list.Code, list.Body)
	}
	rotated := send("POST", "/api/v1/admin/oidc/clients/"+c.ClientID+"/secret", e.admin, ``)
	var next struct {
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(rotated.Body.Bytes(), &next); rotated.Code != 200 || err != nil || next.Secret == "" || next.Secret == c.ClientSecret {
		t.Errorf("POST …/secret = %d %s; want a new secret", rotated.Code, rotated.Body)
	}
	if err := e.env.Service.CheckOIDCClientSecret(t.Context(), c.ClientID, c.ClientSecret); err == nil {
		t.Error("the old secret still works after a new one was made")
	}
	for _, p := range []struct {
		method, path, token, body string
		status                    int
		code, field               string
	}{
		{"POST", "/api/v1/admin/oidc/clients", e.admin, `{"name":"A","redirect_uris":["http://app.example.com/cb"]}`, 422, "validation_failed", "redirect_uris"},
		{"POST", "/api/v1/admin/oidc/clients", e.admin, `{"redirect_uris":["https://app.example.com/cb"]}`, 422, "validation_failed", "name"},
		{"POST", "/api/v1/admin/oidc/clients", e.admin, `{"name":"A","redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":"none"}`, 422, "validation_failed", "id_token_signed_response_alg"},
		{"POST", "/api/v1/admin/oidc/clients", e.admin, `{"name":"A","redirect_uris":"https://a.example/cb"}`, 400, "invalid_request", "redirect_uris"},
		{"POST", "/api/v1/admin/oidc/clients", e.member, `{"name":"A","redirect_uris":["https://a.example/cb"]}`, 403, "forbidden", ""},
		{"GET", "/api/v1/admin/oidc/clients", "", ``, 401, "unauthenticated", ""},
		{"DELETE", "/api/v1/admin/oidc/clients/nope", e.admin, ``, 404, "not_found", ""},
		{"POST", "/api/v1/admin/oidc/clients/nope/secret", e.admin, ``, 404, "not_found", ""},
	} {
		rec := send(p.method, p.path, p.token, p.body)
		var pr problem
		_ = json.Unmarshal(rec.Body.Bytes(), &pr)
		if rec.Code != p.status || pr.Code != p.code || (p.field != "" && pr.Errors[p.field] == "") {
			t.Errorf("%s %s %s = %d %s; want %d %s (field %q)", p.method, p.path, p.body, rec.Code, rec.Body, p.status, p.code, p.field)
		}
	}
	if rec := send("DELETE", "/api/v1/admin/oidc/clients/"+c.ClientID, e.admin, ``); rec.Code != 204 {
		t.Errorf("DELETE = %d %s; want 204", rec.Code, rec.Body)
	}
	if rec := send("GET", "/api/v1/admin/oidc/clients", e.admin, ``); !strings.Contains(rec.Body.String(), `"clients":[]`) {
		t.Errorf("GET after the removal = %s; want no clients", rec.Body)
	}
}
