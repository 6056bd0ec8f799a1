package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twofold/twofold/internal/accounttest"
)

// The session cookie is HttpOnly and SameSite=Lax always, and Secure exactly
// when the service is served over https.
func TestSessionCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		env := accounttest.New(t)
		h := New(env.Service, Options{Secure: secure})
		post := func(path, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		if rec := post("/api/v1/signup", `{"email":"ana@example.com","password":"correct horse battery","name":"Ana"}`); rec.Code != http.StatusAccepted {
			t.Fatalf("signup = %d %s", rec.Code, rec.Body)
		}
		token := env.SignUpLink(t, "ana@example.com")
		rec := post("/api/v1/signup/confirm", `{"token":"`+token+`","password":"correct horse battery"}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("signup/confirm = %d %s", rec.Code, rec.Body)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("signup/confirm set %d cookies; want 1", len(cookies))
		}
		c := cookies[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure {
			t.Errorf("secure=%v: cookie HttpOnly=%v SameSite=%v Secure=%v; want true, Lax, %v", secure, c.HttpOnly, c.SameSite, c.Secure, secure)
		}
	}
}
